"""Mixed training of the embedded PromptIQA (paper 004 Sec. 3.2 F, Sec. 4.1 C) on synthetic requirements.

Every step encodes ``pool_size`` training images once and draws ``groups`` groups from them; a group is
one requirement (``requirements.draw_requirement``) with n prompt ISPs plus ``targets`` target images
among those images, scores augmented together by RS/RF (Eq. 4). Sharing the encoded images across
groups gives many requirements per step for the price of one encoder pass (CPU budget). The prompt comes from the *same requirement* as its targets (the public code takes the
other images of a one-data-set batch as the prompt; here prompts and targets are disjoint draws of the
same requirement). Prompt size n is drawn per step from 3..10 so one model serves n = 3, 5, 7, 10; the
prompt's ISPs are chosen by interval sampling or at random (half each). Images get random horizontal and
vertical flips. Loss: L1 (paper). Optimiser: AdamW, linear warm-up and cosine decay over the step or time budget, whichever runs out first (the paper's Adam at
1e-5 fine-tunes a pre-trained ViT; a CNN from scratch needs a larger rate).

With the ``features`` encoder (``model.FeatureEncoder``) the fixed statistics of every training
image are computed once (``features.statistics_of``), the standardisation is fitted on them, and each
step projects the statistics of its pool through the trainable MLP; random flips are not used there (the
statistics are flip-invariant except for the phase of JPEG's 8x8 grid, which a flip would break), and the
pool is larger since an image costs almost nothing. Training rows are the ``train`` photos, every view
(``data``); rows without a label of a training requirement are left out.

Checkpoint selection (``validate_every`` steps, and at the end): the current weights score the
*validation* photos under prompts from the training photos (``evaluate.evaluate_features``; interval and
random prompts, n = 5 and 10) and the best checkpoint is kept. By default the figure is the mean SRCC
over the *training* requirements, so the held-out requirements stay unseen by every choice made in
training (``select_on="held_out_requirements"`` is there for experiments; the card says which was used).
Both figures are recorded at every check.

Batch norm sees every image of a step in one encoder pass. The trained weights go to
``model.safetensors`` (the network's ``PromptIQAConfig`` in its metadata) with the card ``model.json``
beside it (config, data, command, training time, then the evaluation of ``evaluate`` on held-out photos
and requirements), both by :mod:`backend.weights`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from backend import weights
from backend.data.photos import DEFAULT_SOURCES
from backend.errors import InputError
from backend.iqa.promptiqa.data import REQUIREMENTS, VIEW_METRICS, load_dataset
from backend.iqa.promptiqa.evaluate import evaluate_features, evaluation_rows
from backend.iqa.promptiqa.features import dataset_statistics
from backend.iqa.promptiqa.prompts import sample_indices
from backend.iqa.promptiqa.requirements import (
    DEFAULT_HELD_OUT,
    DEFAULT_TRAIN,
    augment,
    draw_requirement,
    family_codes,
    training_columns,
)
from backend.iqa.promptiqa.scorer import PromptIQAScorer
from backend.iqa.promptiqa.weights import WEIGHTS_FILE, load_embedded

if TYPE_CHECKING:  # the model module imports torch and timm: only inside the calls at run time
    from backend.iqa.promptiqa.model import CompactConfig, FeaturesConfig


def to_tensor(images: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float().div_(255.0)


def learning_rate_at(progress: float, peak: float, warmup: float = 0.03) -> float:
    """Linear warm-up then cosine decay to 2% of ``peak``; progress in [0, 1] (steps or time budget)."""
    if progress < warmup:
        return peak * (0.1 + 0.9 * progress / warmup)
    fraction = min(1.0, (progress - warmup) / (1 - warmup))
    return peak * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * fraction)))


def draw_group(labels: np.ndarray, n: int, targets: int, rng: np.random.Generator):
    """Disjoint prompt (n, interval or random sampling) and target positions among ``labels``."""

    strategy = "interval" if rng.random() < 0.5 else "random"
    prompt = sample_indices(labels, n, strategy, rng)
    rest = np.setdiff1d(np.arange(len(labels)), prompt)
    return prompt, rng.choice(rest, size=targets, replace=False)


def build_record(data_dir: str | Path) -> dict:
    """How the set in ``data_dir`` was built (its ``build.json``) and the command that rebuilds it; empty if unknown."""

    path = Path(data_dir) / "build.json"
    if not path.is_file():
        return {}
    build = json.loads(path.read_text())
    command = f"python -m backend promptiqa build-data --out {data_dir}"
    if "families_per_photo" in build:
        command += f" --families {build['families_per_photo']}"
    if "views" in build:
        command += f" --views {build['views']}"
    if build.get("view_metrics") and tuple(build["view_metrics"]) != tuple(VIEW_METRICS):
        command += f" --view-metrics {','.join(build['view_metrics'])}"
    if build.get("sources") and tuple(build["sources"]) != tuple(DEFAULT_SOURCES):
        command += f" --sources {','.join(build['sources'])}"
    if build.get("unseen"):
        command += " --unseen"
    return {**build, "command": command}


SELECTION_SIZES = (5, 10)


def validation_checker(network, images: np.ndarray, statistics, table, train_requirements, held_out,
                       seed: int = 0) -> Callable[[], dict]:
    """A function that scores the validation photos with the current weights (prompts from the training
    photos; interval and random prompts, n = 5 and 10; no controls) and returns the mean SRCC over the
    training requirements and over the held-out ones: the figures checkpoint selection reads. The features
    encoder projects the cached ``statistics``; the network goes back to training mode afterwards."""
    import torch


    prompt_rows, target_rows = evaluation_rows(table, "validation")
    if not len(target_rows):
        raise InputError("The set has no validation photos to choose checkpoints on; train without --validate-every.")
    if statistics is not None:
        sources, encode = (statistics[prompt_rows], statistics[target_rows]), network.visual.project
    else:
        sources, encode = (to_tensor(images[prompt_rows]), to_tensor(images[target_rows])), network.encode_images

    def check() -> dict:
        network.eval()
        with torch.inference_mode():
            features = (*(encode(source) for source in sources), None)
        results = evaluate_features(PromptIQAScorer(network, images.shape[1]), features, table,
                                    (*train_requirements, *held_out), held_out, sizes=SELECTION_SIZES,
                                    random_rounds=2, seed=seed, targets="validation", controls=False)
        network.train()
        kept = results[results["prompt"].isin(["interval", "random"])]
        by_group = kept.groupby("held_out")["srcc"].mean()
        return {"train_requirements": round(float(by_group.get(False, np.nan)), 4),
                "held_out_requirements": round(float(by_group.get(True, np.nan)), 4)}

    return check


def train(data_dir: str | Path, out_dir: str | Path, steps: int = 3000, groups: int = 8, targets: int = 4, pool_size: int = 40,
          learning_rate: float = 3e-4, seed: int = 0, threads: int | None = None, minutes: float | None = None,
          train_requirements=DEFAULT_TRAIN, held_out=DEFAULT_HELD_OUT, mix_rate: float = 0.3,
          rs_rate: float = 0.5, rf_rate: float = 0.1, command: str = "", init: str | Path | None = None,
          visual: CompactConfig | FeaturesConfig | None = None, weight_decay: float = 1e-4, validate_every: int = 0,
          select_on: str = "train_requirements", reweight_rate: float = 0.0, exclude_sources=(),
          log: Callable[[str], None] = lambda text: print(text, file=sys.stderr)) -> dict:
    """Train the network with the ``visual`` encoder config (default ``model.COMPACT``) and write it to
    ``out_dir`` (``model.safetensors`` + ``model.json``); ``init`` continues from earlier weights."""
    import torch
    from tqdm import tqdm

    from backend.iqa.promptiqa.model import COMPACT, FeaturesConfig, PromptIQAConfig, PromptIQANet

    unknown = [r for r in train_requirements if r not in REQUIREMENTS]
    if unknown or not train_requirements:
        raise InputError(f"Unknown training requirement(s) {', '.join(unknown) or '(none given)'}; use some of "
                         f"{', '.join(REQUIREMENTS)}.")
    held_out = tuple(r for r in held_out if r not in train_requirements)  # a trained requirement is not held out
    if select_on not in ("train_requirements", "held_out_requirements"):
        raise InputError(f"Select checkpoints on 'train_requirements' or 'held_out_requirements', not '{select_on}'.")
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    config = PromptIQAConfig(visual=visual or COMPACT)
    statistics_encoder = isinstance(config.visual, FeaturesConfig)
    images, table = load_dataset(data_dir, size=config.visual.input_size)
    exclude_sources = tuple(exclude_sources)
    if exclude_sources:  # a leave-one-source-out fold: neither training nor checkpoint choice sees these
        table = table.copy()
        table.loc[table["source"].isin(exclude_sources) & table["split"].isin(["train", "validation"]), "split"] = "held-out"
    train_rows = (table["split"] == "train").to_numpy()
    missing = [r for r in train_requirements
               if r != "level" and (r not in table or table.loc[train_rows, r].isna().all())]
    if missing:
        raise InputError(f"The set in '{data_dir}' has no training labels for {', '.join(missing)}; rebuild it "
                         "with those metrics (build-data --view-metrics) or train on other requirements.")
    train_rows = train_rows & table[list(train_requirements)].notna().all(axis=1).to_numpy()
    pool = np.flatnonzero(train_rows)
    if len(pool) < pool_size:
        raise InputError(f"Only {len(pool)} training images in '{data_dir}'; a step needs {pool_size}.")
    columns = training_columns(table, train_requirements, train_rows)
    families = family_codes(table)
    network = PromptIQANet(config)
    if init:  # continue from earlier weights (a new warm-up and cosine decay)
        network.load_state_dict(load_embedded(init)[0].state_dict())
    statistics = None
    if statistics_encoder:

        log(f"quality statistics of the {len(images)} images (cached in {data_dir})")
        statistics = dataset_statistics(data_dir, images, config.visual.nr_metrics)
        if not init:
            network.visual.fit(statistics[pool])
        statistics = torch.from_numpy(statistics)
    check = None
    if validate_every:
        check = validation_checker(network, images, statistics, table, train_requirements, held_out, seed)
    optimiser = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=weight_decay)
    started = time.perf_counter()
    history, best = [], None
    for group in optimiser.param_groups:
        group["lr"] = learning_rate_at(0.0, learning_rate)
    network.train()
    running, done = None, 0
    bar = tqdm(range(steps), desc="training", unit="step", file=sys.stderr)
    for step in bar:
        n = int(rng.integers(3, 11))
        rows = rng.choice(pool, size=pool_size, replace=False)
        if statistics_encoder:
            features = network.visual.project(statistics[torch.from_numpy(rows)])
        else:
            pixels = images[rows]
            flips = rng.random((len(rows), 2)) < 0.5
            pixels = np.stack([p[:, ::-1] if fh else p for p, fh in zip(pixels, flips[:, 0], strict=False)])
            pixels = np.stack([p[::-1] if fv else p for p, fv in zip(pixels, flips[:, 1], strict=False)])
            features = network.encode_images(to_tensor(pixels))
        prompt_index, target_index, prompt_scores, target_scores = [], [], [], []
        for _ in range(groups):
            labels = draw_requirement(columns, rng, mix_rate, families, reweight_rate)[rows]
            prompt, chosen = draw_group(labels, n, targets, rng)
            scores = augment(np.concatenate([labels[prompt], labels[chosen]]), rng, rs_rate, rf_rate)
            prompt_index.append(prompt)
            target_index.append(chosen)
            prompt_scores.append(scores[:n])
            target_scores.append(scores[n:])
        prompt_features = features[torch.from_numpy(np.stack(prompt_index))]  # groups, n, 128
        requirement = network.requirement(prompt_features, torch.tensor(np.stack(prompt_scores), dtype=torch.float32))
        image_features = features[torch.from_numpy(np.concatenate(target_index))]
        predicted = network.score(image_features, requirement.repeat_interleave(targets, dim=0))
        truth = torch.tensor(np.concatenate(target_scores), dtype=torch.float32)
        loss = torch.nn.functional.l1_loss(predicted, truth)
        done = step + 1
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 2.0)
        optimiser.step()
        progress = max(done / steps, 0.0 if minutes is None else (time.perf_counter() - started) / (60 * minutes))
        for group in optimiser.param_groups:
            group["lr"] = learning_rate_at(progress, learning_rate)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 20 == 0:
            bar.set_postfix(l1=f"{running:.4f}")
        if check is not None and (done % validate_every == 0 or progress >= 1.0):
            figures = check()
            history.append({"step": done, "train_l1": round(float(running), 4), "validation_srcc": figures})
            log(f"step {done}: validation SRCC {figures}")
            if best is None or figures[select_on] > best[0]:
                best = (figures[select_on], done, {k: v.detach().clone() for k, v in network.state_dict().items()})
        if progress >= 1.0:
            log(f"stopped after {done} steps (step or time budget reached)")
            break
    seconds = time.perf_counter() - started
    network.eval()
    selection = None
    if best is not None:
        network.load_state_dict(best[2])
        selection = {"every_steps": validate_every, "on": f"validation photos, {select_on.replace('_', ' ')}",
                     "figure": "mean SRCC, interval and random prompts, n = 5 and 10", "selected_step": best[1],
                     "selected_value": best[0], "history": history}
        log(f"kept the checkpoint of step {best[1]} (validation {select_on}: {best[0]:.4f})")
    out = Path(out_dir)
    counts = table[(table["level"] == 0) & (table["view"] == 0)].groupby("split").size().to_dict()
    encoder_text = "fixed quality statistics + trained MLP" if statistics_encoder else "compact CNN"
    card = {
        "name": "promptiqa",
        "summary": f"PromptIQA (paper 004) with a {encoder_text} visual encoder, trained here on synthetic requirements.",
        "config": config.as_dict(),
        "data": {"set": str(data_dir), "images": {k: int(v) for k, v in table.groupby("split").size().items()},
                 "training_images": int(len(pool)), "views": int(table["view"].max() + 1),
                 "photos": {k: int(v) for k, v in counts.items()},
                 "builder": "backend.iqa.promptiqa.data (photos of backend.data.photos, distortions of "
                            "backend.data.distortions, labels by the registry's pyiqa metrics)",
                 "train_requirements": list(train_requirements), "held_out_requirements": list(held_out),
                 "sources": sorted(set(table.loc[table["split"] == "train", "source"])),
                 "excluded_sources": list(exclude_sources),
                 "training_photos_per_source": {k: int(v) for k, v in table[(table["split"] == "train")
                                                                              & (table["level"] == 0)
                                                                              & (table["view"] == 0)]
                                                .groupby("source").size().items()},
                 "build": build_record(data_dir)},
        "training": {"steps": done, "planned_steps": steps, "images_per_step": pool_size, "groups": groups,
                     "targets": targets,
                     "prompt_sizes": "3..10", "learning_rate": learning_rate, "mix_rate": mix_rate,
                     "reweight_rate": reweight_rate, "rs_rate": rs_rate, "rf_rate": rf_rate, "weight_decay": weight_decay,
                     "flips": not statistics_encoder, "seed": seed, "seconds": round(seconds, 1),
                     "torch_threads": torch.get_num_threads(), "final_l1": round(float(running), 4)},
        "command": command,
        "checkpoint_selection": selection,
        "initialised_from": str(init) if init else None,
        "parameters": int(sum(p.numel() for p in network.parameters())),
    }
    weights.save(out / WEIGHTS_FILE, network, card)
    log(f"trained {done} steps in {seconds / 60:.1f} min; final L1 {running:.4f}")
    return card
