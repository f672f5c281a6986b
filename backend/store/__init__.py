"""The annotation store (issue 3): SQL tables, migrations and the services behind the Annotate tab.

Human judgments are collected the way paper 002's user study (two-alternative forced choice, scored with
Bradley–Terry) and paper 000's subjective study (5-point ratings shown with composite and reference,
MOS after subject screening) collected them, as a portal that many people use at once.

Modules (each small, each with its own docstring):
- ``models``      SQLModel tables; ``migrations/`` + ``migrate`` the Alembic schema history (upgrade at start-up)
- ``db``          engine from the settings (``HARMONYLAB_DATABASE_URL``; SQLite in ``HARMONYLAB_DATA_DIR`` by default)
- ``secrets``     keys the deployment generates for itself (the root key of annotator ids), shared by replicas
- ``prompts``     saved PromptIQA prompts
- ``media``       content-addressed images: the interface, the folder back end and the local path cache;
                  ``media_database`` images as rows; ``media_migrate`` moving them between stores
                  (``python -m backend media migrate|status``)
- ``manifest``    manifest / gold CSV and archive reading; ``campaigns`` creation and cached lookup
- ``tokens``      sealed (opaque) pair/item ids; ``samplers`` which pair next; ``quality`` gold, caps, response time
- ``annotators``  server-issued identities, pseudonyms and flags; ``limits`` rate limits and bounded tables
- ``answers``     validate-then-store-once shared by
- ``pairwise``    ``/next_pair`` and ``/vote``; ``rating`` ``/next_item`` and ``/rate``
- ``export``      raw CSV / Parquet, statistics, win matrices; ``hf_dataset`` a campaign as a Hugging Face dataset
                  folder (images embedded, annotators pseudonymised) and its upload to the hub
- ``admin``       the admin password; ``portal`` page helpers
- ``cli``         ``python -m backend campaign ...``

Nothing here imports gradio; ``ui/annotate.py`` is the page.

Replicas (issue #21). Any number of app processes on one server database (PostgreSQL) serve the same
campaigns: everything a campaign needs -- settings, items, answers, the keys of annotator ids and of
pair/item tokens, and, with the database media store (the default there), its images -- lives in the
database. What each process keeps for itself, and why that is safe:

- **Campaign cache** (``Database.campaign_cache``, ``campaigns.CACHE_SECONDS`` = 30 s): a new campaign is
  read on first use; items added or a campaign closed through another process take effect here within
  30 s. An answer naming items this copy lacks reloads it first, and exports and scores read the database.
- **Win counts** of the active sampler (``counts_cache``, ``samplers.COUNTS_SECONDS`` = 5 s): a sampling
  heuristic; stale counts choose a slightly less informative pair, never a wrong answer.
- **Annotator row ids** (``annotator_ids``, bounded LRU): key -> row id, and rows are never deleted or
  re-keyed; a row created by another process at the same time is found through the UNIQUE key.
- **Root key of annotator ids** (``identity_root``) and prompt-owner keys (``prompts._owner_keys``), derived
  token keys (``tokens._keys``): copies of values written once in the database (or of the operator's
  setting, which every replica must share); never changed while a process runs.
- **Rate-limit buckets** (``limits``): per process by design, so N replicas allow N times each limit
  (README, Security model).
- **Group-commit queue** (``writer``): answers waiting for their commit; none is acknowledged before it,
  so a killed process loses only answers it never acknowledged (clients resend them to any replica; the
  client id makes the resend idempotent).
- **Local image cache** (``media.LocalCache``, ``<data dir>/cache/images``): copies of immutable images
  for code that needs files; deleting it at any time costs a re-read.
- **Folder media store** (``HARMONYLAB_MEDIA=folder``): per machine; use it only with one machine (or a
  shared folder). The database media store has no such limit.
- **Settings**: read per process from the environment; give every replica the same.
"""
