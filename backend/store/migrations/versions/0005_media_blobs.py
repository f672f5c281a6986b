"""Images in the database (issue #21): the database media store keeps each image's PNG bytes in a row named by
their SHA-256, so a deployment whose database is a server keeps its images where its votes are.

On PostgreSQL the bytes are stored out of line without compression (``STORAGE EXTERNAL``): PNG data does
not compress further, so trying costs CPU on every write for nothing.

Revision ID: 0005_media_blobs
Revises: 0004_prompt_owner
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_media_blobs"
down_revision = "0004_prompt_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('media_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_media_blobs'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE media_blobs ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table('media_blobs')
