"""Evaluation of a PromptIQA scorer on held-out photos and requirements (paper 004 Sec. 4.3-4.4, Tables 3-5).

Targets are the ``test`` photos of the built set (or the ``validation`` photos, to choose an encoder or
settings without touching the test photos); only view 0 of every photo (the whole photo, ``data``) is
used, so the numbers do not depend on how many views the set was built with. Prompts are drawn from the
``train`` photos labelled by
the requirement under test (Sec. 4.1 C: "for testing, the ISPs are sampled from the training set"), with
the user-facing normalisation (each prompt on its own min-max range). Reported per requirement:

* SRCC and PLCC (linear Pearson, so the sign is kept) for n = 3, 5, 7, 10 ISPs, interval sampling
  (deterministic) and random sampling (mean and standard deviation over ``random_rounds`` draws), Fig. 3
  and Table 4;
* the inverted prompt (normalised scores 1 - s, Table 5): the correlation must flip sign;
* controls (Table 5): random scores (prompt images kept, scores uniform on [0, 1]), random images (noise
  images with the real scores), and no prompt at all (the image token alone through the fusion blocks).

Requirements held out of training (the card lists them) are the test of following a new requirement;
training requirements are reported too, on held-out photos.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from backend.iqa.promptiqa.requirements import raw_labels

PROMPT_SIZES = (3, 5, 7, 10)


def correlations(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    if np.ptp(predicted) == 0:
        return float("nan"), float("nan")
    return float(stats.spearmanr(predicted, truth).statistic), float(stats.pearsonr(predicted, truth).statistic)


def _normalise(values: np.ndarray) -> np.ndarray:
    return (values - values.min()) / (values.max() - values.min())


def evaluation_rows(table: pd.DataFrame, targets: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """(prompt rows, target rows): view 0 of the ``train`` photos and of the ``targets`` photos."""
    whole = table["view"].to_numpy() == 0 if "view" in table else np.ones(len(table), bool)
    train_rows = np.flatnonzero((table["split"].to_numpy() == "train") & whole)
    return train_rows, np.flatnonzero((table["split"].to_numpy() == targets) & whole)


def noise_images(shape: tuple[int, ...], count: int, seed: int = 0) -> list[np.ndarray]:
    """The "random images" control's prompt images: uniform RGB noise."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(count)]


def evaluate(scorer, images: np.ndarray, table: pd.DataFrame, requirements, held_out=(), sizes=PROMPT_SIZES,
             random_rounds: int = 5, seed: int = 0, progress=None, targets: str = "test") -> pd.DataFrame:
    """One row per (requirement, n, prompt kind) with SRCC / PLCC on the ``targets`` photos (view 0)."""
    train_rows, test_rows = evaluation_rows(table, targets)
    features = (scorer.image_features(list(images[train_rows])), scorer.image_features(list(images[test_rows])),
                scorer.image_features(noise_images(images.shape[1:], max(sizes), seed)))
    return evaluate_features(scorer, features, table, requirements, held_out, sizes, random_rounds, seed, progress,
                             targets)


def evaluate_features(scorer, features, table: pd.DataFrame, requirements, held_out=(), sizes=PROMPT_SIZES,
                      random_rounds: int = 5, seed: int = 0, progress=None, targets: str = "test",
                      controls: bool = True) -> pd.DataFrame:
    """:func:`evaluate` on encoded images: ``features`` = (prompt rows', target rows', noise images') V(I),
    rows as :func:`evaluation_rows` gives them (training encodes its cached statistics once per check).
    ``controls=False`` skips the random-score, random-image and no-prompt controls (noise features unused)."""
    from backend.iqa.promptiqa.prompts import sample_indices

    torch = scorer._torch
    train_rows, test_rows = evaluation_rows(table, targets)
    train_features, test_features, noise_features = features
    rows = []

    def record(requirement, n, kind, predicted, truth, round_index=0):
        srcc, plcc = correlations(predicted, truth)
        rows.append({"requirement": requirement, "held_out": requirement in held_out, "n": n, "prompt": kind,
                     "round": round_index, "srcc": srcc, "plcc": plcc})

    for index, requirement in enumerate(requirements):
        if progress:
            progress(index / len(requirements), requirement)
        labels = raw_labels(table, requirement)
        prompt_labels, truth = labels[train_rows], labels[test_rows]
        for n in sizes:
            chosen = sample_indices(prompt_labels, n, "interval")
            scores = _normalise(prompt_labels[chosen])
            requirement_tokens = scorer.requirement_from(train_features[chosen], scores)
            record(requirement, n, "interval", scorer.fuse(test_features, requirement_tokens), truth)
            inverted = scorer.requirement_from(train_features[chosen], 1 - scores)
            record(requirement, n, "inverted", scorer.fuse(test_features, inverted), truth)
            for r in range(random_rounds):
                chosen_r = sample_indices(prompt_labels, n, "random", np.random.default_rng(seed + 1000 * n + r))
                scores_r = _normalise(prompt_labels[chosen_r])
                tokens = scorer.requirement_from(train_features[chosen_r], scores_r)
                record(requirement, n, "random", scorer.fuse(test_features, tokens), truth, r)
        if not controls:
            continue
        n = max(sizes)
        chosen = sample_indices(prompt_labels, n, "interval")
        scores = _normalise(prompt_labels[chosen])
        for r in range(random_rounds):
            local = np.random.default_rng(seed + 7 + r)
            tokens = scorer.requirement_from(train_features[chosen], local.random(n))
            record(requirement, n, "random scores", scorer.fuse(test_features, tokens), truth, r)
        tokens = scorer.requirement_from(noise_features[:n], scores)
        record(requirement, n, "random images", scorer.fuse(test_features, tokens), truth)
        record(requirement, 0, "no prompt", scorer.fuse(test_features, torch.zeros((1, 0, 128))), truth)
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean (and std over random rounds) of SRCC / PLCC per requirement, n and prompt kind."""
    grouped = results.groupby(["requirement", "held_out", "n", "prompt"], sort=False)
    table = grouped.agg(srcc=("srcc", "mean"), srcc_std=("srcc", "std"), plcc=("plcc", "mean"),
                        plcc_std=("plcc", "std"), rounds=("round", "count")).reset_index()
    return table.fillna({"srcc_std": 0.0, "plcc_std": 0.0})


def headline(summary: pd.DataFrame, n: int = 10) -> dict:
    """The numbers the card and the benchmark lead with: held-out requirements, n ISPs, interval prompts."""
    held = summary[summary["held_out"] & (summary["n"] == n)]
    pick = lambda kind: held[held["prompt"] == kind]  # noqa: E731
    out = {"n": n, "held_out_srcc_interval": float(pick("interval")["srcc"].mean()),
           "held_out_plcc_interval": float(pick("interval")["plcc"].mean()),
           "held_out_srcc_random": float(pick("random")["srcc"].mean()),
           "held_out_srcc_inverted": float(pick("inverted")["srcc"].mean()),
           "held_out_srcc_random_scores": float(pick("random scores")["srcc"].mean()),
           "held_out_srcc_random_images": float(pick("random images")["srcc"].mean())}
    out["per_requirement"] = {r: {k: float(v) for k, v in g.set_index("prompt")["srcc"].items()}
                              for r, g in held.groupby("requirement")}
    return out
