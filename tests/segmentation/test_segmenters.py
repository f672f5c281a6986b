"""Segmenter interface, caching, the offline segmenter and the SAM 2 path with a tiny random model."""

from __future__ import annotations

import numpy as np
import pytest

from backend import registry
from backend.errors import InputError
from backend.segmentation.base import Segmentation
from backend.segmentation.models import get_segmenter
from backend.segmentation.regions import RegionSegmenter
from tests.conftest import sample_photo


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    return sample_photo("coffee")[::2, ::2].copy()


def check_segmentation(result: Segmentation, shape: tuple[int, int]) -> None:
    assert len(result) == len(result.scores) >= 1
    areas = result.areas
    assert np.all(np.diff(areas) <= 0), "masks are sorted by area, largest first"
    for mask in result.masks:
        assert mask.dtype == bool and mask.shape == shape and mask.any()
    assert np.all(np.isfinite(result.scores))


def test_offline_segmenter_gives_instance_masks(coffee):
    segmenter = RegionSegmenter()
    result = segmenter.segment(coffee)
    check_segmentation(result, coffee.shape[:2])
    assert 3 <= len(result) <= 200
    covered = np.zeros(coffee.shape[:2], dtype=bool)
    for mask in result.masks:
        assert not (covered & mask).any(), "offline regions do not overlap"
        covered |= mask
    assert covered.mean() > 0.8
    labels = result.labels()
    assert labels.max() == len(result)


def test_min_area_filter(coffee):
    segmenter = RegionSegmenter()
    everything = segmenter.segment(coffee)
    threshold = int(np.median(everything.areas))
    large = segmenter.segment(coffee, min_area=threshold)
    assert 0 < len(large) < len(everything) and large.areas.min() >= threshold


def test_results_are_cached_by_content(coffee):
    segmenter = RegionSegmenter()
    first = segmenter.segment(coffee)
    second = segmenter.segment(coffee.copy())
    assert segmenter.calls == 1 and second is first
    segmenter.segment(coffee[::-1].copy())
    assert segmenter.calls == 2


def test_prompted_mask_snaps_to_regions(coffee):
    segmenter = RegionSegmenter()
    mask = segmenter.segment(coffee).masks[0].copy()
    result = segmenter.segment_prompt(coffee, mask)
    assert len(result) == 1 and result.masks[0].shape == mask.shape
    overlap = (result.masks[0] & mask).sum() / (result.masks[0] | mask).sum()
    assert overlap > 0.9


def test_bad_inputs_are_sentences(coffee):
    segmenter = RegionSegmenter()
    with pytest.raises(InputError, match="RGB uint8"):
        segmenter.segment(coffee.astype(np.float32))
    with pytest.raises(InputError, match="same size"):
        segmenter.segment_prompt(coffee, np.ones((5, 5), dtype=bool))
    with pytest.raises(InputError, match="empty"):
        segmenter.segment_prompt(coffee, np.zeros(coffee.shape[:2], dtype=bool))


def test_registry_lists_both_segmenters_and_defaults_offline():
    names = {card.name for card in registry.list_models("segment")}
    assert names == {"regions", "sam2.1-hiera-tiny"}
    status = registry.status("sam2.1-hiera-tiny")
    assert status.state in ("ready", "needs download")
    if not status.ready:
        assert get_segmenter().name == "regions"
    with pytest.raises(InputError, match="not a segmenter"):
        get_segmenter("ih-mse")


def tiny_sam2():
    """A randomly initialised SAM 2 with the real architecture at toy sizes (no download)."""
    import torch
    from transformers import Sam2Config, Sam2ImageProcessor, Sam2Model, Sam2Processor
    from transformers.models.sam2.configuration_sam2 import (
        Sam2HieraDetConfig,
        Sam2MaskDecoderConfig,
        Sam2PromptEncoderConfig,
        Sam2VisionConfig,
    )

    backbone = Sam2HieraDetConfig(
        hidden_size=16, num_attention_heads=1, blocks_per_stage=[1, 1, 2, 1], embed_dim_per_stage=[16, 32, 64, 128],
        num_attention_heads_per_stage=[1, 1, 1, 1], window_size_per_stage=[4, 4, 4, 4], global_attention_blocks=[3],
        image_size=[256, 256], window_positional_embedding_background_size=[4, 4])
    vision = Sam2VisionConfig(backbone_config=backbone, backbone_channel_list=[128, 64, 32, 16],
                              backbone_feature_sizes=[[64, 64], [32, 32], [16, 16]], fpn_hidden_size=32)
    config = Sam2Config(vision_config=vision,
                        prompt_encoder_config=Sam2PromptEncoderConfig(hidden_size=32, image_size=256, patch_size=16),
                        mask_decoder_config=Sam2MaskDecoderConfig(hidden_size=32, mlp_dim=64, num_attention_heads=2,
                                                                  iou_head_hidden_dim=32))
    torch.manual_seed(0)
    processor = Sam2Processor(image_processor=Sam2ImageProcessor(size={"height": 256, "width": 256}))
    return Sam2Model(config).eval(), processor


@pytest.mark.slow
def test_sam2_path_with_tiny_random_model(coffee):
    from backend.segmentation.sam2 import Sam2Segmenter

    model, processor = tiny_sam2()
    # random weights predict IoUs near 0.5, so the quality thresholds are opened for the test
    segmenter = Sam2Segmenter(model, processor, points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0,
                              nms_thresh=0.999)
    result = segmenter.segment(coffee)
    check_segmentation(result, coffee.shape[:2])
    assert len(result) <= 16
    assert segmenter.segment(coffee) is result and segmenter.calls == 1
    mask = np.zeros(coffee.shape[:2], dtype=bool)
    mask[40:120, 60:180] = True
    prompted = segmenter.segment_prompt(coffee, mask)
    assert len(prompted) == 1 and prompted.masks[0].shape == mask.shape and 0 <= prompted.details["overlap"] <= 1
    strict = Sam2Segmenter(model, processor, points_per_side=4)  # the Dog-IQA thresholds reject random masks
    assert len(strict.segment(coffee)) == 0


def test_sam2_without_weights_offline_is_a_clear_error(monkeypatch, settings_env):
    from backend.errors import ModelUnavailableError
    from backend.segmentation import sam2

    settings_env(HF_HUB_OFFLINE="1", HARMONYLAB_SAM2_PATH=None, HF_HOME="/nonexistent-hf-home")
    with pytest.raises(ModelUnavailableError, match="facebook/sam2.1-hiera-tiny"):
        sam2.load_sam2()


def test_region_proposals_are_distinct_filtered_and_follow_pixel_edges():
    from backend.segmentation.regions import region_proposals

    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(90, 4, (96, 128, 3)), 0, 255).astype(np.uint8)  # mildly textured grey
    image[30:60, 40:90] = np.clip(rng.normal((200, 60, 40), 4, (30, 50, 3)), 0, 255).astype(np.uint8)
    square = np.zeros(image.shape[:2], bool)
    square[30:60, 40:90] = True
    regions = region_proposals(image, (3.0, 8.0, 30.0), sigma=0.0, area=(0.01, 0.9))
    keys = {np.packbits(r).tobytes() for r in regions}
    assert len(keys) == len(regions)  # each region once, whatever threshold formed it
    assert all(0.01 <= r.mean() <= 0.9 for r in regions)
    assert any(np.array_equal(r, square) for r in regions)  # no smoothing: the square's outline is exact
    assert not region_proposals(image, (3.0,), sigma=0.0, area=(0.95, 1.0))
