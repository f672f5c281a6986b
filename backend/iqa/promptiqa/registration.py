"""Registry cards of PromptIQA (paper 004): no-reference models that score by an image-score-pair prompt.

* ``promptiqa``: the embedded network (visual encoder: fixed no-reference quality statistics + a trained MLP;
  trained here; shipped weights, card beside them in ``assets/promptiqa/features``).
* ``promptiqa-vitb8``: the authors' ViT-B/8 + MoNet checkpoint from the hub (``backend.iqa.promptiqa.hub``).

Both have ``needs_prompt=True``: ``score(image, prompt=Prompt)``; scores are in the prompt's own scale,
so the card gives no fixed range and ``lower_better`` follows the prompt (False here: a prompt whose
higher scores mean better gives higher-is-better scores).
"""

from __future__ import annotations

from backend.iqa.promptiqa.hub import AUTHORS
from backend.iqa.promptiqa.weights import SHIPPED
from backend.registry import ModelCard, register

PAPER = "004 PromptIQA (Chen et al., ECCV 2024)"
RANGE_TEXT = "the prompt's own scale (within its lowest and highest score)"

EMBEDDED = ModelCard("promptiqa", "iqa-nr",
                     "PromptIQA: scores by your image-score prompt (quality-statistics encoder trained here).",
                     paper=PAPER, needs_prompt=True, shipped_weights=(SHIPPED,), range_text=RANGE_TEXT)
AUTHORS_CARD = ModelCard("promptiqa-vitb8", "iqa-nr", "PromptIQA with the authors' ViT-B/8 MoNet checkpoint (hub).",
                         paper=PAPER, needs_prompt=True, hub_weights=AUTHORS, range_text=RANGE_TEXT)


@register(EMBEDDED)
def build_embedded(weights_dir: str | None = None):
    from backend.iqa.promptiqa.scorer import PromptIQAScorer
    from backend.iqa.promptiqa.weights import load_embedded

    network, info = load_embedded(weights_dir)
    return PromptIQAScorer(network, network.input_size, card=EMBEDDED, info=info)


@register(AUTHORS_CARD)
def build_authors():
    from backend.iqa.promptiqa.hub import checkpoint_path, load_public_checkpoint
    from backend.iqa.promptiqa.scorer import PromptIQAScorer

    network = load_public_checkpoint(checkpoint_path())
    return PromptIQAScorer(network, network.input_size, card=AUTHORS_CARD, info={"source": "authors' checkpoint"},
                           batch_size=8)
