"""Harmonize tab (paper 002): not built yet."""

from ui.common import not_built_yet


def build() -> None:
    not_built_yet("harmonizing a composite with a painted or uploaded mask (issue: Harmonize tab)")
