"""Training and evaluation of HarmonyIQA-lite (paper 000 issue item 3) on a ``lite.data`` index.

Regression of the MOS-like score (``lite.data.mos_from_fmse``) with the mean squared error on score/100,
AdamW and a cosine learning rate, on CPU. Optionally (``rank_weight`` > 0, used for the NR model) batches
hold whole composites and a pairwise logistic ranking loss between versions of the same composite is added.
Optionally (``attention_weight`` > 0) the attention map -- the model's own foreground estimate, used when no
mask is given -- is supervised with the true mask (binary cross-entropy) on the versions whose foreground was
changed visibly (fMSE >= ``ATTENTION_MIN_FMSE``), so that without a mask it looks where an edit is (the
history's ``train_mse`` is the whole training loss). Augmentation: horizontal flips (image, reference and mask
together) and **mask dropout** -- with probability ``mask_dropout`` the mask channel is zeroed and the
"mask given" flag cleared, so the model learns to find the foreground itself and works without a mask.

Model selection: after every epoch the validation split (photos never used for training) is scored twice,
with and without the mask; the epoch with the best mean SRCC (against the true fMSE) is kept. The test split
is not touched here; :func:`evaluate` measures it for the benchmark and the card.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backend import weights
from backend.errors import InputError
from backend.harmonization.metrics import RATIO_BUCKETS, ratio_bucket
from backend.images import load_image, load_mask
from backend.iqa.harmonyiqa.lite.data import read_index
from backend.iqa.harmonyiqa.lite.model import (
    INPUT_SIZE,
    batch_tensors,
    load_network,
    parameter_count,
    resize_mask,
    resize_rgb,
)
from backend.iqa.harmonyiqa.lite.network import LiteConfig
from backend.scaling.correlation import correlations, srcc

ATTENTION_MIN_FMSE = 10.0


@dataclass
class Arrays:
    """A split of the index resized to the network's input size (uint8 images, float masks)."""

    images: np.ndarray
    references: np.ndarray
    masks: np.ndarray
    mos: np.ndarray
    fmse: np.ndarray
    ratio: np.ndarray
    groups: np.ndarray  # the reference (ground truth) path: one group per composite
    table: pd.DataFrame


def load_arrays(table: pd.DataFrame, size: int = INPUT_SIZE, progress: bool = False) -> Arrays:
    """Decode and resize every row of ``table`` (references and masks are shared, so cached by path)."""
    from tqdm import tqdm


    if table.empty:
        raise InputError("The data split is empty; build the data with `python -m backend harmonyiqa lite-data`.")
    cache: dict[str, np.ndarray] = {}

    def cached(path: str, loader):
        if path not in cache:
            cache[path] = loader(path)
        return cache[path]

    images, references, masks = [], [], []
    for row in tqdm(table.itertuples(), total=len(table), desc="loading", unit="img", disable=not progress):
        images.append(resize_rgb(load_image(row.image), size))
        references.append(cached(row.reference, lambda p: resize_rgb(load_image(p), size)))
        masks.append(cached(row.mask, lambda p: resize_mask(load_mask(p), size)))
    return Arrays(np.stack(images), np.stack(references), np.stack(masks), table["mos"].to_numpy(np.float64),
                  table["fmse"].to_numpy(np.float64), table["foreground_ratio"].to_numpy(np.float64),
                  table["reference"].to_numpy(str), table.reset_index(drop=True))


def batches(data: Arrays, batch: int, by_group: bool, rng: np.random.Generator) -> list[np.ndarray]:
    """Row indices of one epoch's batches: random rows, or (``by_group``) whole composites, about ``batch``
    rows per batch, so that every batch holds all versions of a few scenes for the ranking loss."""
    if not by_group:
        order = rng.permutation(len(data.mos))
        return [order[start:start + batch] for start in range(0, len(order), batch)]
    groups = [np.flatnonzero(data.groups == g) for g in rng.permutation(np.unique(data.groups))]
    per_batch = max(1, round(batch / np.mean([len(g) for g in groups])))
    return [np.concatenate(groups[start:start + per_batch]) for start in range(0, len(groups), per_batch)]


def group_rank_loss(prediction, target, groups: np.ndarray, margin: float = 0.02):
    """Pairwise logistic ranking loss between versions of the same composite whose targets differ by more
    than ``margin``: the no-reference cue is *which version of this scene looks better*, which the scene-level
    MSE alone barely teaches (the scene's absolute error is not visible without the reference)."""
    import torch

    same = torch.from_numpy(groups[:, None] == groups[None, :])
    order = torch.sign(target[:, None] - target[None, :])
    valid = same & ((target[:, None] - target[None, :]).abs() > margin)
    if not valid.any():
        return prediction.sum() * 0.0
    difference = (prediction[:, None] - prediction[None, :]) * order
    return torch.nn.functional.softplus(-difference / 0.05)[valid].mean() * 0.05


def attention_loss(logits, masks: np.ndarray, changed: np.ndarray):
    """Binary cross-entropy between the attention logits (N, 1, h, w) and the true masks (N, S, S) area-pooled
    to h x w, over the rows whose foreground was changed (``changed``); 0 when there is none."""
    import torch

    if not changed.any():
        return logits.sum() * 0.0
    keep = torch.from_numpy(changed)
    target = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(masks.astype(np.float32))[:, None],
                                                     logits.shape[-2:])
    return torch.nn.functional.binary_cross_entropy_with_logits(logits[keep], target[keep])


def predict(network, data: Arrays, with_mask: bool, batch: int = 64) -> np.ndarray:
    """Scores of every row (eval mode, no gradient)."""
    import torch


    network.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(data.mos), batch):
            part = slice(start, start + batch)
            flags = np.full(len(data.mos[part]), with_mask)
            refs = data.references[part] if network.config.full_reference else None
            out.append(network(batch_tensors(data.images[part], data.masks[part], flags, refs)).double().numpy())
    return np.concatenate(out)


def correlation_table(scores: np.ndarray, data: Arrays) -> dict[str, dict]:
    """SRCC/KRCC/PLCC of higher-is-better scores against the true error, overall and per ratio bucket."""
    return bucket_correlations(scores, data.mos, data.ratio)


def bucket_correlations(scores: np.ndarray, mos: np.ndarray, ratio: np.ndarray, lower_better: bool = False
                        ) -> dict[str, dict]:
    """SRCC/KRCC/PLCC against the MOS-like true quality (``mos_from_fmse``, so SRCC/KRCC equal those against
    -fMSE; PLCC uses the 4-parameter logistic of ``backend.scaling.correlation``), overall and per
    foreground-ratio bucket (paper 002 Table 2 buckets)."""

    buckets = np.array([ratio_bucket(r) for r in ratio])
    table = {}
    for label in ["all"] + [b[0] for b in RATIO_BUCKETS]:
        keep = np.ones(len(buckets), bool) if label == "all" else buckets == label
        if keep.sum() >= 3:
            stats = correlations(np.asarray(scores)[keep], np.asarray(mos)[keep], lower_better=lower_better)
            table[label] = {k: stats[k] for k in ("srcc", "krcc", "plcc", "n")}
    return table


def train(index: str | Path, out: str | Path, full_reference: bool, epochs: int = 30, minutes: float = 15.0,
          batch: int = 32, learning_rate: float = 2e-3, weight_decay: float = 1e-4, mask_dropout: float = 0.5,
          seed: int = 0, threads: int = 1, rank_weight: float = 0.0, widths: tuple[int, ...] = LiteConfig.widths,
          hidden: int = LiteConfig.hidden, context: bool = False, cnn_head: bool = True, attention_weight: float = 0.0,
          command: str = "", log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train one lite model (NR or FR) on ``index`` and save it to ``out`` (safetensors + JSON card)."""
    import copy

    import torch
    from tqdm import tqdm

    from backend.iqa.harmonyiqa.lite.network import LiteHarmonyNet

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    table = read_index(index)
    config = LiteConfig(full_reference=full_reference, widths=tuple(widths), hidden=hidden, context=context,
                        cnn_head=cnn_head)
    train_data = load_arrays(table[table["split"] == "train"], config.input_size, progress=True)
    val_data = load_arrays(table[table["split"] == "validation"], config.input_size, progress=True)
    network = LiteHarmonyNet(config)
    optimizer = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=weight_decay)
    steps_per_epoch = len(batches(train_data, batch, rank_weight > 0, np.random.default_rng(0)))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch, eta_min=1e-5)
    history: list[dict] = []
    best: tuple[float, int, dict] | None = None
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        network.train()
        losses = []
        for rows in tqdm(batches(train_data, batch, rank_weight > 0, rng), desc=f"epoch {epoch}", unit="batch",
                         leave=False):
            images, refs, masks = train_data.images[rows], train_data.references[rows], train_data.masks[rows]
            flip = rng.uniform(size=len(rows)) < 0.5
            images = np.where(flip[:, None, None, None], images[:, :, ::-1], images)
            refs = np.where(flip[:, None, None, None], refs[:, :, ::-1], refs)
            masks = np.where(flip[:, None, None], masks[:, :, ::-1], masks)
            flags = rng.uniform(size=len(rows)) >= mask_dropout
            inputs = batch_tensors(np.ascontiguousarray(images), np.ascontiguousarray(masks), flags,
                                   np.ascontiguousarray(refs) if full_reference else None)
            target = torch.from_numpy(train_data.mos[rows].astype(np.float32)) / 100.0
            prediction, logits = network(inputs, return_attention=True)
            prediction = prediction / 100.0
            loss = torch.nn.functional.mse_loss(prediction, target)
            if rank_weight > 0:
                loss = loss + rank_weight * group_rank_loss(prediction, target, train_data.groups[rows])
            if attention_weight > 0:
                loss = loss + attention_weight * attention_loss(logits, np.ascontiguousarray(masks),
                                                                train_data.fmse[rows] >= ATTENTION_MIN_FMSE)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        with_mask = srcc(predict(network, val_data, True), -val_data.fmse)
        without_mask = srcc(predict(network, val_data, False), -val_data.fmse)
        selection = (with_mask + without_mask) / 2
        entry = {"epoch": epoch, "train_mse": float(np.mean(losses)), "val_srcc_mask": with_mask,
                 "val_srcc_no_mask": without_mask, "seconds": round(time.perf_counter() - started, 1)}
        history.append(entry)
        log(f"epoch {epoch}: train mse {entry['train_mse']:.4f}, validation SRCC {with_mask:.3f} (mask) / "
            f"{without_mask:.3f} (no mask), {entry['seconds']:.0f} s")
        if best is None or selection > best[0]:
            best = (selection, epoch, copy.deepcopy(network.state_dict()))
        if time.perf_counter() - started > minutes * 60:
            log(f"stopping after epoch {epoch}: the {minutes} minute budget is spent")
            break
    network.load_state_dict(best[2])
    network.eval()
    card = {
        "name": "harmonyiqa-lite-fr" if full_reference else "harmonyiqa-lite-nr",
        "paper": "000 (HarmonyIQA), offline lite model -- not the paper's VLM",
        "config": config.as_dict(),
        "parameters": parameter_count(network),
        "data": {"index": str(index), "train_images": int(len(train_data.mos)),
                 "validation_images": int(len(val_data.mos)),
                 "built_by": "python -m backend harmonyiqa lite-data (backend/iqa/harmonyiqa/lite/data.py)",
                 "target": "MOS-like 0-100 = lite_data.mos_from_fmse(iHarmony4 fMSE against the ground truth)"},
        "training": {"epochs_run": len(history), "selected_epoch": best[1], "batch": batch, "lr": learning_rate,
                     "weight_decay": weight_decay, "mask_dropout": mask_dropout, "rank_weight": rank_weight,
                     "attention_weight": attention_weight, "seed": seed, "threads": threads,
                     "seconds": round(time.perf_counter() - started, 1), "history": history},
        "command": command,
        "validation": {"with_mask": correlation_table(predict(network, val_data, True), val_data),
                       "without_mask": correlation_table(predict(network, val_data, False), val_data)},
    }
    weights.save(out, network, card)
    log(f"saved {out} (epoch {best[1]}, validation mean SRCC {best[0]:.3f})")
    return card


def evaluate(weights: str | Path, index: str | Path, split: str = "test", threads: int = 1) -> dict[str, Any]:
    """Correlations of saved weights with the true error on one split, with and without the mask, and speed."""
    import torch


    torch.set_num_threads(threads)
    table = read_index(index)
    data = load_arrays(table[table["split"] == split])
    network, _ = load_network(weights)
    return {"split": split, "images": int(len(data.mos)), "threads": threads,
            "with_mask": correlation_table(predict(network, data, True), data),
            "without_mask": correlation_table(predict(network, data, False), data)}
