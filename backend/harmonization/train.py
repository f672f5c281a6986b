"""Training the semantic-routed network (paper 002 Sec. 4.2) on a data set in the iHarmony4 layout.

    python -m backend harmonization train --data data/harmonization/train --val data/harmonization/val \
        --config tiny --out assets/harmonization/srh-tiny.safetensors

Paper settings: AdamW (beta .9/.999, weight decay 1e-4), learning rate 3e-4 with cosine annealing to 1e-6,
256x256 inputs, batch 8, 200 epochs. Departures for CPU training (all options): the network sees a
``--work-size`` square (default 64; it predicts a smooth colour transform, ``network.py``) while the loss is
taken at ``--loss-size`` (default 128) after applying the upsampled transform, as at inference; the run is
bounded by ``--steps`` and ``--minutes`` (the cosine schedule ends with whichever budget ends first);
``--init`` continues from earlier weights (the card then lists every run); default learning rate 1e-3
because the run is ~100x shorter than the paper's. Loss: foreground MSE (the fMSE of the metric, on 0..1
values). Augmentation: horizontal flips and one random global colour change applied to composite and
real alike (``colour_augment``; without it the network memorised the training photos' colours). With
``--val``, the held-out foreground MSE is measured every ``select_every`` steps and the best checkpoint is
kept (so the card's validation figures are for a checkpoint chosen on that same set; the tests' separate
scikit-image set is the independent check). Similarity maps are computed once per image with the offline
segmenter (or ``--segmenter``) and cached next to the data in ``.cache/``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from backend import weights as weights_files
from backend.errors import InputError
from backend.harmonization.dataset import list_triples, read_triples
from backend.harmonization.evaluate import evaluate_harmonizer
from backend.harmonization.neural import NetworkHarmonizer, load_network, resize_square
from backend.harmonization.similarity import instance_similarity
from backend.registry import ModelCard
from backend.segmentation.models import get_segmenter


def similarity_cache(root: Path, segmenter_name: str) -> Path:
    return root / ".cache" / f"similarity-{segmenter_name}"


def load_training_tensors(root: Path, work_size: int, loss_size: int, segmenter_name: str, limit: int | None = None):
    """Stacked uint8 (composite, real), float (mask) at ``loss_size`` and float16 similarity at ``work_size``."""
    from tqdm import tqdm


    segmenter = get_segmenter(segmenter_name)
    cache = similarity_cache(root, segmenter.name)
    cache.mkdir(parents=True, exist_ok=True)
    count = len(list_triples(root)[:limit])
    comps, reals, masks, sims = [], [], [], []
    for triple in tqdm(read_triples(root, limit), total=count, desc="loading + similarity maps", unit="img", file=sys.stderr):
        cached = cache / f"{triple.name}-{work_size}.npy"
        if cached.exists():
            similarity = np.load(cached)
        else:
            routed = instance_similarity(triple.composite, triple.mask, list(segmenter.segment(triple.composite).masks))
            similarity = resize_square(routed.similarity_map, work_size).astype(np.float16)
            np.save(cached, similarity)
        comps.append((resize_square(triple.composite, loss_size) * 255).round().astype(np.uint8))
        reals.append((resize_square(triple.real, loss_size) * 255).round().astype(np.uint8))
        masks.append(resize_square(triple.mask, loss_size).astype(np.float16))
        sims.append(similarity)
    return np.stack(comps), np.stack(reals), np.stack(masks), np.stack(sims)


def batch_tensors(comps, reals, masks, sims, index, work_size, flip):
    import torch
    import torch.nn.functional as F

    comp = torch.from_numpy(comps[index]).permute(0, 3, 1, 2).float() / 255.0
    real = torch.from_numpy(reals[index]).permute(0, 3, 1, 2).float() / 255.0
    mask = torch.from_numpy(masks[index].astype(np.float32))[:, None]
    sim = torch.from_numpy(sims[index].astype(np.float32))[:, None]
    if flip is not None:
        comp[flip], real[flip], mask[flip], sim[flip] = (t[flip].flip(-1) for t in (comp, real, mask, sim))
    small_comp = F.interpolate(comp, size=(work_size, work_size), mode="area")
    small_mask = F.interpolate(mask, size=(work_size, work_size), mode="area")
    return comp, real, mask, small_comp, small_mask, sim


def colour_augment(comp, real, generator):
    """The same random global colour change (per-channel gain and offset) on composite and real image, so the
    absolute colours of a training photo cannot be memorised while the foreground/background relation stays."""
    import torch

    batch = comp.shape[0]
    gain = torch.exp(torch.empty(batch, 3, 1, 1).uniform_(-0.25, 0.25, generator=generator))
    offset = torch.empty(batch, 3, 1, 1).uniform_(-0.08, 0.08, generator=generator)
    return (comp * gain + offset).clamp(0, 1), (real * gain + offset).clamp(0, 1)


def held_out_fmse(network, tensors, work_size: int, batch: int = 16) -> float:
    """Foreground MSE (0..255 scale) on held-out tensors, for checkpoint selection."""
    import torch

    from backend.harmonization.network import apply_transform

    comps, reals, masks, sims = tensors
    network.eval()
    total = 0.0
    with torch.inference_mode():
        for start in range(0, len(comps), batch):
            index = np.arange(start, min(start + batch, len(comps)))
            comp, real, mask, small_comp, small_mask, sim = batch_tensors(comps, reals, masks, sims, index, work_size, None)
            pred = apply_transform(comp, mask, network(small_comp, small_mask, sim))
            total += float(foreground_mse(pred, real, mask)) * len(index)
    return total / len(comps) * 255.0**2


def built_by(data: Path) -> str:
    """The command that rebuilt the training set (its ``build.json``), or the builder's name for older sets."""
    build = Path(data) / "build.json"
    if build.exists():
        return json.loads(build.read_text()).get("command") or str(build)
    return "scripts/build_harmonization_sets.py (Debian photos, iHarmony4 recipe)"


def foreground_mse(pred, real, mask):
    per_image = ((pred - real) ** 2 * mask).sum(dim=(1, 2, 3)) / (3.0 * mask.sum(dim=(1, 2, 3)).clamp_min(1.0))
    return per_image.mean()


def train(data: Path, out: Path, config_name: str = "tiny", work_size: int = 64, loss_size: int = 128,
          batch: int = 8, steps: int = 3000, minutes: float = 45.0, lr: float = 1e-3, seed: int = 0,
          segmenter: str = "regions", val: Path | None = None, threads: int = 1, limit: int | None = None,
          command: str = "", init: Path | None = None, augment: bool = True, select_every: int = 100) -> dict:
    import torch

    from backend.harmonization.network import CONFIGS, SemanticRoutedHarmonizer, apply_transform

    if config_name not in CONFIGS:
        raise InputError(f"Unknown network configuration '{config_name}'; use one of {', '.join(CONFIGS)}.")
    if work_size % 4:
        raise InputError(f"--work-size must be a multiple of 4, got {work_size}.")
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    comps, reals, masks, sims = load_training_tensors(Path(data), work_size, loss_size, segmenter, limit)
    held_out = load_training_tensors(Path(val), work_size, loss_size, segmenter) if val is not None else None
    previous: dict = {}
    if init is not None:
        network, previous = load_network(init)
        network.train()
        if previous.get("config_name") not in (None, config_name):
            raise InputError(f"--init weights are a '{previous['config_name']}' network, not '{config_name}'.")
    else:
        network = SemanticRoutedHarmonizer(CONFIGS[config_name])
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=1e-4)

    def cosine_lr(fraction: float) -> float:  # lr -> 1e-6 over the run (by steps or by time, whichever ends first)
        return 1e-6 + (lr - 1e-6) * 0.5 * (1 + math.cos(math.pi * min(fraction, 1.0)))

    start, history, step, best = time.perf_counter(), [], 0, None
    running = None
    from tqdm import tqdm

    bar = tqdm(total=steps, desc="training", unit="step", file=sys.stderr)
    while step < steps and (time.perf_counter() - start) < minutes * 60:
        index = rng.choice(len(comps), size=batch, replace=False)
        flip = torch.from_numpy(rng.uniform(size=batch) < 0.5)
        comp, real, mask, _, small_mask, sim = batch_tensors(comps, reals, masks, sims, index, work_size, flip)
        if augment:
            comp, real = colour_augment(comp, real, generator)
        small_comp = torch.nn.functional.interpolate(comp, size=(work_size, work_size), mode="area")
        pred = apply_transform(comp, mask, network(small_comp, small_mask, sim))
        loss = foreground_mse(pred, real, mask)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimizer.step()
        step += 1
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(max(step / steps, (time.perf_counter() - start) / (minutes * 60)))
        value = float(loss.detach()) * 255.0**2
        running = value if running is None else 0.98 * running + 0.02 * value
        if step % 50 == 0:
            history.append({"step": step, "fmse_train_running": round(running, 2),
                            "seconds": round(time.perf_counter() - start, 1)})
        if held_out is not None and step % select_every == 0:
            value = held_out_fmse(network, held_out, work_size)
            history.append({"step": step, "fmse_val_128": round(value, 2)})
            network.train()
            if best is None or value < best[0]:
                best = (value, step, {k: v.detach().clone() for k, v in network.state_dict().items()})
        bar.set_postfix(fmse=f"{running:.1f}")
        bar.update(1)
    bar.close()
    seconds = time.perf_counter() - start
    network.eval()
    if held_out is not None:
        value = held_out_fmse(network, held_out, work_size)
        if best is not None and best[0] < value:
            network.load_state_dict(best[2])
            history.append({"selected_step": best[1], "fmse_val_128": round(best[0], 2)})
    earlier = previous.get("training", {})
    runs = earlier.get("runs") or ([{**earlier, "command": previous.get("command", "")}] if earlier else [])
    runs = runs + [{
        "steps": step, "planned_steps": steps, "minutes_budget": minutes, "batch": batch, "lr": lr, "seed": seed,
        "seconds": round(seconds, 1), "threads": threads, "command": command, "init": str(init) if init else None,
        "history": history}]
    card = {
        "name": out.stem, "paper": "002", "config_name": config_name, "config": network.config.as_dict(),
        "work_size": work_size, "loss_size": loss_size, "parameters": sum(p.numel() for p in network.parameters()),
        "data": {"train": str(data), "train_images": len(comps), "similarity_segmenter": segmenter,
                 "built_by": built_by(data)},
        "training": {"steps": sum(r["steps"] for r in runs), "seconds": round(sum(r["seconds"] for r in runs), 1),
                     "optimizer": "AdamW(0.9, 0.999), wd 1e-4, lr cosine to 1e-6 within each run", "runs": runs},
        "command": " && ".join(r["command"] for r in runs if r.get("command")),
    }
    weights_files.save(out, network, card)
    if val is not None:

        harmonizer = NetworkHarmonizer(ModelCard(out.stem, "harmonize", "trained network"), network=network,
                                       work_size=work_size, segmenter=segmenter)
        card["validation"] = {"data": str(val), "metrics": evaluate_harmonizer(harmonizer, val)["table"]}
        weights_files.save(out, network, card)
    print(json.dumps({k: card[k] for k in ("name", "parameters", "training")} | {"validation": card.get("validation")},
                     indent=1, default=float))
    return card
