"""ImageNet-pretrained MobileNetV2 features obtained from a package registry (context for PromptIQA's encoder).

Hub downloads fail on the development machines, but the npm package ``nsfwjs`` (4.4.0, MIT) carries a Keras
MobileNetV2 in TensorFlow.js layers format with uint8-quantised weights. Its topology marks the layers up to
``block_10`` as not trainable: they kept their ImageNet weights when the package's authors fine-tuned the
top for their five classes. :func:`load_trunk` fetches the package with ``npm pack`` into a cache folder,
reads it with Node.js, dequantises the weights (``min + scale * q``) and loads them into torchvision's
``mobilenet_v2`` (Keras pads stride-2 convolutions by (0, 1) and uses BatchNorm epsilon 1e-3; both kept).
The conversion checks itself: the package's own head must call scikit-image's photos "Neutral".
:func:`pooled_features` gives the per-channel mean and standard deviation of chosen blocks' activations.

Used by ``benchmarks/promptiqa_bounds.py --features mobilenet|both``; not part of the app.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import numpy as np

PACKAGE = "nsfwjs@4.4.0"
CACHE = Path(__file__).resolve().parent.parent / "data" / "pretrained" / "nsfwjs"
MODEL_DIR = "package/dist/models/mobilenet_v2"
CLASSES = ("Drawing", "Hentai", "Neutral", "Porn", "Sexy")
FROZEN_BLOCKS = 11  # torchvision features[0..11] = Keras Conv1 .. block_10, the ImageNet-frozen layers


def _fetch(cache: Path) -> tuple[dict, np.ndarray]:
    model_file = cache / "model.json"
    weights_file = cache / "weights.bin"
    if not (model_file.exists() and weights_file.exists()):
        cache.mkdir(parents=True, exist_ok=True)
        tarball = subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=cache, check=True, capture_output=True,
                                 text=True).stdout.strip().splitlines()[-1]
        subprocess.run(["tar", "xzf", tarball, MODEL_DIR], cwd=cache, check=True)
        script = ("const fs = require('fs'); const dir = process.argv[1];"
                  "fs.writeFileSync(process.argv[2], JSON.stringify(require(dir + '/model.min.js')));"
                  "fs.writeFileSync(process.argv[3], require(dir + '/group1-shard1of1.min.js'));")
        shard = cache / "shard.b64"
        subprocess.run(["node", "-e", script, str((cache / MODEL_DIR).resolve()), str(model_file), str(shard)],
                       check=True)
        weights_file.write_bytes(base64.b64decode(shard.read_text()))
        shard.unlink()
    return json.loads(model_file.read_text()), np.frombuffer(weights_file.read_bytes(), dtype=np.uint8)


def _dequantised(model: dict, raw: np.ndarray) -> dict[str, np.ndarray]:
    weights, offset = {}, 0
    for entry in model["weightsManifest"][0]["weights"]:
        count = int(np.prod(entry["shape"]))
        quantisation = entry["quantization"]
        values = raw[offset:offset + count].astype(np.float32) * quantisation["scale"] + quantisation["min"]
        weights[entry["name"]] = values.reshape(entry["shape"])
        offset += count
    if offset != raw.size:
        raise ValueError(f"the weights file holds {raw.size} values, the manifest names {offset}")
    return weights


def load_trunk(cache: Path = CACHE):
    """torchvision MobileNetV2 ``features`` with the package's weights (eval mode), and its 5-class head."""
    import torch
    import torchvision
    from torch import nn

    weights = _dequantised(*_fetch(cache))

    def tensor(name, order):
        return torch.from_numpy(np.ascontiguousarray(weights[name].transpose(order)))

    def conv(module, name, depthwise=False):  # Keras HWIO (depthwise HWC1) -> torch OIHW
        module.weight.data = tensor(name + ("/depthwise_kernel" if depthwise else "/kernel"),
                                    (2, 3, 0, 1) if depthwise else (3, 2, 0, 1))

    def batch_norm(module, name):
        for attribute, key in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                               ("running_var", "moving_variance")):
            getattr(module, attribute).data = torch.from_numpy(weights[f"{name}/{key}"].copy())
        module.eps = 1e-3

    features = torchvision.models.mobilenet_v2(weights=None).features.eval()
    conv(features[0][0], "Conv1")
    batch_norm(features[0][1], "bn_Conv1")
    first = features[1].conv
    conv(first[0][0], "expanded_conv_depthwise", depthwise=True)
    batch_norm(first[0][1], "expanded_conv_depthwise_BN")
    conv(first[1], "expanded_conv_project")
    batch_norm(first[2], "expanded_conv_project_BN")
    for block in range(1, 17):
        layers, prefix = features[block + 1].conv, f"block_{block}_"
        conv(layers[0][0], prefix + "expand")
        batch_norm(layers[0][1], prefix + "expand_BN")
        conv(layers[1][0], prefix + "depthwise", depthwise=True)
        batch_norm(layers[1][1], prefix + "depthwise_BN")
        conv(layers[2], prefix + "project")
        batch_norm(layers[3], prefix + "project_BN")
    conv(features[18][0], "Conv_1")
    batch_norm(features[18][1], "Conv_1_bn")
    for module in list(features.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Conv2d) and child.stride == (2, 2):
                child.padding = (0, 0)
                setattr(module, name, nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), child))
    head = {k: torch.from_numpy(v.copy()) for k, v in weights.items() if k.startswith("dense_")}
    _check(features, head)
    return features, head


def _inputs(images):
    """RGB uint8 images -> (B, 3, H, W) float tensor in [-1, 1], Keras MobileNetV2 preprocessing."""
    import torch

    batch = np.stack(images).astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(batch).permute(0, 3, 1, 2)


def _check(features, head) -> None:
    """The package's head on the converted trunk must call ordinary photos "Neutral"."""
    import cv2
    import torch

    from backend.data.photos import skimage_photos

    photos = skimage_photos(max_side=512)
    images = [cv2.resize(photos[name], (224, 224), interpolation=cv2.INTER_AREA) for name in ("astronaut", "coffee")]
    with torch.no_grad():
        x = features(_inputs(images)).mean(dim=(2, 3))
        x = torch.relu(x @ head["dense_1/kernel"] + head["dense_1/bias"])
        x = torch.relu(x @ head["dense_2/kernel"] + head["dense_2/bias"])
        labels = [CLASSES[i] for i in (x @ head["dense_3/kernel"] + head["dense_3/bias"]).argmax(dim=1).tolist()]
    if labels != ["Neutral", "Neutral"]:
        raise ValueError(f"the converted MobileNetV2 calls scikit-image photos {labels}; the conversion is wrong")


def pooled_features(images: np.ndarray, layers=(1, 3, 6, 10, 13), batch: int = 64, trunk=None) -> np.ndarray:
    """Per-channel mean and standard deviation of the outputs of ``features[i]`` for ``i`` in ``layers``
    (RGB uint8 images at their own size; 464 values for the default layers)."""
    import torch

    features = (trunk or load_trunk())[0]
    rows = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x, parts = _inputs(list(images[start:start + batch])), []
            for index, layer in enumerate(features[:max(layers) + 1]):
                x = layer(x)
                if index in layers:
                    parts += [x.mean(dim=(2, 3)), x.std(dim=(2, 3))]
            rows.append(torch.cat(parts, dim=1).numpy())
    return np.concatenate(rows)
