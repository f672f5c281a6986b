"""The annotation store (issue 3): SQL tables, migrations and the services behind the Annotate tab.

Human judgments are collected the way paper 002's user study (two-alternative forced choice, scored with
Bradley–Terry) and paper 000's subjective study (5-point ratings shown with composite and reference,
MOS after subject screening) collected them, as a portal that many people use at once.

Modules (each small, each with its own docstring):
- ``models``      SQLModel tables; ``migrations/`` + ``migrate`` the Alembic schema history (upgrade at start-up)
- ``db``          engine from the settings (``HARMONYLAB_DATABASE_URL``; SQLite in ``HARMONYLAB_DATA_DIR`` by default)
- ``secrets``     keys the deployment generates for itself (the root key of annotator ids), shared by replicas
- ``prompts``     saved PromptIQA prompts
- ``media``       content-addressed image files
- ``manifest``    manifest / gold CSV and archive reading; ``campaigns`` creation and cached lookup
- ``tokens``      sealed (opaque) pair/item ids; ``samplers`` which pair next; ``quality`` gold, caps, response time
- ``annotators``  server-issued identities, pseudonyms and flags; ``limits`` rate limits and bounded tables
- ``answers``     validate-then-store-once shared by
- ``pairwise``    ``/next_pair`` and ``/vote``; ``rating`` ``/next_item`` and ``/rate``
- ``export``      raw CSV / Parquet, statistics, win matrices; ``admin`` the admin password; ``portal`` page helpers
- ``cli``         ``python -m backend campaign ...``

Nothing here imports gradio; ``ui/annotate.py`` is the page.
"""
