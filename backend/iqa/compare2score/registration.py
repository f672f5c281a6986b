"""Registry cards of Compare2Score (paper 001): comparators (task ``comparator``) and scorers (``iqa-nr``).

Comparators: ``c2s-siamese`` (offline, shipped weights), ``nr-thurstone:MODEL`` (any no-reference model
through Thurstone's model), ``vlm:HUB_ID_OR_FOLDER[@REVISION]`` (any transformers image-text-to-text model)
and ``q-future-compare2score`` (the authors' checkpoint; remote code, opt-in). Scorers: ``compare2score``
(default comparator: the siamese one) and ``compare2score-q-future`` (the authors' comparator), both
against the default anchors; ``compare2score:COMPARATOR`` takes any comparator name, e.g.
``compare2score:nr-thurstone:piqe``. A scorer builds its comparator and anchor set once and keeps them
(:class:`backend.iqa.compare2score.model.Compare2ScoreModel`).
"""

from __future__ import annotations

from backend import settings
from backend.registry import ModelCard, register
from backend.weights import HubWeights, Status, hub_status

PAPER = "001 Compare2Score (Zhu et al., NeurIPS 2024)"
SIAMESE_WEIGHTS = "compare2score/siamese/model.safetensors"
DEFAULT_ANCHORS_CSV = "anchors/default/anchors.csv"
Q_FUTURE = HubWeights("q-future/Compare2Score", "main", "about 16 GB (mPLUG-Owl2, fp16)", ("config.json",),
                      "HARMONYLAB_C2S_LOCAL")
SCORE_RANGE = (1.0, 5.0)
RANGE_TEXT = "~1, ~5 (the anchors' MOS scale; not clipped)"

SIAMESE = ModelCard("c2s-siamese", "comparator", "Siamese CNN trained here on distorted real photos (offline).",
                    paper=PAPER, shipped_weights=(SIAMESE_WEIGHTS,))
NR_THURSTONE = ModelCard("nr-thurstone", "comparator",
                         "Any no-reference model as a comparator via Thurstone's model (nr-thurstone:MODEL).",
                         paper=PAPER, argument="scorer", argument_hint="<no-reference model>")
VLM = ModelCard("vlm", "comparator", "Any transformers image-text-to-text model, zero-shot (vlm:HUB_ID[@REV]).",
                paper=PAPER, argument="model_id", argument_hint="<hub id or folder>[@revision]",
                argument_kind="hub")
Q_FUTURE_CARD = ModelCard("q-future-compare2score", "comparator",
                          "The authors' mPLUG-Owl2 comparator (remote code, opt-in).", paper=PAPER, hub_weights=Q_FUTURE)
SCORER = ModelCard("compare2score", "iqa-nr",
                   "Compare2Score: siamese comparator vs 5 default anchors, MAP score (MOS 1-5).",
                   score_range=SCORE_RANGE, range_text=RANGE_TEXT, paper=PAPER,
                   shipped_weights=(SIAMESE_WEIGHTS, DEFAULT_ANCHORS_CSV), argument="comparator",
                   argument_hint="<comparator>")
SCORER_Q_FUTURE = ModelCard("compare2score-q-future", "iqa-nr",
                            "Compare2Score with the authors' comparator (remote code) vs the default anchors.",
                            score_range=SCORE_RANGE, range_text=RANGE_TEXT, paper=PAPER,
                            shipped_weights=(DEFAULT_ANCHORS_CSV,), hub_weights=Q_FUTURE)


def q_future_status(card: ModelCard) -> Status:
    status = hub_status(Q_FUTURE)
    return Status(status.state, "; ".join(filter(None, [status.detail, "runs remote code: opt in with trust_remote_code"])))


def vlm_status(card: ModelCard) -> Status:
    return Status("needs download", "any transformers image-text-to-text model: vlm:<hub id>[@revision]")


@register(SIAMESE)
def build_siamese(weights_dir: str | None = None, device: str | None = None):
    from backend.iqa.compare2score.siamese import SiameseComparator

    return SiameseComparator(weights_dir, device)


@register(NR_THURSTONE)
def build_nr_thurstone(scorer: str = "piqe", fits_file: str | None = None):
    from backend.iqa.compare2score.thurstone_nr import ThurstoneComparator

    return ThurstoneComparator(scorer, fits_file=fits_file)


@register(VLM, status=vlm_status)
def build_vlm(model_id: str | None = None, revision: str | None = None, trust_remote_code: bool = False,
              temperature: float = 1.0, batch_size: int = 4, device: str | None = None):
    from backend.errors import InputError
    from backend.iqa.compare2score.vlm_comparator import VLMComparator

    if not model_id:
        raise InputError("The vlm comparator needs a model: name it vlm:<hub id or folder>[@revision].")
    return VLMComparator(model_id, revision, trust_remote_code, temperature=temperature, batch_size=batch_size,
                         device=device)


@register(Q_FUTURE_CARD, status=q_future_status)
def build_q_future(trust_remote_code: bool = False, revision: str | None = None, temperature: float = 1.0,
                   batch_size: int = 4, device: str | None = None):
    from backend.iqa.compare2score.vlm_comparator import AUTHORS_SEGMENTS, VLMComparator, q_future_comparator

    options = {"temperature": temperature, "batch_size": batch_size, "device": device}
    local = settings.current().c2s_local
    if local is not None:
        return VLMComparator(str(local), None, trust_remote_code, convention="mplug-owl2", segments=AUTHORS_SEGMENTS,
                             **options)
    return q_future_comparator(trust_remote_code=trust_remote_code, revision=revision, **options)


def build_scorer(card: ModelCard, comparator: str, anchors: str | None = None, matrix: str = "probability",
                 normalisation: str = "mos", trust_remote_code: bool = False):
    from dataclasses import replace

    from backend.iqa.compare2score.model import Compare2ScoreModel
    from backend.iqa.compare2score.service import get_anchors, get_comparator

    if card.argument and comparator != SIAMESE.name:
        card = replace(card, name=f"{card.name}:{comparator}")
    options = {"trust_remote_code": True} if trust_remote_code else {}
    return Compare2ScoreModel(card, get_comparator(comparator, **options), get_anchors(anchors), matrix, normalisation)


@register(SCORER)
def build_compare2score(comparator: str = SIAMESE.name, anchors: str | None = None, matrix: str = "probability",
                        normalisation: str = "mos", trust_remote_code: bool = False):
    return build_scorer(SCORER, comparator, anchors, matrix, normalisation, trust_remote_code)


@register(SCORER_Q_FUTURE, status=q_future_status)
def build_compare2score_q_future(anchors: str | None = None, matrix: str = "probability", normalisation: str = "mos",
                                 trust_remote_code: bool = False):
    return build_scorer(SCORER_Q_FUTURE, Q_FUTURE_CARD.name, anchors, matrix, normalisation, trust_remote_code)
