"""Crowd-worker sessions (issue #22): per-campaign session settings (answers per worker, completion code,
redirect URL) and answer corrections (skip a served pair/image, undo a stored answer) kept as rows of their
own -- an undone answer is never deleted (:mod:`backend.store.session`).

Revision ID: 0006_answer_sessions
Revises: 0005_media_blobs
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_answer_sessions"
down_revision = "0005_media_blobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign_sessions',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('target_answers', sa.Integer(), nullable=False),
    sa.Column('completion_code', sa.String(length=64), nullable=True),
    sa.Column('redirect_url', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_sessions_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_campaign_sessions'))
    )
    op.create_table('answer_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('annotator_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('comparison_id', sa.Integer(), nullable=True),
    sa.Column('rating_id', sa.Integer(), nullable=True),
    sa.Column('served_nonce', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('skip', 'undo')", name=op.f('ck_answer_corrections_kind')),
    sa.ForeignKeyConstraint(['annotator_id'], ['annotators.id'], name=op.f('fk_answer_corrections_annotator_id_annotators')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_answer_corrections_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['comparison_id'], ['comparisons.id'], name=op.f('fk_answer_corrections_comparison_id_comparisons')),
    sa.ForeignKeyConstraint(['rating_id'], ['ratings.id'], name=op.f('fk_answer_corrections_rating_id_ratings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_corrections')),
    sa.UniqueConstraint('comparison_id', name='uq_answer_corrections_comparison_id'),
    sa.UniqueConstraint('rating_id', name='uq_answer_corrections_rating_id'),
    sa.UniqueConstraint('served_nonce', name='uq_answer_corrections_served_nonce')
    )
    op.create_index('ix_answer_corrections_campaign_annotator', 'answer_corrections', ['campaign_id', 'annotator_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_answer_corrections_campaign_annotator', table_name='answer_corrections')
    op.drop_table('answer_corrections')
    op.drop_table('campaign_sessions')
