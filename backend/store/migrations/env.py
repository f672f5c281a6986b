"""Alembic environment of the annotation store: runs on the connection :mod:`backend.store.migrate` passes."""

from alembic import context

from backend.store.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run the store migrations through backend.store.migrate (it passes the connection).")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
