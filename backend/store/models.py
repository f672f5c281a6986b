"""SQLModel tables of the annotation portal (issue 3): campaigns, items, annotators, answers, gold answers.

The schema follows the two studies the portal reproduces: paper 002's user study (two-alternative forced
choice between harmonized results of one composite, scored with Bradley–Terry) is a ``pairwise``
campaign whose answers are :class:`Comparison` rows; paper 000's subjective study (a 5-point rating of a
harmonized image shown with its composite and reference, Fig. 2b) is a ``rating`` campaign whose answers
are :class:`Rating` rows.

Conventions
- Images are content-addressed: ``*_sha256`` columns name PNG images in the media store (files under the
  data directory, or :class:`MediaBlob` rows; see :mod:`backend.store.media`).
- Every answer carries a client-generated id (``client_id``, UNIQUE): sending an answer twice stores it
  once. It also carries the nonce of the served pair/item token (``served_nonce``, UNIQUE): a served pair
  is answered at most once (see :mod:`backend.store.tokens`).
- ``response_ms`` is measured by the server, from serving the pair/item to receiving the answer.
- Times are UTC. No IP address or other network data is stored anywhere.

The schema is created and changed only by the Alembic migrations in ``backend/store/migrations``; the
migration test checks that upgrading an empty database gives exactly these tables.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

# Deterministic constraint names, so that migrations can refer to (and later alter) every constraint.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

KINDS = ("pairwise", "rating")
CHOICES = ("left", "right", "tie")
SCORES = (1, 2, 3, 4, 5)
ANNOTATOR_KINDS = ("anonymous", "huggingface")


def utc_now() -> datetime:
    return datetime.now(UTC)


def _timestamp() -> Column:
    return Column(DateTime(timezone=True), nullable=False, default=utc_now)


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("kind IN ('pairwise', 'rating')", name="kind"),
        CheckConstraint("gold_rate >= 0 AND gold_rate <= 1", name="gold_rate"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=16)
    instructions: str = ""
    question: str = ""
    allow_tie: bool = False
    gold_rate: float = 0.0
    gold_min_accuracy: float = 0.0  # annotators below this gold accuracy are flagged (0 = never)
    daily_cap: int = 0  # answers per annotator per 24 hours (0 = no cap)
    min_response_ms: int = 0  # faster answers are refused
    sampler: str = Field(default="uniform", max_length=32)
    token_secret: str = Field(max_length=64)  # HMAC key of the served pair/item tokens
    is_open: bool = True
    created_at: datetime = Field(sa_column=_timestamp())


class Item(SQLModel, table=True):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("campaign_id", "group_name", "method", name="uq_items_campaign_group_method"),
        Index("ix_items_campaign_group", "campaign_id", "group_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id")
    sha256: str = Field(max_length=64)
    group_name: str = Field(max_length=200)
    method: str = Field(max_length=200)
    source_path: str = ""  # the path given in the manifest (for exports)
    composite_sha256: str | None = Field(default=None, max_length=64)
    reference_sha256: str | None = Field(default=None, max_length=64)
    is_gold: bool = False  # gold-only items are never sampled as ordinary pairs/items


class Annotator(SQLModel, table=True):
    __tablename__ = "annotators"
    __table_args__ = (CheckConstraint("kind IN ('anonymous', 'huggingface')", name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128, unique=True)  # an issued id's key ("anon-<hex>"), or "hf:<user name>"
    kind: str = Field(max_length=16)
    flagged: bool = False
    flag_reason: str | None = None
    created_at: datetime = Field(sa_column=_timestamp())


class GoldAnswer(SQLModel, table=True):
    """A known answer: ``item_id`` beats ``other_item_id`` (pairwise), or ``item_id`` rates in a range."""

    __tablename__ = "gold_answers"
    __table_args__ = (
        CheckConstraint("(other_item_id IS NOT NULL) OR (min_score IS NOT NULL AND max_score IS NOT NULL)",
                        name="kind"),
        Index("ix_gold_answers_campaign", "campaign_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id")
    item_id: int = Field(foreign_key="items.id")
    other_item_id: int | None = Field(default=None, foreign_key="items.id")
    min_score: int | None = None
    max_score: int | None = None


class Comparison(SQLModel, table=True):
    __tablename__ = "comparisons"
    __table_args__ = (
        CheckConstraint("choice IN ('left', 'right', 'tie')", name="choice"),
        CheckConstraint("item_a_id < item_b_id", name="item_order"),
        Index("ix_comparisons_campaign_annotator_time", "campaign_id", "annotator_id", "created_at"),
        Index("ix_comparisons_campaign_items", "campaign_id", "item_a_id", "item_b_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id")
    annotator_id: int = Field(foreign_key="annotators.id")
    item_a_id: int = Field(foreign_key="items.id")  # the two items, lower id first
    item_b_id: int = Field(foreign_key="items.id")
    left_item_id: int = Field(foreign_key="items.id")  # which of the two was shown on the left
    choice: str = Field(max_length=8)
    winner_item_id: int | None = Field(default=None, foreign_key="items.id")  # None for a tie
    gold_id: int | None = Field(default=None, foreign_key="gold_answers.id")
    response_ms: int
    served_nonce: str = Field(max_length=32, unique=True)
    client_id: str = Field(max_length=128, unique=True)
    created_at: datetime = Field(sa_column=_timestamp())


class Rating(SQLModel, table=True):
    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint("score >= 1 AND score <= 5", name="score"),
        Index("ix_ratings_campaign_annotator_time", "campaign_id", "annotator_id", "created_at"),
        Index("ix_ratings_campaign_item", "campaign_id", "item_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id")
    annotator_id: int = Field(foreign_key="annotators.id")
    item_id: int = Field(foreign_key="items.id")
    score: int
    gold_id: int | None = Field(default=None, foreign_key="gold_answers.id")
    response_ms: int
    served_nonce: str = Field(max_length=32, unique=True)
    client_id: str = Field(max_length=128, unique=True)
    created_at: datetime = Field(sa_column=_timestamp())


metadata = SQLModel.metadata


import sqlalchemy  # noqa: E402  (the JSON column type of the saved-prompt table below)


class SavedPrompt(SQLModel, table=True):
    """A named PromptIQA prompt (paper 004): images (content-addressed) with one score each, in order."""

    __tablename__ = "saved_prompts"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    image_sha256s: list = Field(sa_column=Column(sqlalchemy.JSON, nullable=False))  # media hashes, one per pair
    scores: list = Field(sa_column=Column(sqlalchemy.JSON, nullable=False))  # floats in the user's own scale
    labels: list = Field(sa_column=Column(sqlalchemy.JSON, nullable=False))  # display names of the images
    created_at: datetime = Field(sa_column=_timestamp())
    # Who saved it ("browser:<id>" or "hf:<login>"); NULL: saved from the command line or before owners
    # existed (migration 0004_prompt_owner), so only the admin may replace or delete it.
    owner: str | None = Field(default=None, max_length=160, index=True)
    stored_bytes: int = Field(default=0, sa_column=Column(sqlalchemy.BigInteger, nullable=False,
                                                          server_default="0"))  # PNG bytes of its images


class DeploymentSecret(SQLModel, table=True):
    """A key this deployment generated for itself (e.g. the one that signs anonymous browser ids), kept in the
    database so every replica of one database uses the same key and it survives restarts."""

    __tablename__ = "deployment_secrets"

    name: str = Field(max_length=64, primary_key=True)
    value: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=_timestamp())


class MediaBlob(SQLModel, table=True):
    """An image of the database media store (:mod:`backend.store.media_database`): the PNG bytes whose SHA-256
    is ``sha256``, written once and never changed (migration ``0005_media_blobs``)."""

    __tablename__ = "media_blobs"

    sha256: str = Field(max_length=64, primary_key=True)
    data: bytes = Field(sa_column=Column(sqlalchemy.LargeBinary, nullable=False))
    size: int = Field(sa_column=Column(sqlalchemy.BigInteger, nullable=False))  # len(data), read without the bytes
    created_at: datetime = Field(sa_column=_timestamp())
