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
  images with the real scores), and no prompt at all (the image token alone through the fusion blocks);
* for the headline (interval prompts, n ISPs), a 95 % interval from resampling the target *photos*
  (:func:`photo_bootstrap`): every version of a drawn photo comes along, so the interval says how much the
  figure depends on which few photos are held out -- with six test photos, a lot.

Requirements held out of training (the card lists them) are the test of following a new requirement;
training requirements are reported too, on held-out photos.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from backend.iqa.promptiqa.prompts import sample_indices
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


def encode_rows(scorer, images: np.ndarray, table: pd.DataFrame, targets: str = "test", noise_count: int = 10,
                seed: int = 0) -> tuple:
    """V(I) of the prompt rows, the ``targets`` rows (:func:`evaluation_rows`) and ``noise_count`` noise images."""
    train_rows, test_rows = evaluation_rows(table, targets)
    return (scorer.image_features(list(images[train_rows])), scorer.image_features(list(images[test_rows])),
            scorer.image_features(noise_images(images.shape[1:], noise_count, seed)))


def interval_prompt(scorer, prompt_features, prompt_labels: np.ndarray, n: int):
    """The ``n`` interval-sampled prompt rows, their scores on the prompt's own [0, 1] range and the
    requirement tokens they make."""

    chosen = sample_indices(prompt_labels, n, "interval")
    scores = _normalise(prompt_labels[chosen])
    return chosen, scores, scorer.requirement_from(prompt_features[chosen], scores)


def photo_bootstrap(predicted: np.ndarray, truth: np.ndarray, photos: np.ndarray, rounds: int = 1000,
                    seed: int = 0) -> np.ndarray:
    """SRCC on ``rounds`` resamples of the photos (drawn with replacement, each with all its rows).

    The draws depend only on ``seed`` and the distinct photos, so two requirements scored on the same rows
    get the same resamples and their per-round SRCCs can be averaged.
    """
    names, codes = np.unique(np.asarray(photos).astype(str), return_inverse=True)
    members = [np.flatnonzero(codes == k) for k in range(len(names))]
    rng = np.random.default_rng(seed)
    samples = np.full(rounds, np.nan)
    for index in range(rounds):
        rows = np.concatenate([members[k] for k in rng.integers(0, len(names), len(names))])
        samples[index] = correlations(predicted[rows], truth[rows])[0]
    return samples


def interval_bootstrap(scorer, features, table: pd.DataFrame, requirements, n: int = 10, rounds: int = 1000,
                       seed: int = 0, targets: str = "test", confidence: float = 0.95) -> dict:
    """SRCC with ``n`` interval ISPs per requirement and for their mean, each as ``{srcc, low, high}``: the
    value and the percentile interval of :func:`photo_bootstrap` (``features`` as :func:`evaluate_features`
    takes them; the mean's interval averages the requirements' SRCCs within each resample)."""
    train_rows, test_rows = evaluation_rows(table, targets)
    photos = table["photo"].to_numpy()[test_rows]
    tail = 100 * (1 - confidence) / 2
    values, samples = {}, {}
    for requirement in requirements:
        labels = raw_labels(table, requirement)
        prompt_labels, truth = labels[train_rows], labels[test_rows]
        predicted = scorer.fuse(features[1], interval_prompt(scorer, features[0], prompt_labels, n)[2])
        values[requirement] = correlations(predicted, truth)[0]
        samples[requirement] = photo_bootstrap(predicted, truth, photos, rounds, seed)

    def summary(value, draws):
        low, high = np.nanpercentile(draws, (tail, 100 - tail))
        return {"srcc": round(float(value), 4), "low": round(float(low), 4), "high": round(float(high), 4)}

    out = {"n": n, "photos": int(len(np.unique(photos.astype(str)))), "rounds": rounds, "confidence": confidence,
           "per_requirement": {r: summary(values[r], samples[r]) for r in requirements}}
    out["mean"] = summary(np.mean(list(values.values())), np.mean(list(samples.values()), axis=0))
    return out


def evaluate_features(scorer, features, table: pd.DataFrame, requirements, held_out=(), sizes=PROMPT_SIZES,
                      random_rounds: int = 5, seed: int = 0, progress=None, targets: str = "test",
                      controls: bool = True) -> pd.DataFrame:
    """One row per (requirement, n, prompt kind) with SRCC / PLCC on the ``targets`` photos (view 0), from
    encoded images: ``features`` = (prompt rows', target rows', noise images') V(I), rows as
    :func:`evaluation_rows` gives them (:func:`encode_rows`; training encodes its cached statistics once per
    check).
    ``controls=False`` skips the random-score, random-image and no-prompt controls (noise features unused)."""

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
            chosen, scores, requirement_tokens = interval_prompt(scorer, train_features, prompt_labels, n)
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
