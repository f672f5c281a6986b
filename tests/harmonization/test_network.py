"""The paper 002 network: shapes at each scale, routing by the similarity map, identity at start, I/O."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backend.harmonization.network import (
    CONFIGS,
    ChannelAttention,
    NetworkConfig,
    SemanticRoutedHarmonizer,
    apply_transform,
)

SMALL = NetworkConfig(dim=8, heads=(1, 2, 4), blocks=(1, 1, 1), refinement_blocks=1)


def inputs(batch=2, height=32, width=48, seed=0):
    generator = torch.Generator().manual_seed(seed)
    comp = torch.rand(batch, 3, height, width, generator=generator)
    mask = (torch.rand(batch, 1, height, width, generator=generator) > 0.7).float()
    sim = torch.rand(batch, 1, height, width, generator=generator)
    return comp, mask, sim


def test_feature_shapes_at_each_scale():
    torch.manual_seed(0)
    network = SemanticRoutedHarmonizer(SMALL)
    features = network.features(*inputs())
    d = SMALL.dim
    expected = {"encoder1": (2, d, 32, 48), "encoder2": (2, 2 * d, 16, 24), "latent": (2, 4 * d, 8, 12),
                "decoder2": (2, 2 * d, 16, 24), "decoder1": (2, 2 * d, 32, 48), "refined": (2, 2 * d, 32, 48),
                "transform": (2, 12, 32, 48)}
    assert {k: tuple(v.shape) for k, v in features.items()} == expected
    with pytest.raises(ValueError, match="multiples of 4"):
        network.features(*inputs(height=30))


def test_untrained_network_returns_the_composite():
    network = SemanticRoutedHarmonizer(SMALL)
    comp, mask, sim = inputs()
    out = apply_transform(comp, mask, network(comp, mask, sim))
    assert torch.allclose(out, comp)


def test_decoder_keys_and_values_are_routed_by_similarity():
    torch.manual_seed(0)
    network = SemanticRoutedHarmonizer(SMALL)
    comp, mask, sim = inputs()
    routed = network.features(comp, mask, sim)
    flat = network.features(comp, mask, torch.ones_like(sim))
    assert not torch.allclose(routed["decoder1"], flat["decoder1"])
    ablated = SemanticRoutedHarmonizer(NetworkConfig(**{**SMALL.as_dict(), "use_similarity": False}))
    ablated.load_state_dict(network.state_dict())
    assert torch.allclose(ablated.features(comp, mask, sim)["decoder1"],
                          ablated.features(comp, mask, torch.ones_like(sim))["decoder1"], atol=1e-6)


def test_channel_attention_scales_keys_and_values():
    torch.manual_seed(0)
    attention = ChannelAttention(8, 2)
    x = torch.rand(1, 8, 8, 8)
    zero = attention(x, torch.zeros(1, 1, 8, 8))
    assert torch.allclose(zero, torch.zeros_like(zero), atol=1e-6), "V' = V x S with S = 0 gives no output"
    assert attention(x, torch.ones(1, 1, 8, 8)).allclose(attention(x))


def test_channel_attention_is_equations_1_2():
    """MDTA with K' = K x S, V' = V x S (paper 002 Eq. 1-2), written out here step by step: the C/h x C/h map
    softmax(q^ k'^T * temperature) over the channels of each head, applied to V', then the 1x1 projection."""
    torch.manual_seed(1)
    heads, channels, size = 2, 8, 6
    attention = ChannelAttention(channels, heads)
    with torch.no_grad():
        attention.temperature.copy_(torch.tensor([[[0.7]], [[1.9]]]))
    x = torch.rand(1, channels, size, size)
    similarity = torch.rand(1, 1, size, size)
    q, k, v = attention.qkv_dw(attention.qkv(x)).chunk(3, dim=1)
    k_routed, v_routed = k * similarity, v * similarity
    per_head = channels // heads
    outputs = []
    for head in range(heads):
        rows = slice(head * per_head, (head + 1) * per_head)
        qh = F.normalize(q[0, rows].reshape(per_head, -1), dim=-1)
        kh = F.normalize(k_routed[0, rows].reshape(per_head, -1), dim=-1)
        weights = torch.softmax(qh @ kh.T * attention.temperature[head, 0, 0], dim=-1)  # row i: query channel i
        outputs.append(weights @ v_routed[0, rows].reshape(per_head, -1))
    expected = attention.project(torch.cat(outputs).reshape(1, channels, size, size))
    torch.testing.assert_close(attention(x, similarity), expected, rtol=1e-5, atol=1e-6)


def test_decoder_blocks_are_routed_and_encoder_blocks_are_not():
    """Every ISTB of the decoder and refinement stages passes S to its attention; the STBs of the encoder
    never do (the similarity map reaches the encoder only as an input channel)."""
    torch.manual_seed(0)
    network = SemanticRoutedHarmonizer(SMALL)
    x = torch.rand(1, 2 * SMALL.dim, 16, 16)
    zeros, ones = torch.zeros(1, 1, 16, 16), torch.ones(1, 1, 16, 16)
    for stage in (network.decoder1, network.decoder2, network.refinement):
        for block in stage.blocks:
            assert block.routed
            assert not torch.allclose(block(x, zeros), block(x, ones))
            assert torch.allclose(block(x, zeros), x + block.ffn(block.norm2(x)), atol=1e-6)  # V' = 0: no attention
    encoder_input = torch.rand(1, SMALL.dim, 16, 16)
    for block in network.encoder1.blocks:
        assert not block.routed
        assert torch.allclose(block(encoder_input, zeros), block(encoder_input, ones))


def test_affine_transform_application():
    comp = torch.full((1, 3, 4, 4), 0.5)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    transform = torch.zeros(1, 12, 2, 2)
    transform[:, 9] = 0.1  # offset on red, upsampled from 2x2
    out = apply_transform(comp, mask, transform)
    assert torch.allclose(out[0, 0, :2], torch.full((2, 4), 0.6)) and torch.allclose(out[0, 0, 2:], torch.full((2, 4), 0.5))
    assert torch.allclose(out[0, 1:], comp[0, 1:])


def test_configs_and_save_load_roundtrip(tmp_path):
    from backend import weights
    from backend.harmonization.neural import load_network

    assert CONFIGS["full"].dim == 48 and CONFIGS["full"].blocks == (4, 6, 6)
    full_parameters = sum(p.numel() for p in SemanticRoutedHarmonizer(CONFIGS["full"]).parameters())
    tiny_parameters = sum(p.numel() for p in SemanticRoutedHarmonizer(CONFIGS["tiny"]).parameters())
    assert tiny_parameters < full_parameters / 10
    torch.manual_seed(1)
    network = SemanticRoutedHarmonizer(SMALL)
    torch.nn.init.normal_(network.output.weight, std=0.01)
    weights.save(tmp_path / "net.safetensors", network, {"work_size": 32})
    assert weights.read_metadata(tmp_path / "net.safetensors")["network"] == "SemanticRoutedHarmonizer"
    loaded, card = load_network(tmp_path / "net.safetensors")
    assert card["work_size"] == 32 and loaded.config == SMALL
    args = inputs()
    assert torch.allclose(loaded(*args), network(*args))


def test_missing_weights_is_a_clear_error(tmp_path):
    from backend.errors import ModelUnavailableError
    from backend.harmonization.neural import load_network

    with pytest.raises(ModelUnavailableError, match="harmonization train"):
        load_network(tmp_path / "absent.safetensors")


def test_network_harmonizer_keeps_background_and_size():
    from backend.harmonization.neural import NetworkHarmonizer
    from backend.registry import ModelCard
    from tests.conftest import sample_photo

    torch.manual_seed(2)
    network = SemanticRoutedHarmonizer(SMALL).eval()
    torch.nn.init.normal_(network.output.weight, std=0.05)
    harmonizer = NetworkHarmonizer(ModelCard("t", "harmonize", "test"), network=network, work_size=32)
    image = sample_photo("coffee")[::3, ::3].copy()
    mask = np.zeros(image.shape[:2], dtype=bool)
    mask[30:90, 50:120] = True
    result = harmonizer.harmonize(image, mask)
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert np.array_equal(result.image[~mask], image[~mask]) and not np.array_equal(result.image[mask], image[mask])
    assert result.details["similarity_map"].shape == mask.shape and (result.details["similarity_map"][mask] == 1).all()


def test_global_transform_is_one_colour_change_per_image():
    torch.manual_seed(3)
    network = SemanticRoutedHarmonizer(NetworkConfig(**{**SMALL.as_dict(), "global_transform": True}))
    torch.nn.init.normal_(network.output.weight, std=0.05)
    comp, mask, sim = inputs()
    transform = network(comp, mask, sim)
    assert transform.shape == (2, 12, 1, 1)
    flat = torch.full_like(comp, 0.4)
    out = apply_transform(flat, mask, transform)
    inside = out[0][:, mask[0, 0] > 0]
    assert torch.allclose(inside, inside[:, :1].expand_as(inside), atol=1e-6)
    assert CONFIGS["tiny"].global_transform and not CONFIGS["full"].global_transform


def test_training_writes_weights_that_load_and_continue(tmp_path):
    """A few steps on the three example triples: the weights carry their config, the card its runs, and
    ``init`` continues from them (the card then lists both runs)."""
    import shutil

    from backend import weights
    from backend.harmonization.neural import NetworkHarmonizer, load_network
    from backend.harmonization.train import train
    from backend.registry import ModelCard
    from backend.weights import ASSETS_DIR

    data = tmp_path / "examples"
    shutil.copytree(ASSETS_DIR / "examples", data)
    first = tmp_path / "srh.safetensors"
    train(data, first, config_name="tiny", work_size=32, loss_size=64, batch=2, steps=2, minutes=1, command="first")
    assert weights.read_metadata(first)["network"] == "SemanticRoutedHarmonizer"
    network, card = load_network(first)
    assert network.config == CONFIGS["tiny"] and card["work_size"] == 32 and card["command"] == "first"
    card = train(data, tmp_path / "more.safetensors", config_name="tiny", work_size=32, loss_size=64, batch=2,
                 steps=1, minutes=1, init=first, command="second")
    assert [run["command"] for run in card["training"]["runs"]] == ["first", "second"]
    harmonizer = NetworkHarmonizer(ModelCard("t", "harmonize", "test"), weights=tmp_path / "more.safetensors")
    assert harmonizer.work_size == 32
