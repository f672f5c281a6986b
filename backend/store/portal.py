"""What the Annotate page needs beyond the API endpoints: the visitor's id and opening a campaign."""

from __future__ import annotations

from dataclasses import dataclass

from backend.store import pairwise, rating
from backend.store.annotators import issue_annotator_id, verified_key
from backend.store.campaigns import CampaignInfo, get_campaign
from backend.store.db import Database, default_database


def browser_annotator_id(stored: object, db: Database | None = None) -> str:
    """The annotator id kept in the browser when the server issued it, else a new one (rate-limited).

    An id kept by an older release (unsigned ``anon-...``) is not trusted — the browser could have written
    anything there — so that visitor gets a new id; their earlier answers stay under the old key.
    """
    db = db or default_database()
    if verified_key(db, stored) is not None:
        return stored.strip()
    return issue_annotator_id(db)


@dataclass(frozen=True)
class OpenedCampaign:
    campaign: CampaignInfo
    pair: pairwise.ServedPair | None
    item: rating.ServedItem | None


def open_campaign(name: str, annotator_id: str, *, hf_user: str | None = None, db: Database | None = None) -> OpenedCampaign:
    """The campaign's settings and the first pair (pairwise) or image (rating) for this annotator."""
    info = get_campaign(name, db)
    if info.kind == "pairwise":
        return OpenedCampaign(info, pairwise.next_pair(name, annotator_id, hf_user=hf_user, db=db), None)
    return OpenedCampaign(info, None, rating.next_item(name, annotator_id, hf_user=hf_user, db=db))
