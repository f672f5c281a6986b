"""PromptIQA tab (paper 004): not built yet."""

from ui.common import not_built_yet


def build() -> None:
    not_built_yet("PromptIQA — scoring images under an image-score-pair prompt")
