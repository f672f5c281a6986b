"""PromptIQA network (paper 004 Sec. 3.2): layer sizes per SPEC.md, ISP features, Eq. 4 augmentations, cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from backend.iqa.promptiqa.model import COMPACT, PromptIQAConfig, PromptIQANet
from backend.iqa.promptiqa.requirements import (
    augment,
    draw_requirement,
    family_codes,
    random_flipping,
    random_scaling,
    reweight_families,
)
from backend.protocols import Prompt
from tests.promptiqa.helpers import noisy_series, random_scorer


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(0)
    return PromptIQANet(PromptIQAConfig(visual=COMPACT)).eval()


def test_layer_sizes_follow_the_spec(network):
    assert len(network.prompt_encoder) == 3 and len(network.ispp_fusion) == 3 and len(network.image_prompt_fusion) == 8
    for block in [*network.prompt_encoder, *network.ispp_fusion, *network.image_prompt_fusion]:
        assert block.attn.num_heads == 4 and block.attn.qkv.in_features == 128
    assert network.prompt_projection[0].in_features == 128 and network.prompt_projection[-1].out_features == 128
    linears = [m for m in network.regression if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(128, 64), (64, 1)]
    assert isinstance(network.regression[-1], torch.nn.Sigmoid)
    images = torch.rand(3, 3, 128, 128)
    assert network.encode_images(images).shape == (3, 128)


def test_isp_feature_is_image_token_plus_expanded_score(network):
    features = torch.rand(2, 5, 128)
    scores = torch.rand(2, 5)
    tokens = {}
    hook = network.prompt_encoder[0].register_forward_hook(lambda m, i, o: tokens.setdefault("in", i[0]))
    with torch.no_grad():
        prompt_tokens = network.encode_prompt(features, scores)
    hook.remove()
    assert tokens["in"].shape == (10, 2, 128)  # one 2-token ISP feature per pair (Eq. 3)
    assert torch.allclose(tokens["in"][0, 1], scores[0, 0].expand(128))
    assert prompt_tokens.shape == (2, 5, 128)
    with torch.no_grad():
        requirement = network.requirement(features, scores)
        out = network.score(torch.rand(4, 128), requirement[:1])
    assert requirement.shape == (2, 5, 128) and out.shape == (4,) and bool(((out >= 0) & (out <= 1)).all())


def test_regression_reads_the_image_token_and_isp_tokens_are_averaged(network):
    """Sec. 3.2 E: R takes the FIRST token of F_IPF (the image's), not the last or the mean; Sec. 3.2 C: the
    prompt encoder's two output tokens of an ISP are averaged before the projection."""
    torch.manual_seed(2)
    image_features, requirement = torch.rand(3, 128), torch.rand(1, 4, 128)
    with torch.no_grad():
        out = network.score(image_features, requirement)
        tokens = torch.cat([image_features.unsqueeze(1), requirement.expand(3, -1, -1)], dim=1)
        fused = network.fusion_norm(network.image_prompt_fusion(tokens))
        first, last, mean = (network.regression(t).squeeze(-1) for t in (fused[:, 0], fused[:, -1], fused.mean(dim=1)))
    torch.testing.assert_close(out, first)
    assert not torch.allclose(out, last, atol=1e-4) and not torch.allclose(out, mean, atol=1e-4)
    features, scores = torch.rand(1, 3, 128), torch.rand(1, 3)
    with torch.no_grad():
        pairs = torch.stack([features, scores.unsqueeze(-1).expand_as(features)], dim=-2).reshape(-1, 2, 128)
        encoded = network.prompt_encoder(pairs)
        averaged = network.prompt_projection(encoded.mean(dim=1)).reshape(1, 3, 128)
        first_only = network.prompt_projection(encoded[:, 0]).reshape(1, 3, 128)
        prompt = network.encode_prompt(features, scores)
    torch.testing.assert_close(prompt, averaged)
    assert not torch.allclose(prompt, first_only, atol=1e-4)


def test_random_scaling_and_flipping_follow_eq4():
    scores = np.array([0.2, 0.4, 0.5, 0.3])
    np.testing.assert_allclose(random_scaling(scores), scores / 0.5)
    np.testing.assert_allclose(random_flipping(scores), 1 - scores)
    rng = np.random.default_rng(0)
    outcomes = [augment(scores, rng) for _ in range(4000)]
    scaled = np.mean([np.isclose(o.max(), 1.0) or np.isclose(o.min(), 0.0) for o in outcomes])
    flipped = np.mean([o[0] > o[1] for o in outcomes])  # order reverses only under RF
    assert 0.45 < scaled < 0.6 and 0.07 < flipped < 0.13


def test_family_reweighting_keeps_the_order_within_each_family_and_moves_it_between_families():
    table = pd.DataFrame({"family": ["pristine"] + ["blur"] * 5 + ["noise"] * 5})
    codes = family_codes(table)
    assert codes[0] == -1 and set(codes[1:6]) == {0} and set(codes[6:]) == {1}
    oriented = np.r_[1.0, np.linspace(0.9, 0.1, 5), np.linspace(0.85, 0.05, 5)]
    orders, between = [], []
    rng = np.random.default_rng(0)
    for _ in range(50):
        out = reweight_families(oriented, codes, rng)
        assert out[0] == 1.0 and np.all((out >= 0) & (out <= 1))
        orders.append(all(np.all(np.diff(out[codes == c]) < 0) for c in (0, 1)))
        between.append(stats.spearmanr(out, oriented).statistic)
    assert all(orders) and min(between) < 0.9  # the families' relative costs change, their inner order never

    columns = {"ssim": np.linspace(0, 1, 11), "gmsd": np.linspace(1, 0, 11)}
    plain, off = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(20):  # rate 0 draws exactly what the shipped model was trained on
        np.testing.assert_array_equal(draw_requirement(columns, plain), draw_requirement(columns, off, 0.3, codes, 0.0))
    rng = np.random.default_rng(1)
    for _ in range(20):  # a lower-is-better column stays lower-is-better after re-weighting
        drawn = draw_requirement({"gmsd": 1 - oriented}, rng, 0.0, codes, 1.0)
        assert drawn[0] == 0.0 and np.all(np.diff(drawn[1:6]) > 0)


def test_prompt_features_are_cached_by_prompt_hash():
    scorer = random_scorer()
    images = noisy_series(4)
    prompt = Prompt(tuple(images[:3]), np.array([3.0, 2.0, 1.0]))
    first = scorer.score_images([images[3]], prompt)
    again = scorer.score_images([images[3]], Prompt(tuple(i.copy() for i in images[:3]), np.array([3.0, 2.0, 1.0])))
    assert scorer.cache_misses == 1 and scorer.cache_hits == 1
    np.testing.assert_allclose(first, again)
    scorer.score_images([images[3]], Prompt(tuple(images[:3]), np.array([1.0, 2.0, 3.0])))
    assert scorer.cache_misses == 2


def test_batch_scores_equal_single_scores_and_stay_in_the_prompt_range():
    scorer = random_scorer()
    images = noisy_series(5)
    prompt = Prompt(tuple(images[:3]), np.array([10.0, 40.0, 70.0]))
    batch = scorer.score_images(images, prompt)
    single = np.array([scorer.score_images([image], prompt)[0] for image in images])
    np.testing.assert_allclose(batch, single, rtol=1e-5, atol=1e-4)
    assert np.all((batch >= 10.0) & (batch <= 70.0))


def test_photo_bootstrap_resamples_whole_photos():
    from backend.iqa.promptiqa.evaluate import correlations, photo_bootstrap

    truth = np.arange(12.0)
    predicted = np.concatenate([truth[:6], truth[6:][::-1]])  # photo a ranked right, photo b reversed
    photos = np.array(["a"] * 6 + ["b"] * 6)
    samples = photo_bootstrap(predicted, truth, photos, rounds=400, seed=3)
    whole = correlations(predicted, truth)[0]
    assert set(np.round(samples, 6)) == {1.0, -1.0, round(whole, 6)}  # aa, bb, or both photos
    assert np.array_equal(samples, photo_bootstrap(predicted, truth, photos, rounds=400, seed=3))
    single = photo_bootstrap(predicted[:6], truth[:6], photos[:6], rounds=20)
    assert np.allclose(single, 1.0)  # one photo: every resample is that photo
