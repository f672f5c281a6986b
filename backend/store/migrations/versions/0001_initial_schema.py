"""Initial schema of the annotation store: campaigns, items, annotators, gold answers, comparisons, ratings.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('annotators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('flag_reason', sa.String(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('anonymous', 'huggingface')", name=op.f('ck_annotators_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotators')),
    sa.UniqueConstraint('key', name=op.f('uq_annotators_key'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('instructions', sa.String(), nullable=False),
    sa.Column('question', sa.String(), nullable=False),
    sa.Column('allow_tie', sa.Boolean(), nullable=False),
    sa.Column('gold_rate', sa.Float(), nullable=False),
    sa.Column('gold_min_accuracy', sa.Float(), nullable=False),
    sa.Column('daily_cap', sa.Integer(), nullable=False),
    sa.Column('min_response_ms', sa.Integer(), nullable=False),
    sa.Column('sampler', sa.String(length=32), nullable=False),
    sa.Column('token_secret', sa.String(length=64), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('pairwise', 'rating')", name=op.f('ck_campaigns_kind')),
    sa.CheckConstraint('gold_rate >= 0 AND gold_rate <= 1', name=op.f('ck_campaigns_gold_rate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('name', name=op.f('uq_campaigns_name'))
    )
    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('group_name', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=200), nullable=False),
    sa.Column('source_path', sa.String(), nullable=False),
    sa.Column('composite_sha256', sa.String(length=64), nullable=True),
    sa.Column('reference_sha256', sa.String(length=64), nullable=True),
    sa.Column('is_gold', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_items_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('campaign_id', 'group_name', 'method', name='uq_items_campaign_group_method')
    )
    op.create_index('ix_items_campaign_group', 'items', ['campaign_id', 'group_name'], unique=False)

    op.create_table('gold_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('other_item_id', sa.Integer(), nullable=True),
    sa.Column('min_score', sa.Integer(), nullable=True),
    sa.Column('max_score', sa.Integer(), nullable=True),
    sa.CheckConstraint('(other_item_id IS NOT NULL) OR (min_score IS NOT NULL AND max_score IS NOT NULL)', name=op.f('ck_gold_answers_kind')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_gold_answers_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_gold_answers_item_id_items')),
    sa.ForeignKeyConstraint(['other_item_id'], ['items.id'], name=op.f('fk_gold_answers_other_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gold_answers'))
    )
    op.create_index('ix_gold_answers_campaign', 'gold_answers', ['campaign_id'], unique=False)

    op.create_table('comparisons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('annotator_id', sa.Integer(), nullable=False),
    sa.Column('item_a_id', sa.Integer(), nullable=False),
    sa.Column('item_b_id', sa.Integer(), nullable=False),
    sa.Column('left_item_id', sa.Integer(), nullable=False),
    sa.Column('choice', sa.String(length=8), nullable=False),
    sa.Column('winner_item_id', sa.Integer(), nullable=True),
    sa.Column('gold_id', sa.Integer(), nullable=True),
    sa.Column('response_ms', sa.Integer(), nullable=False),
    sa.Column('served_nonce', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("choice IN ('left', 'right', 'tie')", name=op.f('ck_comparisons_choice')),
    sa.CheckConstraint('item_a_id < item_b_id', name=op.f('ck_comparisons_item_order')),
    sa.ForeignKeyConstraint(['annotator_id'], ['annotators.id'], name=op.f('fk_comparisons_annotator_id_annotators')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_comparisons_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['gold_id'], ['gold_answers.id'], name=op.f('fk_comparisons_gold_id_gold_answers')),
    sa.ForeignKeyConstraint(['item_a_id'], ['items.id'], name=op.f('fk_comparisons_item_a_id_items')),
    sa.ForeignKeyConstraint(['item_b_id'], ['items.id'], name=op.f('fk_comparisons_item_b_id_items')),
    sa.ForeignKeyConstraint(['left_item_id'], ['items.id'], name=op.f('fk_comparisons_left_item_id_items')),
    sa.ForeignKeyConstraint(['winner_item_id'], ['items.id'], name=op.f('fk_comparisons_winner_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comparisons')),
    sa.UniqueConstraint('client_id', name=op.f('uq_comparisons_client_id')),
    sa.UniqueConstraint('served_nonce', name=op.f('uq_comparisons_served_nonce'))
    )
    op.create_index('ix_comparisons_campaign_annotator_time', 'comparisons', ['campaign_id', 'annotator_id', 'created_at'], unique=False)
    op.create_index('ix_comparisons_campaign_items', 'comparisons', ['campaign_id', 'item_a_id', 'item_b_id'], unique=False)

    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('annotator_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('gold_id', sa.Integer(), nullable=True),
    sa.Column('response_ms', sa.Integer(), nullable=False),
    sa.Column('served_nonce', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score >= 1 AND score <= 5', name=op.f('ck_ratings_score')),
    sa.ForeignKeyConstraint(['annotator_id'], ['annotators.id'], name=op.f('fk_ratings_annotator_id_annotators')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ratings_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['gold_id'], ['gold_answers.id'], name=op.f('fk_ratings_gold_id_gold_answers')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_ratings_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('client_id', name=op.f('uq_ratings_client_id')),
    sa.UniqueConstraint('served_nonce', name=op.f('uq_ratings_served_nonce'))
    )
    op.create_index('ix_ratings_campaign_annotator_time', 'ratings', ['campaign_id', 'annotator_id', 'created_at'], unique=False)
    op.create_index('ix_ratings_campaign_item', 'ratings', ['campaign_id', 'item_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_ratings_campaign_item', table_name='ratings')
    op.drop_index('ix_ratings_campaign_annotator_time', table_name='ratings')

    op.drop_table('ratings')
    op.drop_index('ix_comparisons_campaign_items', table_name='comparisons')
    op.drop_index('ix_comparisons_campaign_annotator_time', table_name='comparisons')

    op.drop_table('comparisons')
    op.drop_index('ix_gold_answers_campaign', table_name='gold_answers')

    op.drop_table('gold_answers')
    op.drop_index('ix_items_campaign_group', table_name='items')

    op.drop_table('items')
    op.drop_table('campaigns')
    op.drop_table('annotators')
