"""What the Annotate page needs beyond the API endpoints: the visitor's id and opening a campaign."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from backend.store import pairwise, rating
from backend.store.annotators import ANONYMOUS_ID, HF_PREFIX
from backend.store.campaigns import CampaignInfo, get_campaign
from backend.store.db import Database


def browser_annotator_id(stored: object) -> str:
    """The anonymous id kept in the browser, or a new random one when there is none (or it is unusable)."""
    if isinstance(stored, str) and ANONYMOUS_ID.match(stored) and not stored.lower().startswith(HF_PREFIX):
        return stored
    return f"anon-{uuid.uuid4().hex}"


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
