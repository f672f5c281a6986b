"""The authors' checkpoint layout (public PromptIQA code) maps onto our network (paper 004, ViT + MoNet path).

The state dict is built here with the *public* parameter names, written out from the public code's module
layout (``vit``, ``MALs``, ``fusion_mal``, ``block``, ``cnn``, ``i_p_fusion``, ``mlp``, ``prompt_fusion``,
``blocks``, ``norm``, ``score_block``; DDP's ``module.`` prefix), for a tiny ViT; random values.
"""

from __future__ import annotations

from functools import partial

import pytest
import torch

from backend.errors import ModelUnavailableError
from backend.iqa.promptiqa.hub import load_public_checkpoint, map_public_state_dict
from backend.iqa.promptiqa.model import PromptIQAConfig, PromptIQANet
from backend.iqa.promptiqa.monet import MoNetConfig

TINY = MoNetConfig(img_size=64, patch_size=8, embed_dim=32, depth=4, num_heads=2, taps=(0, 1, 2, 3), views=3,
                   cnn_kernels=(3, 1, 1), cnn_pools=(2, 1, 3))


def _block_names(prefix: str, dim: int, qkv_bias: bool) -> dict[str, tuple]:
    shapes = {"norm1.weight": (dim,), "norm1.bias": (dim,), "attn.qkv.weight": (3 * dim, dim),
              "attn.proj.weight": (dim, dim), "attn.proj.bias": (dim,), "norm2.weight": (dim,), "norm2.bias": (dim,),
              "mlp.fc1.weight": (4 * dim, dim), "mlp.fc1.bias": (4 * dim,), "mlp.fc2.weight": (dim, 4 * dim),
              "mlp.fc2.bias": (dim,)}
    if qkv_bias:
        shapes["attn.qkv.bias"] = (3 * dim,)
    return {f"{prefix}.{k}": v for k, v in shapes.items()}


def _mal_names(prefix: str, channels: int, views: int, grid: int) -> dict[str, tuple]:
    names = {}
    for j in range(views):
        p = f"{prefix}.attention_module.{j}"
        names.update({f"{p}.qConv.weight": (channels // 8, channels, 1, 1), f"{p}.qConv.bias": (channels // 8,),
                      f"{p}.kConv.weight": (channels // 8, channels, 1, 1), f"{p}.kConv.bias": (channels // 8,),
                      f"{p}.vConv.weight": (channels, channels, 1, 1), f"{p}.vConv.bias": (channels,),
                      f"{p}.gamma": (1,)})
    for attention, d in (("feature_attention", grid * grid * views), ("channel_attention", channels * views)):
        for part in ("c_q", "c_k", "c_v"):
            names.update({f"{prefix}.{attention}.{part}.weight": (d, d), f"{prefix}.{attention}.{part}.bias": (d,)})
    return names


def public_layout(config=TINY) -> dict[str, tuple]:
    from timm.models.vision_transformer import VisionTransformer

    dim, grid = config.embed_dim, config.img_size // config.patch_size
    vit = VisionTransformer(img_size=config.img_size, patch_size=config.patch_size, embed_dim=dim,
                            depth=config.depth, num_heads=config.num_heads, num_classes=0,
                            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))
    names = {f"vit.{k}": tuple(v.shape) for k, v in vit.state_dict().items() if not k.startswith("norm.")}
    for i in range(config.views):
        names.update(_mal_names(f"MALs.{i}", dim, len(config.taps), grid))
    names.update(_mal_names("fusion_mal", dim, config.views, grid))
    names.update(_block_names("block", dim, qkv_bias=False))
    k1, k2, k3 = config.cnn_kernels
    for index, (cin, cout, k) in zip((0, 4, 8), ((dim, 256, k1), (256, 128, k2), (128, 128, k3)), strict=False):
        names.update({f"cnn.{index}.weight": (cout, cin, k, k), f"cnn.{index}.bias": (cout,)})
        bn = index + 1
        names.update({f"cnn.{bn}.weight": (cout,), f"cnn.{bn}.bias": (cout,), f"cnn.{bn}.running_mean": (cout,),
                      f"cnn.{bn}.running_var": (cout,), f"cnn.{bn}.num_batches_tracked": ()})
    for k in range(3):
        names.update(_block_names(f"i_p_fusion.{k}", 128, qkv_bias=False))
        names.update(_block_names(f"prompt_fusion.{k}", 128, qkv_bias=False))
    for k in range(8):
        names.update(_block_names(f"blocks.{k}", 128, qkv_bias=True))
    names.update({"mlp.0.weight": (64, 128), "mlp.0.bias": (64,), "mlp.2.weight": (128, 64), "mlp.2.bias": (128,),
                  "norm.weight": (128,), "norm.bias": (128,), "score_block.0.weight": (64, 128),
                  "score_block.0.bias": (64,), "score_block.3.weight": (1, 64), "score_block.3.bias": (1,)})
    return names


def random_public_state(config=TINY, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in public_layout(config).items():
        if name.endswith("num_batches_tracked"):
            state[f"module.{name}"] = torch.tensor(7)
        elif name.endswith("running_var"):
            state[f"module.{name}"] = torch.rand(shape, generator=generator) + 0.5
        else:
            state[f"module.{name}"] = torch.randn(shape, generator=generator) * 0.05
    return state


def test_public_names_map_exactly_onto_our_network():
    state = random_public_state()
    mapped = map_public_state_dict(state)
    network = PromptIQANet(PromptIQAConfig(visual=TINY))
    ours = network.state_dict()
    assert set(mapped) == set(ours)
    assert all(mapped[k].shape == ours[k].shape for k in ours)
    network.load_state_dict(mapped, strict=True)
    assert torch.equal(network.prompt_projection[0].weight, state["module.mlp.0.weight"])
    assert torch.equal(network.visual.views[1].pixel_attention.key.bias, state["module.MALs.1.feature_attention.c_k.bias"])
    assert torch.equal(network.image_prompt_fusion[7].attn.qkv.bias, state["module.blocks.7.attn.qkv.bias"])


def test_checkpoint_file_loads_and_scores(tmp_path):
    path = tmp_path / "best_model.pth.tar"
    torch.save({"state_dict": random_public_state(), "epoch": 3}, path)
    network = load_public_checkpoint(path, TINY)
    with torch.no_grad():
        out = network(torch.rand(2, 3, 64, 64), torch.rand(4, 3, 64, 64), torch.rand(4))
    assert out.shape == (2,) and torch.isfinite(out).all()


def test_a_checkpoint_of_another_layout_is_refused(tmp_path):
    path = tmp_path / "other.pth.tar"
    state = random_public_state()
    state["module.extra.weight"] = torch.zeros(1)
    torch.save({"state_dict": state}, path)
    with pytest.raises(ModelUnavailableError, match="does not match|unexpected"):
        load_public_checkpoint(path, TINY)


def test_offline_hub_model_reports_what_to_download():
    from backend import registry, settings

    settings.use(settings.parse({"HF_HUB_OFFLINE": "1"}))
    try:
        status = registry.status("promptiqa-vitb8")
        assert status.state == "needs download" and "Zevin2023/PromptIQA" in status.detail
        registry.clear_cache()
        with pytest.raises(ModelUnavailableError, match="HARMONYLAB_PROMPTIQA_CHECKPOINT"):
            registry.create("promptiqa-vitb8")
    finally:
        settings.load()


def test_the_checkpoint_setting_names_a_local_copy(tmp_path):
    from backend import settings
    from backend.iqa.promptiqa.hub import checkpoint_path

    path = tmp_path / "best_model.pth.tar"
    torch.save({"state_dict": random_public_state()}, path)
    try:
        settings.use(settings.parse({"HARMONYLAB_PROMPTIQA_CHECKPOINT": str(path), "HF_HUB_OFFLINE": "1"}))
        assert checkpoint_path() == path
        settings.use(settings.parse({"HARMONYLAB_PROMPTIQA_CHECKPOINT": str(tmp_path / "absent.pth.tar")}))
        with pytest.raises(ModelUnavailableError, match="HARMONYLAB_PROMPTIQA_CHECKPOINT"):
            checkpoint_path()
    finally:
        settings.load()
