"""The authors' checkpoint (paper 004, ViT-B/8 MoNet encoder) from the Hugging Face hub, names mapped.

Source: the model repository ``Zevin2023/PromptIQA`` holds ``best_model.pth.tar`` (the file name of the
public code's ``prompt_iqa_conf.yml`` / ``run_promptIQA.py``), a torch pickle whose ``state_dict`` was
saved from ``DistributedDataParallel`` (every key starts with ``module.``). No commit of that repository
could be verified from this machine (no hub access), so the revision is the branch ``main``; set
``HARMONYLAB_PROMPTIQA_CHECKPOINT`` (a setting, ``backend.settings``) to a local copy of the file to use it
offline. :func:`checkpoint_path` finds the file through :func:`backend.weights.hub_file` (local copy, hub
cache, or a download when the hub answers). The pickle is read with
``torch.load(weights_only=True)``: tensors and plain containers only, never arbitrary objects.

Name mapping (public code attribute -> ours; :func:`map_public_state_dict`):

=====================  ==================================  =====================================
public                 ours                                part (Sec. 3.2)
=====================  ==================================  =====================================
``vit.``               ``visual.backbone.``                ViT-B/8 (timm names inside unchanged)
``MALs.{i}.``          ``visual.views.{i}.``               MoNet multi-view attention modules
``fusion_mal.``        ``visual.fusion.``                  MoNet fusion MAL
``block.``             ``visual.block.``                   MoNet ViT block
``cnn.``               ``visual.head.``                    MoNet CNN to 128-d
``i_p_fusion.``        ``prompt_encoder.``                 prompt encoder (3 blocks)
``mlp.``               ``prompt_projection.``              prompt encoder FC
``prompt_fusion.``     ``ispp_fusion.``                    ISPP fusion (3 blocks)
``blocks.``            ``image_prompt_fusion.``            image-prompt fusion (8 blocks)
``norm.``              ``fusion_norm.``                    its LayerNorm
``score_block.``       ``regression.``                     regression 128 -> 64 -> 1
=====================  ==================================  =====================================

Inside a MAL: ``attention_module.{j}.qConv|kConv|vConv|gamma`` -> ``view_attention.{j}.query|key|value|
gamma``; ``feature_attention.c_q|c_k|c_v`` -> ``pixel_attention.query|key|value``;
``channel_attention.c_q|c_k|c_v`` -> ``channel_attention.query|key|value``.
"""

from __future__ import annotations

from pathlib import Path

from backend import weights
from backend.errors import ModelUnavailableError
from backend.weights import HubWeights

CHECKPOINT_FILE = "best_model.pth.tar"
LOCAL_ENV = "HARMONYLAB_PROMPTIQA_CHECKPOINT"
AUTHORS = HubWeights("Zevin2023/PromptIQA", "main", "about 1.3 GB (ViT-B/8 + MoNet, fp32)", (CHECKPOINT_FILE,),
                     LOCAL_ENV)

TOP_LEVEL = {
    "vit": "visual.backbone", "MALs": "visual.views", "fusion_mal": "visual.fusion", "block": "visual.block",
    "cnn": "visual.head", "i_p_fusion": "prompt_encoder", "mlp": "prompt_projection",
    "prompt_fusion": "ispp_fusion", "blocks": "image_prompt_fusion", "norm": "fusion_norm",
    "score_block": "regression",
}
INSIDE_MAL = {
    "attention_module": "view_attention", "feature_attention": "pixel_attention",
    "channel_attention": "channel_attention", "qConv": "query", "kConv": "key", "vConv": "value",
    "c_q": "query", "c_k": "key", "c_v": "value", "gamma": "gamma",
}


def map_public_name(name: str) -> str:
    """One public-code parameter name -> ours (``module.`` prefix dropped)."""
    if name.startswith("module."):
        name = name[len("module."):]
    head, _, rest = name.partition(".")
    if head not in TOP_LEVEL:
        raise KeyError(f"unexpected parameter {name!r} in the PromptIQA checkpoint")
    parts = rest.split(".")
    if head in ("MALs", "fusion_mal"):
        parts = [INSIDE_MAL.get(part, part) for part in parts]
    return ".".join([TOP_LEVEL[head], *parts])


def map_public_state_dict(state: dict) -> dict:
    """The public checkpoint's ``state_dict`` renamed for ``PromptIQANet`` with the ``VITB8`` encoder."""
    return {map_public_name(name): value for name, value in state.items()}


def checkpoint_path() -> Path:
    """The authors' checkpoint: ``HARMONYLAB_PROMPTIQA_CHECKPOINT``, else the pinned hub file (cache or download)."""
    return weights.hub_file(AUTHORS, CHECKPOINT_FILE, what="PromptIQA's ViT-B/8 checkpoint")


def load_public_checkpoint(path: str | Path, visual=None):
    """Build the ViT-B/8 network (or the ``visual`` ``MoNetConfig``) and load a public-code checkpoint into it
    (strict)."""
    import torch

    from backend.iqa.promptiqa.model import PromptIQAConfig, PromptIQANet
    from backend.iqa.promptiqa.monet import VITB8

    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:
        raise ModelUnavailableError(f"'{Path(path).name}' is not a readable PromptIQA checkpoint ({error}).") from error
    state = payload.get("state_dict", payload) if isinstance(payload, dict) else None
    if not isinstance(state, dict):
        raise ModelUnavailableError(f"'{Path(path).name}' holds no state_dict; give the authors' best_model.pth.tar.")
    network = PromptIQANet(PromptIQAConfig(visual=visual or VITB8))
    try:
        network.load_state_dict(map_public_state_dict(state), strict=True)
    except (KeyError, RuntimeError) as error:
        raise ModelUnavailableError(f"'{Path(path).name}' does not match the PromptIQA layout ({error}).") from error
    return network.eval()
