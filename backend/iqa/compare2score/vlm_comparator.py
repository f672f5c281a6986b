"""VLM comparator (paper 001 Sec. 3.3-3.4): a multi-image LMM answers the comparison question; Eq. 3 reads
the logits of the five level tokens at the answer position.

Prompt (paper Sec. 3.2): "Compared with the first image <img1>, how is the quality of the second image
<img2>?", answer prefix "The quality of the second image is", then the level token. Works with any
transformers image-text-to-text model through ``backend.iqa.vlm`` (zero-shot, as the LMMs of Table 3)
and with the authors' checkpoint ``q-future/Compare2Score`` (mPLUG-Owl2, remote code, opt-in). For the
authors' checkpoint the question is the one its inference code asks ("Compared with the first image,
what is your quality rating for second image?", both images first), since that is what it was run with.

``temperature`` divides the logits before the softmax: 1 follows the paper; the public code uses 100,
which flattens the level probabilities towards uniform (b close to 0.5) -- harmless for its min-max score,
but it changes the MAP scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend import settings
from backend.iqa.compare2score.comparators import Comparator, check_pair_lists
from backend.iqa.compare2score.levels import ANSWER_PREFIX, LEVELS, softmax
from backend.iqa.vlm import IMAGE, answer_token_ids, load_vlm

PAPER_SEGMENTS = ("Compared with the first image", IMAGE, ", how is the quality of the second image", IMAGE, "?")
AUTHORS_SEGMENTS = (IMAGE, IMAGE, "Compared with the first image, what is your quality rating for second image?")
Q_FUTURE_REPO = "q-future/Compare2Score"
# No commit of the hub repository could be verified from this machine (no hub access), so the branch is
# named; set HARMONYLAB_C2S_REVISION to pin a commit once verified.
Q_FUTURE_REVISION = "main"
Q_FUTURE_SIZE = "about 16 GB (mPLUG-Owl2, LLaMA-2-7B, fp16)"


class VLMComparator(Comparator):
    def __init__(self, model_id: str, revision: str | None = None, trust_remote_code: bool = False,
                 convention: str = "chat-template", temperature: float = 1.0, batch_size: int = 4,
                 segments: Sequence = PAPER_SEGMENTS, device: str | None = None, size: str = "unknown size"):
        self.vlm = load_vlm(model_id, revision, trust_remote_code, convention, device=device, size=size)
        self.segments = tuple(segments)
        self.temperature = float(temperature)
        self.batch_size = int(batch_size)
        self.token_ids = answer_token_ids(self.vlm.tokenizer, ANSWER_PREFIX, LEVELS)
        self.name = f"vlm:{model_id}"
        self._key = f"{self.name}@{revision}:{convention}:{self.temperature:g}"

    @property
    def key(self) -> str:
        return self._key

    def level_logits(self, firsts: Sequence[np.ndarray], seconds: Sequence[np.ndarray]) -> np.ndarray:
        groups = [[first, second] for first, second in zip(firsts, seconds)]
        chunks = [self.vlm.answer_logits(groups[s:s + self.batch_size], self.segments, ANSWER_PREFIX, self.token_ids)
                  for s in range(0, len(groups), self.batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, 5))

    def compare_batch(self, firsts: Sequence[np.ndarray], seconds: Sequence[np.ndarray]) -> np.ndarray:
        check_pair_lists(firsts, seconds)
        return softmax(self.level_logits(firsts, seconds), self.temperature)


def q_future_comparator(trust_remote_code: bool = False, revision: str | None = None, **options) -> VLMComparator:
    """The authors' fine-tuned comparator (needs the remote code opt-in and the weights)."""
    revision = revision or settings.current().c2s_revision or Q_FUTURE_REVISION
    return VLMComparator(Q_FUTURE_REPO, revision, trust_remote_code, convention="mplug-owl2",
                         segments=AUTHORS_SEGMENTS, size=Q_FUTURE_SIZE, **options)
