"""Annotate tab (pairwise comparisons and ratings): not built yet."""

from ui.common import not_built_yet


def build() -> None:
    not_built_yet("the annotation portal — pairwise comparisons and 5-point ratings stored in SQL")
