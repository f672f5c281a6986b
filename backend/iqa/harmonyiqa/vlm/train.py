"""Two-stage training of the HarmonyIQA VLM (paper 000 Sec. III-B "double-stage training", Sec. IV-A).

* Stage 1 ("generate text in the desired format, along with a roughly accurate quality score"):
  cross-entropy on the tokens of the answer sentence ``"The harmonization quality score is X.Y."``
  (teacher forcing, prompt tokens masked out); trained: the LoRA adapters on the vision encoder and the
  LLM, and the projector.
* Stage 2 ("refine ... a more accurate quality score"): MSE between the score decoder's output on the
  hidden state of the token just before the score and the normalised MOS ``m`` in [0, 1]
  (:mod:`backend.iqa.harmonyiqa.vlm.model`). The paper does not say whether the adapters keep training
  in stage 2; by default (``stage2_tune="all"``) the decoder (at ``stage2_learning_rate``), the adapters
  and the projector (still at the stage-1 ``learning_rate``) all train, since the stage is described as
  refining HarmonyIQA as a whole; ``stage2_tune="decoder"`` trains the decoder alone on the frozen
  stage-1 model.
* Validation after every epoch on the held-out split (4:1 per subset, :func:`data.split_rows`): SRCC,
  KRCC and PLCC (:func:`backend.scaling.correlation.correlations`) between the predicted and the true
  MOS, overall and per subset (NGIHA / GIHA in Tables II-III). After a stage-1 epoch the prediction is
  the number in the greedily generated answer (the text decoder's score; rows whose answer holds no
  number are left out and counted); after a stage-2 epoch it is the score decoder's output.

One example per forward pass (images of a VLM give different numbers of tokens), gradients accumulated
over ``batch_size`` examples; AdamW at a constant rate; gradient norm clipped at 1; on CUDA the float16
activations run under autocast with a gradient scaler (the trainable weights are float32). The final model
(after the last stage-2 epoch) is saved with its config and the whole history.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from backend.errors import InputError
from backend.images import load_image
from backend.iqa.harmonyiqa.vlm.data import split_rows
from backend.iqa.harmonyiqa.vlm.model import DEFAULT_BASE, DEFAULT_REVISION, HarmonyIQAVLM, LoraSettings
from backend.scaling.correlation import correlations, krcc, plcc, srcc

STAGE2_TUNING = ("all", "decoder")
LOGISTIC_MIN_ITEMS = 5  # the logistic has 4 parameters; with fewer items PLCC is linear


@dataclass
class TrainingResult:
    model: HarmonyIQAVLM
    record: dict
    out_dir: Path


def agreement(predicted, mos, subsets) -> dict:
    """SRCC/KRCC/PLCC overall and per subset (None where fewer than 3 predictions or constant values)."""

    predicted, mos = np.asarray(predicted, dtype=np.float64), np.asarray(mos, dtype=np.float64)

    def metrics(keep) -> dict:
        valid = keep & np.isfinite(predicted)
        result = {"srcc": None, "krcc": None, "plcc": None, "n": int(valid.sum())}
        x, y = predicted[valid], mos[valid]
        if valid.sum() >= LOGISTIC_MIN_ITEMS:
            values = correlations(x, y)
        elif valid.sum() >= 3:  # too few points for the 4-parameter logistic: linear PLCC
            values = {"srcc": srcc(x, y), "krcc": krcc(x, y), "plcc": plcc(x, y, logistic=False)}
        else:
            return result
        result.update({k: _finite(values[k]) for k in ("srcc", "krcc", "plcc")})
        return result

    everything = np.ones(len(mos), dtype=bool)
    subsets = pd.Series(subsets, dtype=object)
    per_subset = {str(s): metrics((subsets == s).to_numpy()) for s in sorted(subsets.dropna().unique())}
    return {"overall": metrics(everything), "subsets": per_subset}


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _load(path: str | None):
    return None if path is None else load_image(path, name=f"image '{Path(path).name}'")


def evaluate(model: HarmonyIQAVLM, rows: pd.DataFrame, stage: int) -> dict:
    """Validation of one epoch (module docstring); predictions on the MOS scale."""
    predicted = []
    for image, reference in zip(rows["image"], rows["reference"], strict=True):
        image, reference = _load(image), _load(reference) if model.mode == "fr" else None
        if stage == 1:
            normalised, _ = model.generate_normalised(image, reference)
        else:
            normalised = model.predict_normalised(image, reference)
        predicted.append(float(model.to_mos(normalised)))
    result = agreement(predicted, rows["mos"].to_numpy(), rows["subset"].to_numpy())
    result["answered"] = int(np.isfinite(predicted).sum())
    return result


def check_rows(rows: pd.DataFrame, mode: str) -> None:
    if mode == "fr":
        missing = rows["reference"].isna().to_numpy()
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise InputError(f"FR mode needs a reference photo for every row, but row {row + 1} ('{rows['image'].iloc[row]}') "
                             "has none; add a reference column or train the NR model (--mode nr).")


def train_vlm(rows: pd.DataFrame, out_dir: str | Path, mode: str = "nr", base: str = DEFAULT_BASE,
              revision: str | None = DEFAULT_REVISION, stage1_epochs: int = 2, stage2_epochs: int = 2,
              learning_rate: float = 2e-4, stage2_learning_rate: float = 1e-3, batch_size: int = 4,
              lora: LoraSettings | None = None, stage2_tune: str = "all", val_fraction: float = 0.2, seed: int = 0,
              device: str | None = None, threads: int | None = None, trust_remote_code: bool = False,
              processor_options: dict | None = None, data_source: dict | None = None, command: str = "",
              log: Callable[[str], None] = lambda text: print(text, file=sys.stderr)) -> TrainingResult:
    """Train both stages on ``rows`` (see :mod:`backend.iqa.harmonyiqa.vlm.data`), save to ``out_dir``."""
    import torch
    from tqdm import tqdm


    if stage2_tune not in STAGE2_TUNING:
        raise InputError(f"Unknown stage-2 tuning '{stage2_tune}'; use all (decoder, adapters and projector) or decoder.")
    if stage1_epochs < 0 or stage2_epochs < 1 or batch_size < 1:
        raise InputError("Give stage-1 epochs >= 0, stage-2 epochs >= 1 and a batch size >= 1.")
    check_rows(rows, mode)
    rows = split_rows(rows, val_fraction, seed)
    train_rows = rows[rows["split"] == "train"].reset_index(drop=True)
    val_rows = rows[rows["split"] == "val"].reset_index(drop=True)
    low, high = float(train_rows["mos"].min()), float(train_rows["mos"].max())
    if high <= low:
        raise InputError("Every training MOS is the same; the training split needs images of different quality.")
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = HarmonyIQAVLM(base, revision, mode, lora, device, trust_remote_code, processor_options, seed=seed)
    model.mos_range = (low, high)
    targets = model.normalise(train_rows["mos"].to_numpy())
    history: list[dict] = []
    started = time.perf_counter()

    scaler = torch.amp.GradScaler("cuda", enabled=model.autocast)  # float16 activations on CUDA

    def run_stage(stage: int, epochs: int, groups: list[dict], loss_of: Callable) -> None:
        optimiser = torch.optim.AdamW(groups, weight_decay=0.0)
        parameters = [p for group in groups for p in group["params"]]
        for epoch in range(1, epochs + 1):
            model.set_training(True)
            order = rng.permutation(len(train_rows))
            losses = []
            optimiser.zero_grad()
            bar = tqdm(order, desc=f"stage {stage} epoch {epoch}/{epochs}", unit="img", file=sys.stderr, leave=False)
            for position, index in enumerate(bar):
                row = train_rows.iloc[index]
                image, reference = _load(row["image"]), _load(row["reference"]) if mode == "fr" else None
                loss = loss_of(image, reference, float(targets[index]))
                scaler.scale(loss / batch_size).backward()
                losses.append(float(loss.detach()))
                if (position + 1) % batch_size == 0 or position == len(order) - 1:
                    scaler.unscale_(optimiser)
                    torch.nn.utils.clip_grad_norm_(parameters, 1.0)
                    scaler.step(optimiser)
                    scaler.update()
                    optimiser.zero_grad()
                bar.set_postfix(loss=f"{np.mean(losses):.4f}")
            model.set_training(False)
            validation = evaluate(model, val_rows, stage)
            entry = {"stage": stage, "epoch": epoch, "train_loss": float(np.mean(losses)),
                     "loss": "cross-entropy" if stage == 1 else "mse", "validation": validation}
            history.append(entry)
            overall = validation["overall"]
            log(f"stage {stage} epoch {epoch}: train {entry['loss']} {entry['train_loss']:.4f}; validation SRCC "
                f"{_text(overall['srcc'])} KRCC {_text(overall['krcc'])} PLCC {_text(overall['plcc'])} "
                f"(n={overall['n']})" + "".join(f"; {name} SRCC {_text(m['srcc'])}"
                                                  for name, m in validation["subsets"].items()))

    def text_loss(image, reference, target):
        return model.text_loss(model.encode(image, reference, target))

    def score_loss(image, reference, target):
        predicted = model.decode(model.encode(image, reference))
        return torch.nn.functional.mse_loss(predicted, torch.tensor([target], dtype=torch.float32, device=predicted.device))

    tuned = model.adapter_parameters() + model.projector_parameters()
    if stage1_epochs:
        run_stage(1, stage1_epochs, [{"params": tuned, "lr": learning_rate}], text_loss)
    stage2 = [{"params": model.decoder_parameters(), "lr": stage2_learning_rate}]
    if stage2_tune == "all":
        stage2.append({"params": tuned, "lr": learning_rate})
    else:
        for parameter in tuned:
            parameter.requires_grad_(False)
    run_stage(2, stage2_epochs, stage2, score_loss)
    for parameter in tuned:
        parameter.requires_grad_(True)
    seconds = time.perf_counter() - started

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows.to_csv(out / "rows.csv", index=False)
    counts = {split: int(n) for split, n in rows["split"].value_counts().items()}
    record = {
        "name": f"harmonyiqa-vlm-{mode}",
        "summary": "HarmonyIQA (paper 000 Sec. III): LoRA-tuned VLM with a 2-layer MLP score decoder, trained in two stages.",
        "data": {**(data_source or {}), "rows": counts, "rows_file": "rows.csv",
                 "subsets": {str(k): int(v) for k, v in rows["subset"].value_counts().items()},
                 "mos_range_train": [low, high]},
        "training": {"stage1_epochs": stage1_epochs, "stage2_epochs": stage2_epochs, "learning_rate": learning_rate,
                     "stage2_learning_rate": stage2_learning_rate, "batch_size": batch_size,
                     "stage2_tune": stage2_tune, "val_fraction": val_fraction, "seed": seed,
                     "device": str(model.device), "torch_threads": torch.get_num_threads(),
                     "seconds": round(seconds, 1),
                     "trainable_parameters": int(sum(p.numel() for p in tuned + model.decoder_parameters()))},
        "history": history,
        "final_validation": history[-1]["validation"],
        "command": command,
    }
    model.training_record = record
    model.save(out)
    log(f"saved HarmonyIQA VLM ({mode}) to {out} after {seconds / 60:.1f} min")
    return TrainingResult(model, record, out)


def _text(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"

