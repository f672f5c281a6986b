"""The shipped PromptIQA follows prompts on held-out photos and a held-out requirement (paper 004 Tables 3, 5).

Held-out data made here: scikit-image's photos (not among the Debian training photos) distorted with four
families at five levels, labelled by FSIM (a requirement held out of training). Prompt: 10 ISPs by interval
sampling from two photos; targets: the two other photos. The card's evaluation measured SRCC on the
larger held-out set (assets/promptiqa/features/model.json); the thresholds here are a margin below the values
this test measured when the weights were committed (see the constants below).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from backend import registry
from backend.iqa.promptiqa.prompts import sample_indices
from backend.protocols import Prompt

# Measured with the committed weights (features encoder, continued 2026-11-30): SRCC 0.924, inverted prompt
# -0.856 (the weights they continue: 0.920 / -0.838; card: held-out SRCC 0.82 with 10 ISPs on the built test
# photos; the earlier compact CNN measured 0.122 and
# -0.098 here). The floors are a margin below what was measured: the test guards both the ranking and the
# sign-following.
SRCC_FLOOR, INVERTED_CEILING, MIN_GAP = 0.80, -0.70, 1.50
FAMILIES = ("gaussian_blur", "gaussian_noise", "jpeg", "contrast")


@pytest.fixture(scope="module")
def held_out():
    from backend.data.photos import skimage_photos
    from backend.iqa.promptiqa.data import crop_square, distorted_versions, label_versions

    sets = {}
    for name, photo in skimage_photos(max_side=512).items():
        versions = distorted_versions(crop_square(photo), f"skimage/{name}", FAMILIES)
        rows = label_versions(versions, ("fsim",))
        sets[name] = ([v[2] for v in versions], np.array([r["fsim"] for r in rows]))
    return sets


def _split(sets, prompt_photos=("astronaut", "coffee")):
    prompt_images, prompt_scores, images, truth = [], [], [], []
    for name, (versions, scores) in sets.items():
        target = (prompt_images, prompt_scores) if name in prompt_photos else (images, truth)
        target[0].extend(versions)
        target[1].extend(scores)
    return prompt_images, np.array(prompt_scores), images, np.array(truth)


def test_shipped_model_follows_a_held_out_requirement_and_an_inverted_prompt(held_out):
    if not registry.status("promptiqa").ready:
        pytest.fail(f"promptiqa weights are not shipped: {registry.status('promptiqa')}")
    scorer = registry.create("promptiqa")
    prompt_images, prompt_scores, images, truth = _split(held_out)
    chosen = sample_indices(prompt_scores, 10, "interval")
    prompt = Prompt(tuple(prompt_images[k] for k in chosen), prompt_scores[chosen])
    srcc = stats.spearmanr(scorer.score_images(images, prompt), truth).statistic
    inverted = stats.spearmanr(scorer.score_images(images, prompt.inverted()), truth).statistic
    print(f"held-out FSIM requirement: SRCC {srcc:.3f}, inverted prompt {inverted:.3f}")
    assert srcc > SRCC_FLOOR
    assert inverted < INVERTED_CEILING and srcc - inverted > MIN_GAP  # the sign follows the prompt (Table 5)
