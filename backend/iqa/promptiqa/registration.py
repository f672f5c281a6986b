"""Registry cards of PromptIQA (paper 004): no-reference models that score by an image-score-pair prompt.

* ``promptiqa``: the embedded network (visual encoder: fixed no-reference quality statistics + a trained MLP,
  ``model.build_feature_encoder``; trained here; shipped weights, card in ``assets/promptiqa/features``).
* ``promptiqa-vitb8``: the authors' ViT-B/8 + MoNet checkpoint from the hub (``backend.iqa.promptiqa.hub``).

Both have ``needs_prompt=True``: ``score(image, prompt=Prompt)``; scores are in the prompt's own scale,
so the card gives no fixed range and ``lower_better`` follows the prompt (False here: a prompt whose
higher scores mean better gives higher-is-better scores).
"""

from __future__ import annotations

from backend.registry import ModelCard, Status, hub_status, register

PAPER = "004 PromptIQA (Chen et al., ECCV 2024)"
RANGE_TEXT = "the prompt's own scale (within its lowest and highest score)"


def _embedded(weights_dir=None):
    from backend.iqa.promptiqa.scorer import PromptIQAScorer
    from backend.iqa.promptiqa.weights import load_embedded

    network, info = load_embedded(weights_dir)
    size = info.get("config", {}).get("visual", {}).get("input_size", 128)
    return PromptIQAScorer(network, size, card=_CARDS["promptiqa"], info=info)


def _authors():
    from backend.iqa.promptiqa.hub import checkpoint_path, load_public_checkpoint
    from backend.iqa.promptiqa.monet import MONET_VITB8
    from backend.iqa.promptiqa.scorer import PromptIQAScorer

    network = load_public_checkpoint(checkpoint_path())
    return PromptIQAScorer(network, MONET_VITB8["input_size"], card=_CARDS["promptiqa-vitb8"],
                           info={"source": "authors' checkpoint"}, batch_size=8)


def _authors_status(card: ModelCard) -> Status:
    return hub_status(card.hub_weights)


_CARDS: dict[str, ModelCard] = {}


def _register() -> None:
    from backend.iqa.promptiqa.hub import AUTHORS
    from backend.iqa.promptiqa.weights import SHIPPED

    cards = (
        (ModelCard("promptiqa", "iqa-nr", "PromptIQA: scores by your image-score prompt (quality-statistics encoder trained here).",
                   paper=PAPER, needs_prompt=True, shipped_weights=(SHIPPED,),
                   extra={"range_text": RANGE_TEXT}), _embedded, None),
        (ModelCard("promptiqa-vitb8", "iqa-nr", "PromptIQA with the authors' ViT-B/8 MoNet checkpoint (hub).",
                   paper=PAPER, needs_prompt=True, hub_weights=AUTHORS, extra={"range_text": RANGE_TEXT}),
         _authors, _authors_status),
    )
    for card, factory, check in cards:
        _CARDS[card.name] = card
        register(card, factory, check)


_register()
