"""Registry cards of Compare2Score (paper 001): comparators (task ``comparator``) and scorers (``iqa-nr``).

Comparators: ``c2s-siamese`` (offline, shipped weights), ``nr-thurstone`` (any NR model; option
``scorer``), ``vlm`` (any transformers image-text-to-text model; options ``model_id``, ``revision``) and
``q-future-compare2score`` (the authors' checkpoint; remote code, opt-in). Scorers: ``compare2score``
(the siamese comparator with the default anchors; offered by the Score tab) and
``compare2score-q-future`` (the authors' comparator with the default anchors). Factories import their
heavy modules lazily, so loading the registry stays cheap.
"""

from __future__ import annotations

from backend.iqa.base import ScoreResult
from backend.registry import HubWeights, ModelCard, Status, hub_status, register

PAPER = "001 Compare2Score (Zhu et al., NeurIPS 2024)"
SIAMESE_WEIGHTS = "compare2score/siamese/model.safetensors"
DEFAULT_ANCHORS_CSV = "anchors/default/anchors.csv"
Q_FUTURE = HubWeights("q-future/Compare2Score", "main", "about 16 GB (mPLUG-Owl2, fp16)", ("config.json",),
                      "HARMONYLAB_C2S_LOCAL")
SCORE_RANGE = (1.0, 5.0)
RANGE_TEXT = "~1, ~5 (the anchors' MOS scale; not clipped)"


class Compare2ScoreModel:
    """Compare2Score behind the registry's ``score`` protocol (details hold every step)."""

    def __init__(self, card: ModelCard, comparator: str, anchors: str | None = None, matrix: str = "probability",
                 normalisation: str = "mos", **comparator_options):
        self.card = card
        self.comparator = comparator
        self.options = {"anchors": anchors, "matrix": matrix, "normalisation": normalisation,
                        "comparator_options": comparator_options}

    def score_batch(self, images, references=None) -> list[ScoreResult]:
        from backend.iqa.compare2score.service import score_arrays

        return score_arrays(list(images), self.comparator, **self.options)

    def score(self, image, reference=None, mask=None) -> ScoreResult:
        return self.score_batch([image])[0]


def _siamese(weights_dir=None, device=None):
    from backend.iqa.compare2score.siamese import SiameseComparator

    return SiameseComparator(weights_dir, device)


def _thurstone(scorer: str = "piqe", fits_file=None):
    from backend.iqa.compare2score.thurstone_nr import ThurstoneComparator

    return ThurstoneComparator(scorer, fits_file=fits_file)


def _vlm(model_id: str | None = None, revision: str | None = None, trust_remote_code: bool = False, **options):
    from backend.errors import InputError
    from backend.iqa.compare2score.vlm_comparator import VLMComparator

    if not model_id:
        raise InputError("The vlm comparator needs a model: name it vlm:<hub id or folder>[@revision].")
    return VLMComparator(model_id, revision, trust_remote_code, **options)


def _q_future(trust_remote_code: bool = False, revision: str | None = None, **options):
    import os

    from backend.iqa.compare2score.vlm_comparator import q_future_comparator

    local = os.environ.get(Q_FUTURE.local_env or "")
    if local:
        from backend.iqa.compare2score.vlm_comparator import AUTHORS_SEGMENTS, VLMComparator

        return VLMComparator(local, None, trust_remote_code, convention="mplug-owl2", segments=AUTHORS_SEGMENTS, **options)
    return q_future_comparator(trust_remote_code=trust_remote_code, revision=revision, **options)


def _q_future_status(card: ModelCard) -> Status:
    status = hub_status(Q_FUTURE)
    return Status(status.state, "; ".join(filter(None, [status.detail, "runs remote code: opt in with trust_remote_code"])))


def _vlm_status(card: ModelCard) -> Status:
    return Status("needs download", "any transformers image-text-to-text model: vlm:<hub id>[@revision]")


def _register() -> None:
    comparators = (
        (ModelCard("c2s-siamese", "comparator", "Siamese CNN trained here on distorted real photos (offline).",
                   paper=PAPER, shipped_weights=(SIAMESE_WEIGHTS,)), _siamese, None),
        (ModelCard("nr-thurstone", "comparator",
                   "Any no-reference model as a comparator via Thurstone's model (nr-thurstone:MODEL).",
                   paper=PAPER, extra={"options": ("scorer", "fits_file")}), _thurstone, None),
        (ModelCard("vlm", "comparator", "Any transformers image-text-to-text model, zero-shot (vlm:HUB_ID[@REV]).",
                   paper=PAPER, extra={"options": ("model_id", "revision", "trust_remote_code", "temperature")}),
         _vlm, _vlm_status),
        (ModelCard("q-future-compare2score", "comparator", "The authors' mPLUG-Owl2 comparator (remote code, opt-in).",
                   paper=PAPER, hub_weights=Q_FUTURE, extra={"options": ("trust_remote_code", "revision", "temperature")}),
         _q_future, _q_future_status),
    )
    for card, factory, check in comparators:
        register(card, factory, check)

    scorers = (
        ("compare2score", "c2s-siamese", "Compare2Score: siamese comparator vs 5 default anchors, MAP score (MOS 1-5).",
         (SIAMESE_WEIGHTS, DEFAULT_ANCHORS_CSV), None, None),
        ("compare2score-q-future", "q-future-compare2score",
         "Compare2Score with the authors' comparator (remote code) vs the default anchors.",
         (DEFAULT_ANCHORS_CSV,), Q_FUTURE, _q_future_status),
    )
    for name, comparator, summary, shipped, hub, check in scorers:
        card = ModelCard(name, "iqa-nr", summary, lower_better=False, score_range=SCORE_RANGE, paper=PAPER,
                         shipped_weights=shipped, hub_weights=hub,
                         extra={"range_text": RANGE_TEXT, "comparator": comparator})

        def factory(anchors=None, matrix="probability", normalisation="mos", _card=card, _comparator=comparator, **options):
            return Compare2ScoreModel(_card, _comparator, anchors, matrix, normalisation, **options)

        register(card, factory, check)


_register()
