"""Saved PromptIQA prompts (paper 004): one row per named prompt, images as media hashes, scores as JSON.

Revision ID: 0002_saved_prompts
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_saved_prompts"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('saved_prompts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('image_sha256s', sa.JSON(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_prompts')),
    sa.UniqueConstraint('name', name=op.f('uq_saved_prompts_name'))
    )


def downgrade() -> None:
    op.drop_table('saved_prompts')
