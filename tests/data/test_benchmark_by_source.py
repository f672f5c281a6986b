"""The by-source figures of the quality benchmarks (issue #23), on made-up numbers and scikit-image photos."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from backend.data.photos import UNSEEN_SOURCE, skimage_photos


def test_real_preferred_and_source_figures():
    from benchmarks.harmonyiqa import real_preferred, source_figures

    table = pd.DataFrame({
        "reference": ["a", "a", "a", "b", "b", "c", "c"],
        "kind": ["real", "composite", "partial0", "real", "composite", "real", "composite"],
        "mos": [100.0, 20.0, 60.0, 100.0, 30.0, 100.0, 40.0],
        "photo": ["p/1", "p/1", "p/1", "p/2", "p/2", "q/3", "q/3"],
    })
    scores = np.array([0.9, 0.1, 0.5, 0.2, 0.8, 0.4, 0.4])  # a: right, b: wrong, c: tie
    assert real_preferred(scores, table) == pytest.approx(0.5)
    assert real_preferred(-scores, table, lower_better=True) == pytest.approx(0.5)
    figures = source_figures(scores, table, np.array([True] * 3 + [False] * 4))
    assert figures["srcc"] == pytest.approx(1.0) and figures["real_preferred"] == 1.0
    assert (figures["images"], figures["composites"], figures["photos"]) == (3, 1, 1)


def test_fmse_ratios_by_source(tmp_path):
    from benchmarks.harmonize import composite_sources, ratios_by_source

    (tmp_path / "manifest.json").write_text(json.dumps({
        "00000.png": {"photo": "mate/x.jpg", "source": "mate"},
        "00001.png": {"photo": "opencv/y.jpg"},  # an older manifest: the source comes from the photo key
    }))
    sources = composite_sources(tmp_path)
    assert sources == {"00000": "mate", "00001": "opencv"}
    from benchmarks.harmonize import photos_by_source

    assert photos_by_source(tmp_path) == {"mate": 1, "opencv": 1}
    assert photos_by_source(tmp_path / "absent") == {}
    per_image = {"composite": [{"image": "00000", "fmse": 100.0}, {"image": "00001", "fmse": 400.0}],
                 "network": [{"image": "00000", "fmse": 50.0}, {"image": "00001", "fmse": 400.0}]}
    block = ratios_by_source(per_image, sources)
    assert block["network"]["per_source"]["mate"]["fmse_ratio"] == pytest.approx(0.5)
    assert block["network"]["mean_over_sources"]["fmse_ratio"] == pytest.approx(0.75)
    assert block["composite"]["mean_over_sources"]["fmse_ratio"] == pytest.approx(1.0)
    shipped = ratios_by_source(per_image, sources, trained_on={"network": ["mate"]})["network"]
    assert shipped["trained_on_sources"] == ["mate"] and shipped["held_out_sources"] == ["opencv"]
    assert shipped["mean_over_held_out_sources"]["fmse_ratio"] == pytest.approx(1.0)
    assert shipped["mean_over_sources"]["fmse_ratio"] == pytest.approx(0.75)


def test_loso_line_prints_held_out_sources_their_mean_and_unseen():
    from backend.data import by_source
    from benchmarks.source_sets import loso_line

    block = by_source.summary({"a": {"srcc": 0.9, "within": 1.0}, "b": {"srcc": 0.5, "within": 0.7},
                               "c": {"srcc": 0.3, "within": 0.5}, "unseen": {"srcc": 0.2, "within": 0.4}},
                              trained_on=["a"])
    line = loso_line("model", block, ("srcc", "within"), width=6)
    assert line.startswith("model  LOSO (srcc/within) b:0.500/0.700 c:0.300/0.500 | mean over held-out sources "
                           "0.400/0.600 | trained on a: a:0.900/1.000; mean over all sources 0.567/0.733")
    assert line.endswith("| unseen 0.200/0.400")
    free = loso_line("free", by_source.summary({"a": {"srcc": 0.9}, "b": {"srcc": 0.5}}), ("srcc",))
    assert "trained on" not in free and "unseen" not in free and "mean over held-out sources 0.700" in free


def test_level_figures_and_distorted_versions():
    from benchmarks.source_sets import distorted, level_figures

    class Photo:
        def __init__(self, key):
            self.key = key

    photos = skimage_photos(96)
    images, levels, owners, kinds = distorted([Photo("a"), Photo("b")], lambda p: photos["astronaut" if p.key == "a"
                                                                                         else "coffee"],
                                              families=("gaussian_noise", "jpeg"))
    assert len(images) == 2 * (1 + 2 * 5) and levels.tolist()[:6] == [0, 1, 2, 3, 4, 5]
    assert set(kinds) == {"pristine", "gaussian_noise", "jpeg"} and owners.tolist().count(1) == 11
    perfect = level_figures(-levels.astype(float), levels, owners, kinds)
    assert perfect["srcc"] == pytest.approx(1.0) and perfect["within"] == pytest.approx(1.0)
    assert level_figures(levels.astype(float), levels, owners, kinds, lower_better=True)["within"] == pytest.approx(1.0)
    assert (perfect["images"], perfect["photos"]) == (22, 2)


def test_prompt_versus_metrics_two_halves():
    from benchmarks.promptiqa import prompt_versus_metrics

    class LevelReader:
        """A stand-in scorer that reads the level off the image and maps it through the prompt's direction."""

        def score_images(self, images, prompt):
            values = np.array([float(image[0, 0, 0]) for image in images])
            prompt_levels = np.array([float(image[0, 0, 0]) for image in prompt.images])
            direction = np.sign(np.corrcoef(prompt_levels, prompt.scores)[0, 1])
            return direction * values

    levels = np.tile(np.arange(6), 4)
    owners = np.repeat(np.arange(4), 6)
    images = [np.full((8, 8, 3), level, np.uint8) for level in levels]
    nr = {"good": -levels + 0.1 * np.arange(24) % 1, "bad": np.zeros(24) + np.arange(24) % 2}
    figures = prompt_versus_metrics(LevelReader(), images, levels, owners, nr, n=5)
    assert figures["prompt_srcc"] == pytest.approx(1.0) and figures["inverted_srcc"] == pytest.approx(-1.0)
    assert figures["inverted_gap"] == pytest.approx(0.0) and figures["best_nr"] == "good"
    assert figures["ratio_to_best_nr"] == pytest.approx(1.0 / figures["best_nr_abs_srcc"])
    assert UNSEEN_SOURCE == "gcompris-unseen"


def test_record_by_source_copies_blocks_into_a_card(tmp_path):
    from scripts.record_by_source import main

    results = tmp_path / "benchmarks" / "results" / "x.json"
    results.parent.mkdir(parents=True)
    results.write_text(json.dumps({"measured_at": "now", "by_source": {"models": {"m": {"mean_over_sources": {"srcc": 0.5}}}}}))
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"name": "m", "by_source": {"old": 1}}))
    assert main([str(results), str(card), "--path", "by_source.models.m"]) == 0
    written = json.loads(card.read_text())
    assert written["name"] == "m" and written["by_source"] == {
        "from": "benchmarks/results/x.json", "measured_at": "now",
        "by_source.models.m": {"mean_over_sources": {"srcc": 0.5}}}
    assert main([str(results), str(card), "--path", "by_source.models.nothing"]) == 2


def test_record_by_source_counts_photos_and_keeps_the_indentation(tmp_path, monkeypatch):
    import scripts.record_by_source as record

    block = {"per_source": {"a": {"srcc": 0.5, "photos": 3}, "b": {"srcc": 0.4, "photos": 2}},
             "unseen": {"srcc": 0.1, "photos": 4}}
    assert record.photo_counts({"x": block}) == {"per_source": {"a": 3, "b": 2, "unseen": 4}, "sources": 3, "photos": 9}
    assert record.photo_counts({"x": block}, {"a": 7}) == {"per_source": {"a": 7}, "sources": 1, "photos": 7}
    assert record.photo_counts({"x": {"per_source": {"a": {"srcc": 0.2}}}})["photos"] == 0
    monkeypatch.setattr(record, "installed_photos", lambda: {"training_photos": 5})
    results = tmp_path / "r.json"
    results.write_text(json.dumps({"measured_at": "now", "m": block, "counts": {"a": 6, "unseen": 2}}))
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"name": "m", "values": [1, 2]}, indent=1) + "\n")
    assert record.main([str(results), str(card), "--path", "m", "--photos", "--photos-path", "counts"]) == 0
    text = card.read_text()
    assert text.startswith('{\n "name": "m",\n "values": [\n  1,')  # indent 1 kept
    written = json.loads(text)["by_source"]
    assert written["photos"] == {"per_source": {"a": 6, "unseen": 2}, "sources": 2, "photos": 8}
    assert written["photos_installed"] == {"training_photos": 5} and written["m"] == block
    assert record.indent_of("{}") == 2
