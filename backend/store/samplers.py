"""Which pair to serve next: a small sampler interface chosen per campaign (``Campaign.sampler``).

A sampler is a function ``(campaign, rng, win_counts) -> (left item id, right item id)``:
- ``campaign`` is the cached :class:`backend.store.campaigns.CampaignInfo` (items, groups);
- ``win_counts()`` returns, on demand, the n x n wins matrix over ``campaign.ordinary_ids`` (ties count a
  half to each side; flagged annotators and gold pairs excluded), so samplers that do not need it cost
  no query.

Samplers:
- ``uniform`` (default): a group uniformly at random, then two distinct items of it uniformly, in random
  left/right order — the design of paper 002's user study (random pairs of one composite's results).
- ``eig`` / ``eig-approx``: a group uniformly at random (groups are separate scales: the results of one
  composite), then :func:`backend.scaling.active.select_pair` (expected information gain under the
  Thurstone posterior) on that group's wins — a k x k problem for k methods, so a request costs
  microseconds whatever the campaign's size. The campaign's counts are cached for ``COUNTS_SECONDS`` so
  that they are not recounted for every annotator request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from backend.errors import InputError
from backend.scaling.active import select_pair

if TYPE_CHECKING:
    from backend.store.campaigns import CampaignInfo

Sampler = Callable[["CampaignInfo", np.random.Generator, Callable[[], np.ndarray]], tuple[int, int]]
SAMPLERS = ("uniform", "eig", "eig-approx")
COUNTS_SECONDS = 5.0


def uniform_pair(campaign: CampaignInfo, rng: np.random.Generator, win_counts) -> tuple[int, int]:
    groups = [ids for ids in campaign.groups.values() if len(ids) >= 2]
    ids = groups[int(rng.integers(len(groups)))]
    first, second = rng.choice(len(ids), size=2, replace=False)
    return ids[int(first)], ids[int(second)]


def active_sampler(method: str) -> Sampler:
    def active_pair(campaign: CampaignInfo, rng: np.random.Generator, win_counts) -> tuple[int, int]:
        groups = [ids for ids in campaign.groups.values() if len(ids) >= 2]
        group = groups[int(rng.integers(len(groups)))]
        position = {item: k for k, item in enumerate(campaign.ordinary_ids)}
        index = np.array([position[item] for item in group])
        left, right = select_pair(win_counts()[np.ix_(index, index)], rng, method=method)
        return group[int(left)], group[int(right)]

    return active_pair


def check_sampler(name: str) -> None:
    if name not in SAMPLERS:
        raise InputError(f"Sampler '{name}' is unknown; samplers are {', '.join(SAMPLERS)}.")


def sampler(name: str) -> Sampler:
    check_sampler(name)
    return uniform_pair if name == "uniform" else active_sampler(name)


def cached_counts(cache: dict, campaign_id: int, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """The win matrix of a campaign from ``cache``, recomputed at most every ``COUNTS_SECONDS``."""
    now = time.monotonic()
    entry = cache.get(campaign_id)
    if entry is None or entry[0] < now:
        entry = cache[campaign_id] = (now + COUNTS_SECONDS, compute())
    return entry[1]
