"""How well the ``features`` encoder's inputs can follow each requirement (context for PromptIQA's SRCC target).

The PromptIQA target (held-out SRCC >= 0.85 with 10 ISPs; paper 004's own model reaches PLCC 0.57-0.88 on
the analogous unseen requirements of its Table 3, see ``benchmarks/promptiqa.py``) asks the embedded model to
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

``--folds K`` replaces the built split by photo-grouped cross-validation over every photo of the set
(:func:`measure_folds`): with five or six photos per side, one split's figure moves by about 0.05 with the
photos drawn, and the mean over K folds compares inputs more steadily.

Run: ``python -m benchmarks.promptiqa_bounds [--data DIR] [--targets test|validation]
[--features statistics|mobilenet|both] [--folds K]``; writes ``benchmarks/results/promptiqa_bounds.json``
(with ``_mobilenet`` / ``_both`` appended to the name for the other inputs, and ``_folds`` for
cross-validation).
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


def bounds_on_rows(table, inputs: np.ndarray, fit_mask: np.ndarray, prompt_rows: np.ndarray,
                   target_rows: np.ndarray, prompt_size: int = 10) -> dict:
    """The three reference points per requirement for one split of the photos: regressors fitted on the rows
    of ``fit_mask`` (photos whose labels may be used), prompts drawn from ``prompt_rows``, SRCC on
    ``target_rows``."""
    from sklearn.linear_model import Ridge

    from backend.iqa.promptiqa.data import REQUIREMENTS
    from backend.iqa.promptiqa.prompts import sample_indices
    from backend.iqa.promptiqa.requirements import DEFAULT_TRAIN, raw_labels

    present = [r for r in REQUIREMENTS if r in table and table.loc[target_rows, r].notna().all()]
    models = {}
    for requirement in present:
        labels = raw_labels(table, requirement)
        fit_rows = np.flatnonzero(fit_mask & np.isfinite(labels))
        models[requirement] = _regressor().fit(inputs[fit_rows], labels[fit_rows])

    trained = [r for r in DEFAULT_TRAIN if r in models]
    prompt_design = np.column_stack([models[r].predict(inputs[prompt_rows]) for r in trained])
    target_design = np.column_stack([models[r].predict(inputs[target_rows]) for r in trained])
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
            "supervised_srcc": _srcc(models[requirement].predict(inputs[target_rows]), truth),
            "stacked_prompt_srcc": _srcc(stack.predict((target_design - centre) / spread), truth),
        }
    return {"training_requirements": trained, "requirements": rows}


def measure(data_dir: str, targets: str = "test", prompt_size: int = 10, features: str = "statistics") -> dict:
    """The reference points on the built split: fitted on the training photos, measured on ``targets``."""
    from backend.iqa.promptiqa.data import load_dataset
    from backend.iqa.promptiqa.evaluate import evaluation_rows

    images, table = load_dataset(data_dir, size=None)
    inputs = regressor_inputs(data_dir, images, features)
    prompt_rows, target_rows = evaluation_rows(table, targets)
    part = bounds_on_rows(table, inputs, table["split"].to_numpy() == "train", prompt_rows, target_rows, prompt_size)
    return {"data": data_dir, "features": features, "inputs": int(inputs.shape[1]),
            "targets": targets, "target_images": int(len(target_rows)), "prompt_size": prompt_size, **part}


def measure_folds(data_dir: str, folds: int = 8, prompt_size: int = 10, features: str = "statistics") -> dict:
    """The same reference points by photo-grouped cross-validation over *every* photo of the set.

    The built split holds out only five or six photos per side, so one split's figure moves by about 0.05
    with the photos drawn (``evaluate.photo_bootstrap``). Here the photos are cut into ``folds`` groups
    (sklearn's ``GroupKFold``, every view of a photo in one group); each group in turn is the target (its
    view 0), and the regressors and prompts use only the other groups. Reported per requirement: the mean and
    standard deviation over the folds -- a steadier way to compare inputs than one split. Only training-free
    inputs (the statistics, the pretrained MobileNetV2) can be cross-validated like this; anything trained on
    the built training photos would see its targets.
    """
    from sklearn.model_selection import GroupKFold

    from backend.iqa.promptiqa.data import load_dataset

    images, table = load_dataset(data_dir, size=None)
    inputs = regressor_inputs(data_dir, images, features)
    photos = table["photo"].to_numpy()
    whole = table["view"].to_numpy() == 0
    parts = []
    for fit_index, target_index in GroupKFold(n_splits=folds).split(inputs, groups=photos):
        fit_mask = np.zeros(len(table), bool)
        fit_mask[fit_index] = True
        target_rows = np.intersect1d(target_index, np.flatnonzero(whole))
        parts.append(bounds_on_rows(table, inputs, fit_mask, np.flatnonzero(fit_mask & whole), target_rows,
                                    prompt_size)["requirements"])
    summary = {}
    for requirement in parts[0]:
        summary[requirement] = {"held_out": parts[0][requirement]["held_out"]}
        for key in ("label_ceiling_srcc", "supervised_srcc", "stacked_prompt_srcc"):
            values = np.array([part[requirement][key] for part in parts])
            summary[requirement][key] = float(values.mean())
            summary[requirement][key.replace("_srcc", "_sd")] = float(values.std(ddof=1))
    return {"data": data_dir, "features": features, "inputs": int(inputs.shape[1]), "targets": f"{folds} folds",
            "photos": int(len(np.unique(photos))), "folds": folds, "prompt_size": prompt_size, "requirements": summary}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/promptiqa")
    parser.add_argument("--targets", choices=("test", "validation"), default="test")
    parser.add_argument("--features", choices=FEATURE_CHOICES, default="statistics",
                        help="regressor inputs: the encoder's 39 statistics, pretrained MobileNetV2 activations, or both")
    parser.add_argument("--folds", type=int, default=0,
                        help="instead of the built split: photo-grouped cross-validation over every photo with this "
                             "many folds (mean and spread over the folds)")
    args = parser.parse_args(argv)
    if args.folds:
        if args.folds < 2:
            parser.error("--folds needs at least 2 folds")
        result = {"folds": measure_folds(args.data, args.folds, features=args.features)}
    else:
        result = {targets: measure(args.data, targets, features=args.features)
                  for targets in dict.fromkeys((args.targets, "validation"))}
    for part in result.values():
        spread = "_sd" if args.folds else None
        where = (f"{part['photos']} photos in {args.folds} folds" if args.folds
                 else f"{part['targets']} photos ({part['target_images']} images)")
        print(f"{where}, {part['prompt_size']} interval ISPs for the stack; inputs: {args.features} ({part['inputs']} values)")
        print(f"{'requirement':<12}{'held out':>9}{'ceiling':>14}{'supervised':>14}{'stacked':>14}")
        for name, row in part["requirements"].items():
            cells = [f"{row[key + '_srcc']:.3f}" + (f" ±{row[key + spread]:.3f}" if spread else "")
                     for key in ("label_ceiling", "supervised", "stacked_prompt")]
            print(f"{name:<12}{'yes' if row['held_out'] else '':>9}" + "".join(f"{cell:>14}" for cell in cells))
    name = "promptiqa_bounds" + ("" if args.features == "statistics" else f"_{args.features}")
    write_results(name + ("_folds" if args.folds else ""), result)
    return result


if __name__ == "__main__":
    main()
