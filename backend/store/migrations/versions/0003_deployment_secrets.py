"""Keys a deployment generates for itself (the browser-id signing key), shared by its replicas.

Revision ID: 0003_deployment_secrets
Revises: 0002_saved_prompts
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_deployment_secrets"
down_revision = "0002_saved_prompts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deployment_secrets',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_deployment_secrets'))
    )


def downgrade() -> None:
    op.drop_table('deployment_secrets')
