"""Compare2Score inspector tab (paper 001): not built yet."""

from ui.common import not_built_yet


def build() -> None:
    not_built_yet("the Compare2Score inspector — anchors, level probabilities, probability matrix, MAP score")
