"""The offline Dog-IQA pipeline end to end: regions, components, both formulas, overlay, registry and Score."""

import numpy as np
import pytest

from backend import registry
from backend.data.distortions import distort, rng_for
from backend.data.photos import skimage_photos
from backend.errors import InputError
from backend.iqa.dogiqa.aggregate import aggregate


@pytest.fixture(scope="module")
def photo():
    return skimage_photos(384)["coffee"]


def test_registry_cards_and_status():
    assert registry.status("dogiqa").ready
    assert registry.status("dogiqa-vlm").state in ("needs download", "ready")
    card = registry.card("dogiqa-vlm")
    assert card.hub_weights.repo == "Qwen/Qwen2-VL-2B-Instruct" and len(card.hub_weights.revision) == 40


def test_components_follow_the_formula(photo):
    from backend.iqa.dogiqa.service import analyse_arrays

    (result, regions), = analyse_arrays([photo], "compare2score", readout="weighted")
    details = result.details
    scores = [r["score"] for r in details["regions"]]
    areas = [r["area"] for r in details["regions"]]
    assert len(regions) == len(scores) >= 2 and sum(r.kind == "remainder" for r in regions) <= 1
    assert areas == [r.area for r in regions]
    assert all(r["area_fraction"] >= details["area_threshold"] for r in details["regions"])
    expected = aggregate(details["global"]["score"], scores, areas, 7, details["c_max"], "paper")
    assert result.score == pytest.approx(expected.final)
    assert details["components"]["seg_score"] == pytest.approx(len(regions) * 7 / details["c_max"])
    assert details["c_max_source"].startswith("measured")
    argmax = details["components_by_readout"]["argmax"]
    assert argmax["global_score"] == details["global"]["level"] and float(argmax["global_score"]).is_integer()
    for region in details["regions"]:
        assert 1 <= region["level"] <= 7 and 1 <= region["weighted"] <= 7 and "raw" in region
        x0, y0, x1, y1 = region["box"]
        assert x1 - x0 >= 64 and y1 - y0 >= 64
    (public, _), = analyse_arrays([photo], "compare2score", readout="weighted", formula="public", c_max=5)
    parts = public.details["components"]
    assert public.score == pytest.approx(parts["local_score"] + 0.1 * parts["count"] + 0.5 * parts["global_score"])


def test_heavy_distortion_scores_lower(photo):
    from backend.iqa.dogiqa.service import analyse_arrays

    blurred = distort(photo, "gaussian_blur", 5, rng_for("dogiqa-test"))
    (clean, _), (blur, _) = analyse_arrays([photo, blurred], "compare2score", readout="weighted")
    assert blur.details["components"]["global_score"] < clean.details["components"]["global_score"]
    assert blur.details["components"]["local_score"] < clean.details["components"]["local_score"]


def test_overlay_numbers_every_region(photo):
    from backend.iqa.dogiqa.service import inspect

    result, overlay = inspect(photo, "compare2score", k=5)
    assert overlay.shape == photo.shape and overlay.dtype == np.uint8
    assert np.abs(overlay.astype(int) - photo).mean() > 5
    assert result.details["k"] == 5 and all(1 <= r["level"] <= 5 for r in result.details["regions"])


def test_the_score_tab_service_can_use_dogiqa(photo, tmp_path):
    from PIL import Image

    from backend.scoring import score_images

    path = tmp_path / "coffee.png"
    Image.fromarray(photo).save(path)
    table = score_images([path], ["dogiqa"])
    assert len(table) == 1 and 1.0 <= table["score"].iloc[0] <= 14.0


def test_bad_options(photo):
    from backend.iqa.dogiqa.service import analyse_arrays, inspect

    with pytest.raises(InputError, match="K = 4"):
        analyse_arrays([photo], "compare2score", k=4)
    with pytest.raises(InputError, match="readout"):
        analyse_arrays([photo], "compare2score", readout="mode")
    with pytest.raises(InputError, match="no-reference model"):
        analyse_arrays([photo], "ssim")
    with pytest.raises(InputError, match="No image"):
        inspect(None)
    with pytest.raises(InputError, match="Unknown model"):
        analyse_arrays([photo], "no-such-model")


def test_c_max_defaults():
    from backend.iqa.dogiqa.model import PAPER_C_MAX, default_c_max
    from backend.iqa.dogiqa.offline import read_calibration

    measured = read_calibration()["segmenters"]["regions"]["c_max"]
    assert default_c_max("regions") == (measured, default_c_max("regions")[1])
    assert default_c_max("sam2.1-hiera-tiny") == (PAPER_C_MAX, "paper (SAM 2 on SPAQ)")


def test_an_image_the_scorer_refuses_is_an_error():
    from backend.iqa.dogiqa.service import analyse_arrays

    flat = np.full((96, 96, 3), 128, dtype=np.uint8)  # compare2score refuses it (see test_offline)
    with pytest.raises(InputError, match="cannot score this image"):
        analyse_arrays([flat], "compare2score")


@pytest.mark.slow
def test_sam2_segmenter_with_the_spec_parameters_and_the_paper_c_max(photo):
    from backend.iqa.dogiqa.model import PAPER_C_MAX, DogIQA
    from backend.iqa.dogiqa.offline import QuantileScorer
    from backend.segmentation.sam2 import Sam2Segmenter
    from tests.segmentation.test_segmenters import tiny_sam2

    model, processor = tiny_sam2()
    spec = Sam2Segmenter(model, processor)  # defaults: SPEC.md's public-code parameters
    assert (spec.points_per_side, spec.pred_iou_thresh, spec.stability_score_thresh, spec.stability_offset,
            spec.nms_thresh) == (8, 0.9, 0.8, 0.7, 0.9)
    dog = DogIQA(registry.card("dogiqa"), QuantileScorer("piqe"), segmenter=spec)
    result = dog.score(photo)
    assert dog.c_max == PAPER_C_MAX and result.details["segmenter"] == "sam2.1-hiera-tiny"
    # random weights fail the quality thresholds: no mask, so the whole image is the one (remainder) region
    assert [r["kind"] for r in result.details["regions"]] == ["remainder"]
    opened = Sam2Segmenter(model, processor, points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0,
                           nms_thresh=0.999)
    result = DogIQA(registry.card("dogiqa"), QuantileScorer("piqe"), segmenter=opened, area_threshold=0.0).score(photo)
    assert result.details["raw_masks"] >= 1 and len(result.details["regions"]) >= 1
