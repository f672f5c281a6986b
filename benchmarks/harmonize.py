"""Harmonization benchmark (paper 002): quality on the validation set, speed, training time.

    python benchmarks/harmonize.py [--data data/harmonization/val] [--limit N] [--repeats 3]

For every registered, ready harmonizer: the iHarmony4 table (MSE, fMSE, PSNR, fPSNR, overall and per
foreground-ratio bucket) on the validation set built by ``scripts/build_harmonization_sets.py``; the time
per image at 256x256 and 1024x768 (best of ``--repeats``, methods interleaved, segmentation cache cleared
before every call so the segmenter's time is included), also as a ratio to Reinhard's time; and the
shipped network's training time from its JSON card. Targets (from the issue): shipped network fMSE <= 0.40 x
the composite's; <= 0.3 s per 256x256 image; semantic routing <= 3 x Reinhard's time at 1024x768.
Writes ``benchmarks/results/harmonize.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RESULTS_DIR, best_seconds_interleaved, machine  # noqa: E402


def timing_inputs(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    from backend.data.photos import skimage_photos

    photo = cv2.resize(skimage_photos(max_side=1024)["astronaut"], (width, height), interpolation=cv2.INTER_AREA)
    mask = np.zeros((height, width), dtype=bool)
    mask[height // 4: height // 2, width // 3: 2 * width // 3] = True
    return photo, mask


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/harmonization/val")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from backend import registry
    from backend.harmonization.cli import format_table
    from backend.harmonization.evaluate import evaluate_harmonizer
    from backend.harmonization.models import SHIPPED_WEIGHTS
    from backend.segmentation.models import get_segmenter

    methods = [c.name for c in registry.list_models("harmonize") if registry.status(c.name).ready]
    results: dict = {"machine": machine(), "data": args.data, "methods": {}}
    for name in methods:
        report = evaluate_harmonizer(registry.create(name), args.data, args.limit)
        report.pop("per_image")
        results["methods"][name] = {"quality": report["table"], "eval_seconds_per_image": report["seconds_per_image"]}
        print(format_table(name, report["table"]))

    segmenter = get_segmenter()
    for width, height in ((256, 256), (1024, 768)):
        image, mask = timing_inputs(width, height)

        def timed(model):
            def run():
                segmenter.clear_cache()
                model.harmonize(image, mask)
            return run

        seconds = best_seconds_interleaved({n: timed(registry.create(n)) for n in methods}, repeats=args.repeats)
        for name in methods:
            results["methods"][name][f"seconds_{width}x{height}"] = seconds[name]
            results["methods"][name][f"ratio_to_reinhard_{width}x{height}"] = seconds[name] / seconds["reinhard"]

    card_path = Path(registry.ASSETS_DIR / SHIPPED_WEIGHTS).with_suffix(".json")
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    results["shipped_network"] = {"training_seconds": card.get("training", {}).get("seconds"),
                                  "training_steps": card.get("training", {}).get("steps"),
                                  "parameters": card.get("parameters")}
    composite_fmse = results["methods"]["composite"]["quality"]["all"]["fmse"]
    srh = results["methods"].get("srh-tiny", {})
    routing = results["methods"]["semantic-routing"]
    results["targets"] = {
        "srh_tiny_fmse_ratio_to_composite": srh["quality"]["all"]["fmse"] / composite_fmse if srh else None,
        "srh_tiny_fmse_target": 0.40,
        "srh_tiny_seconds_256": srh.get("seconds_256x256"),
        "seconds_256_target": 0.3,
        "routing_ratio_to_reinhard_1024x768": routing["ratio_to_reinhard_1024x768"],
        "routing_ratio_target": 3.0,
    }

    print(f"\n{'method':<18} {'fMSE':>8} {'x comp':>7} {'256x256 s':>10} {'x Reinhard':>10} {'1024x768 s':>11} {'x Reinhard':>10}")
    for name, row in results["methods"].items():
        print(f"{name:<18} {row['quality']['all']['fmse']:>8.1f} {row['quality']['all']['fmse'] / composite_fmse:>7.2f} "
              f"{row['seconds_256x256']:>10.3f} {row['ratio_to_reinhard_256x256']:>10.2f} "
              f"{row['seconds_1024x768']:>11.3f} {row['ratio_to_reinhard_1024x768']:>10.2f}")
    print(f"shipped network: {results['shipped_network']}")
    print(f"targets: {json.dumps(results['targets'], indent=1)}")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "harmonize.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
