"""Inter-annotator agreement: Krippendorff's alpha for pairwise votes and for ratings.

Alpha = 1 - D_o / D_e (observed over expected disagreement between the values given to the same unit),
computed by NLTK's ``AnnotationTask.alpha`` (a maintained implementation; ``tests/scaling/test_agreement.py``
checks it on the worked example of Krippendorff, *Computing Krippendorff's Alpha-Reliability*, 2011:
nominal 0.743, interval 0.849). 1 is perfect agreement, 0 is chance; Krippendorff advises alpha >= 0.8 for
conclusions and >= 0.667 for tentative ones.

- Pairwise votes: a unit is an unordered pair of items, a value the item chosen (or ``tie``); nominal
  distance. Only the values given to each unit matter, so repeated votes of one annotator on a pair count as
  separate values.
- Ratings: a unit is an item, a value its score; interval distance (squared difference).
- A unit needs at least two values to say anything; with none such (one annotator who never repeats a pair,
  or every image rated once), alpha is undefined and :func:`krippendorff_alpha` returns None with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from backend.errors import InputError

LEVELS = ("nominal", "interval")


@dataclass(frozen=True)
class Agreement:
    alpha: float | None
    level: str
    units: int  # units with at least two values (those alpha is computed from)
    values: int  # values in those units
    note: str = ""

    @property
    def text(self) -> str:
        if self.alpha is None:
            return f"Krippendorff's alpha: not defined yet ({self.note})"
        return (f"Krippendorff's alpha ({self.level}): {self.alpha:.2f} over {self.units} "
                f"{'pairs' if self.level == 'nominal' else 'images'} answered at least twice ({self.values} answers)")


def krippendorff_alpha(units: pd.Series, values: pd.Series, level: str = "nominal") -> Agreement:
    """Alpha of ``values`` given to ``units`` (two aligned series, one entry per answer)."""
    if level not in LEVELS:
        raise InputError(f"Unknown level {level!r}; use one of {', '.join(LEVELS)}.")
    frame = pd.DataFrame({"unit": units.astype(str).to_numpy(), "value": values.to_numpy()}).dropna()
    sizes = frame.groupby("unit")["value"].transform("size")
    pairable = frame[sizes >= 2].reset_index(drop=True)
    kind = "pair" if level == "nominal" else "image"
    if pairable.empty:
        return Agreement(None, level, 0, 0, f"no {kind} was answered twice; it needs two answers on the same {kind}")
    if pairable["value"].nunique() < 2:
        return Agreement(None, level, pairable["unit"].nunique(), len(pairable),
                         "every answer is the same, so agreement cannot be told from chance")
    from nltk.metrics.agreement import AnnotationTask
    from nltk.metrics.distance import binary_distance, interval_distance

    # one coder name per answer of a unit: alpha depends only on the values each unit received
    coder = pairable.groupby("unit").cumcount().astype(str)
    value = pairable["value"].astype(float) if level == "interval" else pairable["value"].astype(str)
    task = AnnotationTask(list(zip(coder, pairable["unit"], value, strict=True)),
                          interval_distance if level == "interval" else binary_distance)
    return Agreement(float(task.alpha()), level, pairable["unit"].nunique(), len(pairable))


def vote_agreement(votes: pd.DataFrame) -> Agreement:
    """Alpha of pairwise votes with columns ``left_item, right_item, choice`` (item labels)."""
    first = votes[["left_item", "right_item"]].min(axis=1)
    second = votes[["left_item", "right_item"]].max(axis=1)
    chosen = votes["left_item"].where(votes["choice"] == "left", votes["right_item"]).where(votes["choice"] != "tie", "tie")
    return krippendorff_alpha(first + " | " + second, chosen, "nominal")


def rating_agreement(ratings: pd.DataFrame) -> Agreement:
    """Alpha of ratings with columns ``item, score``."""
    return krippendorff_alpha(ratings["item"], ratings["score"], "interval")
