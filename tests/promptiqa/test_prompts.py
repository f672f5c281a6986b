"""Prompts (paper 004 Sec. 3.2 A, Table 4): bad prompts give clear InputErrors; normalisation; sampling; CSV."""

from __future__ import annotations

import numpy as np
import pytest

from backend.errors import InputError
from backend.iqa.promptiqa.prompts import make_prompt, sample_indices
from backend.iqa.promptiqa.service import prompt_from_csv, read_scored_csv
from backend.protocols import Prompt
from tests.promptiqa.helpers import noisy_series, write_prompt


@pytest.mark.parametrize("scores, message", [
    ([1.0], "at least 2"),
    ([1.0, float("nan")], "finite"),
    ([1.0, float("inf")], "finite"),
    ([2.0, 2.0], "equal"),
    ([1.0, 2.0, 3.0], "one score per image"),
    (["good", 2.0], "number"),
])
def test_bad_scores_are_refused(scores, message):
    images = noisy_series(2) if len(scores) != 1 else noisy_series(1)
    with pytest.raises(InputError, match=message):
        make_prompt(images, scores)


def test_unreadable_prompt_image_is_refused(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(InputError, match="broken.png"):
        make_prompt([broken, noisy_series(1)[0]], [1.0, 2.0], ["broken.png", "ok.png"])


def test_normalisation_maps_the_prompt_range_to_unit_interval_and_back():
    prompt = Prompt(tuple(noisy_series(3)), np.array([20.0, 60.0, 100.0]))
    np.testing.assert_allclose(prompt.normalised(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(prompt.to_scale([0.0, 0.25, 1.0]), [20.0, 40.0, 100.0])
    np.testing.assert_allclose(prompt.inverted().normalised(), [1.0, 0.5, 0.0])


def test_interval_sampling_spans_the_sorted_scores_and_random_is_seeded():
    scores = np.arange(100.0)[::-1]
    chosen = sample_indices(scores, 5, "interval")
    assert sorted(scores[chosen]) == [0.0, 25.0, 50.0, 74.0, 99.0]
    first = sample_indices(scores, 5, "random", np.random.default_rng(3))
    again = sample_indices(scores, 5, "random", np.random.default_rng(3))
    assert np.array_equal(first, again) and len(set(first)) == 5
    with pytest.raises(InputError, match="at most"):
        sample_indices(scores[:3], 5)
    with pytest.raises(InputError, match="interval, random"):
        sample_indices(scores, 5, "stratified")


def test_prompt_csv_resolves_relative_paths(tmp_path):
    csv = write_prompt(tmp_path / "prompt", [1, 3, 5])
    prompt = prompt_from_csv(csv)
    assert len(prompt.images) == 3 and prompt.low == 1 and prompt.high == 5
    (tmp_path / "bad.csv").write_text("file,value\na.png,1\n")
    with pytest.raises(InputError, match="'path' and a 'score'"):
        read_scored_csv(tmp_path / "bad.csv")
