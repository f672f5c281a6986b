"""Saved prompts have an owner (issue #20): who saved the prompt (a signed browser id or a Hugging Face
login; NULL for prompts saved before this revision or from the command line, which only the admin may
change) and the bytes its images take, so storage per prompt and per owner can be bounded.

Revision ID: 0004_prompt_owner
Revises: 0003_deployment_secrets
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_prompt_owner"
down_revision = "0003_deployment_secrets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('saved_prompts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('stored_bytes', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_saved_prompts_owner'), ['owner'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('saved_prompts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_prompts_owner'))
        batch_op.drop_column('stored_bytes')
        batch_op.drop_column('owner')
