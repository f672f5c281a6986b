"""Image-score-pair prompts (ISPP, paper 004 Sec. 3.2 A): making and sampling them.

A prompt (:class:`backend.protocols.Prompt`, shared with the store) is n >= 2 pairs (image, score) in any
numeric range and direction (MOS-like or DMOS-like).

Normalisation (documented contract, ``Prompt.normalised`` / ``Prompt.to_scale``): the network reads and
writes scores in [0, 1] (public code: labels normalised to [0, 1], sigmoid output). A prompt's scores are
mapped affinely onto [0, 1] by its own minimum and maximum, ``s' = (s - min) / (max - min)``, and a
predicted ``y`` in [0, 1] is mapped back, ``score = min + y (max - min)``. So predictions are in the
prompt's own scale and direction -- a prompt in which higher means worse gives scores in which higher
means worse -- and lie within the prompt's range.

Sampling n ISPs from a scored collection (Table 4): ``interval`` sorts by score and takes n items at
evenly spaced ranks (lowest and highest included); ``random`` takes n items uniformly without
replacement. The prompt cache key is the SHA-256 of the images' content hashes and the scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.errors import InputError
from backend.images import load_image
from backend.protocols import MIN_PROMPT_PAIRS, Prompt, check_scores

SAMPLING = ("interval", "random")


def make_prompt(images: Sequence, scores: Sequence, names: Sequence[str] | None = None) -> Prompt:
    """A validated prompt from image sources (anything ``load_image`` accepts) and their scores."""
    images = list(images)
    values = check_scores(scores, len(images))
    names = list(names) if names is not None else [f"pair {k + 1}" for k in range(len(images))]
    arrays = tuple(load_image(image, name=f"prompt image '{name}'") for image, name in zip(images, names, strict=False))
    return Prompt(arrays, values, tuple(names))


def sample_indices(scores: Sequence[float], n: int, strategy: str = "interval",
                   rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices of n ISPs chosen from scored items by ``interval`` or ``random`` sampling (Table 4)."""
    values = np.asarray(scores, dtype=np.float64)
    if strategy not in SAMPLING:
        raise InputError(f"Unknown ISP sampling '{strategy}'; use one of {', '.join(SAMPLING)}.")
    if n < MIN_PROMPT_PAIRS:
        raise InputError(f"A prompt needs at least {MIN_PROMPT_PAIRS} pairs; ask for n >= {MIN_PROMPT_PAIRS}.")
    if len(values) < n:
        raise InputError(f"Cannot sample {n} ISPs from {len(values)} scored images; ask for at most {len(values)}.")
    if strategy == "random":
        rng = rng or np.random.default_rng(0)
        return np.sort(rng.choice(len(values), size=n, replace=False))
    order = np.argsort(values, kind="stable")
    return order[np.round(np.linspace(0, len(values) - 1, n)).astype(int)]
