"""How well the ``features`` encoder's inputs can follow each requirement (context for PromptIQA's SRCC target).

The PromptIQA target (held-out SRCC >= 0.85 with 10 ISPs, paper 004 Table 3) asks the embedded model to
rank the held-out photos by a requirement it never trained on, from the 39 fixed no-reference statistics
of ``backend.iqa.promptiqa.features``. This script measures, on the set built by ``promptiqa build-data``
and with the evaluation's rows (``evaluate.evaluation_rows``: targets are view 0 of the validation or test
photos), three reference points per requirement:

* ``label ceiling``: the largest |SRCC| between the requirement's labels and one training requirement's
  labels on the target rows -- what a model that predicted that training requirement perfectly, and
  recognised it from the prompt, would reach;
* ``supervised``: a regressor (scikit-learn's gradient-boosted trees) fitted on the statistics of every
  training row *labelled with that very requirement* -- an oracle for a held-out requirement, since the
  prompt shows only 10 of its labels; it says how much of the requirement the statistics carry across
  photos at all;
* ``stacked prompt``: a prompt-following baseline without PromptIQA's transformer: one such regressor per
  training requirement, then a ridge fit of the 10 interval-sampled prompt scores on their predictions for
  the prompt images, applied to the targets' predictions.

``--features mobilenet`` (or ``both``: the statistics and these side by side) asks the same questions of
an ImageNet-pretrained network instead: per-channel means and standard deviations of MobileNetV2 block
outputs (``benchmarks/pretrained_mobilenet.py``, weights taken from an npm package), i.e. whether a
pretrained backbone would carry the requirements across photos better than the 39 statistics.

Run: ``python -m benchmarks.promptiqa_bounds [--data DIR] [--targets test|validation]
[--features statistics|mobilenet|both]``; writes ``benchmarks/results/promptiqa_bounds.json`` (with
``_mobilenet`` / ``_both`` appended to the name for the other inputs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import write_results  # noqa: E402


def _regressor(seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, max_leaf_nodes=15,
                                         l2_regularization=1.0, random_state=seed)


def _srcc(predicted: np.ndarray, truth: np.ndarray) -> float:
    from backend.iqa.promptiqa.evaluate import correlations

    return correlations(predicted, truth)[0]


FEATURE_CHOICES = ("statistics", "mobilenet", "both")


def regressor_inputs(data_dir: str, images: np.ndarray, features: str = "statistics") -> np.ndarray:
    """What the regressors see for every image: the encoder's statistics, MobileNetV2 pooled activations
    (cached beside the set in ``mobilenet_features.npy``, recomputed when ``images.npy`` changes), or both."""
    from backend.iqa.promptiqa.features import cached_image_values, dataset_statistics

    if features not in FEATURE_CHOICES:
        raise ValueError(f"unknown features {features!r}; use one of {FEATURE_CHOICES}")
    parts = [dataset_statistics(data_dir, images)] if features != "mobilenet" else []
    if features != "statistics":
        from benchmarks.pretrained_mobilenet import PACKAGE, pooled_features

        parts.append(cached_image_values(data_dir, images, "mobilenet_features", pooled_features,
                                         [f"MobileNetV2 of {PACKAGE}, pooled_features defaults"]))
    return np.concatenate(parts, axis=1)


def measure(data_dir: str, targets: str = "test", prompt_size: int = 10, features: str = "statistics") -> dict:
    from sklearn.linear_model import Ridge

    from backend.iqa.promptiqa.data import REQUIREMENTS, load_dataset
    from backend.iqa.promptiqa.evaluate import evaluation_rows
    from backend.iqa.promptiqa.prompts import sample_indices
    from backend.iqa.promptiqa.requirements import DEFAULT_TRAIN, raw_labels

    images, table = load_dataset(data_dir, size=None)
    statistics = regressor_inputs(data_dir, images, features)
    prompt_rows, target_rows = evaluation_rows(table, targets)
    is_train = table["split"].to_numpy() == "train"
    present = [r for r in REQUIREMENTS if r in table and table.loc[target_rows, r].notna().all()]

    models = {}
    for requirement in present:
        labels = raw_labels(table, requirement)
        fit_rows = np.flatnonzero(is_train & np.isfinite(labels))
        models[requirement] = _regressor().fit(statistics[fit_rows], labels[fit_rows])

    trained = [r for r in DEFAULT_TRAIN if r in models]
    prompt_design = np.column_stack([models[r].predict(statistics[prompt_rows]) for r in trained])
    target_design = np.column_stack([models[r].predict(statistics[target_rows]) for r in trained])
    centre, spread = prompt_design.mean(axis=0), prompt_design.std(axis=0) + 1e-9

    rows = {}
    for requirement in present:
        labels = raw_labels(table, requirement)
        truth = labels[target_rows]
        others = [r for r in trained if r != requirement]
        ceiling = max(abs(_srcc(raw_labels(table, r)[target_rows], truth)) for r in others)
        chosen = sample_indices(labels[prompt_rows], prompt_size, "interval")
        stack = Ridge(alpha=1.0).fit((prompt_design[chosen] - centre) / spread, labels[prompt_rows][chosen])
        rows[requirement] = {
            "held_out": requirement not in DEFAULT_TRAIN,
            "label_ceiling_srcc": ceiling,
            "supervised_srcc": _srcc(models[requirement].predict(statistics[target_rows]), truth),
            "stacked_prompt_srcc": _srcc(stack.predict((target_design - centre) / spread), truth),
        }
    return {"data": data_dir, "features": features, "inputs": int(statistics.shape[1]),
            "targets": targets, "target_images": int(len(target_rows)),
            "prompt_size": prompt_size, "training_requirements": trained, "requirements": rows}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/promptiqa")
    parser.add_argument("--targets", choices=("test", "validation"), default="test")
    parser.add_argument("--features", choices=FEATURE_CHOICES, default="statistics",
                        help="regressor inputs: the encoder's 39 statistics, pretrained MobileNetV2 activations, or both")
    args = parser.parse_args(argv)
    result = {targets: measure(args.data, targets, features=args.features)
              for targets in dict.fromkeys((args.targets, "validation"))}
    for targets, part in result.items():
        print(f"{targets} photos ({part['target_images']} images), {part['prompt_size']} interval ISPs for the stack; "
              f"inputs: {args.features} ({part['inputs']} values)")
        print(f"{'requirement':<12}{'held out':>9}{'ceiling':>9}{'supervised':>12}{'stacked':>9}")
        for name, row in part["requirements"].items():
            print(f"{name:<12}{'yes' if row['held_out'] else '':>9}{row['label_ceiling_srcc']:>9.3f}"
                  f"{row['supervised_srcc']:>12.3f}{row['stacked_prompt_srcc']:>9.3f}")
    write_results("promptiqa_bounds" + ("" if args.features == "statistics" else f"_{args.features}"), result)
    return result


if __name__ == "__main__":
    main()
