"""Benchmark of ``backend.scaling``: large fits, batched Compare2Score MAP, active vs uniform sampling.

Run ``.venv/bin/python benchmarks/scaling.py [--quick]``. Prints the figures, writes
``benchmarks/results/scaling.json`` (not with ``--quick``) and the chart
``benchmarks/results/scaling_active.html`` (git-ignored). The full run takes about 5 minutes on 2 cores.

1. Fit 100k comparisons over 1k items (Bradley–Terry truth): ours (BT, Thurstone), choix
   ``ilsr_pairwise`` and crowd-kit ``BradleyTerry``; best-of-3 wall time from the comparison list,
   correlation with choix. Target: BT >= 5x faster than ilsr_pairwise with correlation >= 0.999.
2. 10,000 Compare2Score-sized (6 x 6) MAP problems: ``thurstone_map_batch`` vs a per-problem
   ``scipy.optimize.minimize`` loop (BFGS, analytic gradient, gtol 1e-8), answers compared.
   Target: >= 100x faster.
3. Simulated Thurstone observers (true scores ~ N(0, spread^2) on the unit-variance difference scale):
   comparisons needed until the Thurstone MAP reaches SRCC 0.95 with the truth, uniform vs active
   (EIG) sampling, several seeds. Target: active needs >= 35 % fewer comparisons.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

# One BLAS thread: on a shared 2-core machine OpenBLAS's spinning threads made a 200 x 200 Cholesky take
# 0.25 s instead of 1 ms. Applied to every contender alike (set before numpy loads); export the variables
# yourself to override.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
from scipy import optimize, special, stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.scaling import active, pairwise  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def best_time(function, repeats: int = 3):
    """Best wall time over ``repeats`` runs and the last result."""
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


# ---------------------------------------------------------------------------- 1. large fits
def simulate_bt_comparisons(n_items: int, n_comparisons: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = rng.normal(0, 1, n_items)
    first = rng.integers(0, n_items, n_comparisons)
    second = (first + rng.integers(1, n_items, n_comparisons)) % n_items
    first_wins = rng.random(n_comparisons) < special.expit(truth[first] - truth[second])
    return truth, np.where(first_wins, first, second), np.where(first_wins, second, first)


def ours(model, winners, losers, n, standard_errors):
    counts = np.zeros((n, n))
    np.add.at(counts, (winners, losers), 1.0)
    return pairwise.fit_pairwise(counts, model, standard_errors=standard_errors).scores


def bench_large_fit(n_items: int, n_comparisons: int, repeats: int) -> dict:
    import choix
    import pandas as pd
    from crowdkit.aggregation import BradleyTerry

    truth, winners, losers = simulate_bt_comparisons(n_items, n_comparisons)
    data = list(zip(winners.tolist(), losers.tolist(), strict=True))
    frame = pd.DataFrame({"worker": 0, "left": winners, "right": losers, "label": winners})
    t_choix, choix_scores = best_time(lambda: choix.ilsr_pairwise(n_items, data), repeats)
    choix_scores = choix_scores - choix_scores.mean()
    runs = {
        "ours_bt": lambda: ours("bt", winners, losers, n_items, False),
        "ours_bt_with_se": lambda: ours("bt", winners, losers, n_items, True),
        "ours_thurstone": lambda: ours("thurstone", winners, losers, n_items, False),
        # crowd-kit 1.4.2's tol test compares an aliased array and stops after two MM steps; tol < 0 runs
        # all n_iter steps (MM needs many, so this is the honest cost of a converged-ish answer).
        "crowdkit_bt_500_mm_steps": lambda: np.log(
            BradleyTerry(n_iter=500, tol=-1.0).fit_predict(frame).sort_index().to_numpy()),
        "crowdkit_bt_default_tol": lambda: np.log(
            BradleyTerry(n_iter=500).fit_predict(frame).sort_index().to_numpy()),
    }
    out = {"n_items": n_items, "n_comparisons": n_comparisons,
           "choix_ilsr_pairwise": {"seconds": t_choix, "corr_truth": float(np.corrcoef(choix_scores, truth)[0, 1])}}
    for name, run in runs.items():
        seconds, scores = best_time(run, 1 if name.startswith("crowdkit") else repeats)
        out[name] = {
            "seconds": seconds,
            "speedup_vs_choix": t_choix / seconds,
            "corr_choix": float(np.corrcoef(scores, choix_scores)[0, 1]),
            "corr_truth": float(np.corrcoef(scores, truth)[0, 1]),
        }
    out["target_met"] = bool(out["ours_bt"]["speedup_vs_choix"] >= 5 and out["ours_bt"]["corr_choix"] >= 0.999)
    return out


# ------------------------------------------------------------------------- 2. batched MAP
def compare2score_like_matrices(n_problems: int, seed: int = 0) -> np.ndarray:
    """Soft probability matrices of 5 anchors + 1 test image, as Eq. 5 builds them."""
    rng = np.random.default_rng(seed)
    anchors = np.linspace(-2, 2, 5)
    quality = np.concatenate([np.tile(anchors, (n_problems, 1)), rng.normal(0, 1.5, (n_problems, 1))], axis=1)
    gap = quality[:, :, None] - quality[:, None, :] + rng.normal(0, 0.3, (n_problems, 6, 6))
    gap = (gap - np.swapaxes(gap, 1, 2)) / 2  # antisymmetric, so P + P^T = 1
    probability = special.ndtr(gap)
    probability[:, np.arange(6), np.arange(6)] = 0.5
    return probability


def scipy_map(probability: np.ndarray) -> np.ndarray:
    """Eq. 6 for one matrix with scipy BFGS (analytic gradient), as a careful per-problem solver would."""
    off = ~np.eye(len(probability), dtype=bool)

    def negative_and_gradient(q):
        d = q[:, None] - q[None, :]
        value = -np.sum(probability[off] * special.log_ndtr(d[off])) + 0.5 * q @ q
        ratio = np.exp(-0.5 * d * d - 0.5 * np.log(2 * np.pi) - special.log_ndtr(d)) * probability * off
        return value, -(ratio.sum(axis=1) - ratio.sum(axis=0)) + q

    result = optimize.minimize(negative_and_gradient, np.zeros(len(probability)), jac=True, method="BFGS",
                               options={"gtol": 1e-8})
    return result.x - result.x.mean()


def bench_batch(n_problems: int, n_scipy: int) -> dict:
    matrices = compare2score_like_matrices(n_problems)
    t_batch, (scores, info) = best_time(lambda: pairwise.thurstone_map_batch(matrices), 3)
    start = time.perf_counter()
    reference = np.stack([scipy_map(matrix) for matrix in matrices[:n_scipy]])
    t_scipy = (time.perf_counter() - start) * n_problems / n_scipy
    speedup = t_scipy / t_batch
    return {
        "n_problems": n_problems, "n": 6,
        "batched_seconds": t_batch,
        "scipy_loop_seconds": t_scipy,
        "scipy_loop_problems_timed": n_scipy,
        "speedup": speedup,
        "max_abs_difference": float(np.max(np.abs(scores[:n_scipy] - reference))),
        "all_converged": bool(info["converged"].all()),
        "max_iterations": int(info["iterations"].max()),
        "target_met": bool(speedup >= 100),
    }


# ------------------------------------------------------------------- 3. active vs uniform
def simulate_campaign(n: int, method: str, seed: int, spread: float, budget: int, every: int, picks: int):
    """SRCC with the truth after every ``every`` comparisons; ``picks`` pairs per posterior update."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(0, spread, n)
    counts = np.zeros((n, n))
    curve, done = [], 0
    while done < budget:
        for i, j in active.select_pairs(counts, rng, picks, method):
            won = rng.random() < special.ndtr(truth[i] - truth[j])
            counts[(i, j) if won else (j, i)] += 1
            done += 1
            if done % every == 0:
                curve.append(stats.spearmanr(pairwise.thurstone_map(counts).scores, truth)[0])
    return np.array(curve)


def comparisons_to_reach(curve: np.ndarray, every: int, target: float) -> float:
    hit = np.flatnonzero(curve >= target)
    return float((hit[0] + 1) * every) if hit.size else float("nan")


def bench_active(settings: list[dict], target: float = 0.95) -> list[dict]:
    rows = []
    for setting in settings:
        n, spread, seeds, budget = setting["n"], setting["spread"], setting["seeds"], setting["budget"]
        every = max(1, n // 5)
        row = {**setting, "checkpoint_every": every, "target_srcc": target, "methods": {}}
        for method, picks in (("uniform", 1), *setting["active"]):
            start = time.perf_counter()
            curves = [simulate_campaign(n, method, seed, spread, budget, every, picks) for seed in range(seeds)]
            reached = [comparisons_to_reach(curve, every, target) for curve in curves]
            mean_curve = np.mean(curves, axis=0)
            row["methods"][f"{method}" if picks == 1 else f"{method} (x{picks} per update)"] = {
                "comparisons_per_seed": reached,
                "mean_comparisons": float(np.mean(reached)),
                "mean_curve_reaches_at": comparisons_to_reach(mean_curve, every, target),
                "curve_x": (np.arange(1, len(mean_curve) + 1) * every).tolist(),
                "curve_srcc": mean_curve.tolist(),
                "seconds": time.perf_counter() - start,
            }
            print(f"  n={n} spread={spread} {method} x{picks}: {np.mean(reached):.0f} comparisons "
                  f"(per seed {reached}), {time.perf_counter() - start:.1f} s", flush=True)
        uniform = row["methods"]["uniform"]["mean_comparisons"]
        for name, result in row["methods"].items():
            if name != "uniform":
                result["fewer_than_uniform"] = 1 - result["mean_comparisons"] / uniform
                result["target_met"] = bool(result["fewer_than_uniform"] >= 0.35)
        rows.append(row)
    return rows


def active_chart(rows: list[dict], path: Path) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=len(rows), subplot_titles=[
        f"n = {row['n']}, spread = {row['spread']}" for row in rows])
    for column, row in enumerate(rows, start=1):
        for name, result in row["methods"].items():
            figure.add_trace(go.Scatter(x=result["curve_x"], y=result["curve_srcc"], name=f"n={row['n']}: {name}",
                                        mode="lines"), row=1, col=column)
        figure.add_hline(y=row["target_srcc"], line_dash="dot", row=1, col=column)
        figure.update_xaxes(title_text="comparisons", row=1, col=column)
        figure.update_yaxes(title_text="SRCC with true scores (mean over seeds)", row=1, col=column)
    figure.update_layout(title="Active (expected information gain) vs uniform pair sampling")
    figure.write_html(path, include_plotlyjs="cdn")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller problems and fewer seeds (~1 min)")
    args = parser.parse_args(argv)
    quick = args.quick
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = {"quick": quick, "python": platform.python_version(), "machine": platform.machine(),
               "cpu_count": os.cpu_count(), "blas_threads": os.environ["OPENBLAS_NUM_THREADS"]}

    print("1. Fitting 100k comparisons over 1k items" + (" (quick: 20k over 300)" if quick else ""), flush=True)
    results["large_fit"] = bench_large_fit(300 if quick else 1000, 20_000 if quick else 100_000, 5)
    for name, value in results["large_fit"].items():
        if isinstance(value, dict):
            print(f"  {name:28s} {value['seconds']:.3f} s  " + "  ".join(
                f"{k}={v:.4f}" for k, v in value.items() if k != "seconds"))

    print("2. Batched Compare2Score MAP (6 x 6)", flush=True)
    results["batch_map"] = bench_batch(1000 if quick else 10_000, 200 if quick else 10_000)
    print("  " + json.dumps(results["batch_map"]))

    print("3. Active vs uniform sampling", flush=True)
    if quick:
        settings = [{"n": 30, "spread": 3.0, "seeds": 2, "budget": 400, "active": [("eig", 1)]}]
    else:
        settings = [
            {"n": 50, "spread": 3.0, "seeds": 5, "budget": 700, "active": [("eig", 1), ("eig-approx", 1)]},
            {"n": 50, "spread": 1.5, "seeds": 5, "budget": 900, "active": [("eig", 1)]},
            {"n": 200, "spread": 3.0, "seeds": 3, "budget": 2600, "active": [("eig", 5), ("eig-approx", 5)]},
        ]
    results["active"] = bench_active(settings)
    active_chart(results["active"], RESULTS / "scaling_active.html")

    if quick:  # quick figures are a smoke test; they never replace the committed results
        print(f"wrote {RESULTS / 'scaling_active.html'} (--quick: scaling.json left unchanged)")
        return 0
    (RESULTS / "scaling.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS / 'scaling.json'} and {RESULTS / 'scaling_active.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
