"""Classical metric speed: images/s per metric through HarmonyLab's scoring service vs pyiqa directly.

For each metric and size (512x384, 1024x768) the project path is ``backend.scoring.score_images`` on
in-memory arrays (validation, registry, result table included) and the direct path is
``pyiqa.create_metric(name)`` called on tensors made from the same arrays. Overhead = project / direct - 1
(target: within 10 %). Run: ``python -m benchmarks.score_speed [--quick]``.
"""

from __future__ import annotations

import argparse

import torch

from backend import registry
from backend.scoring import score_images
from benchmarks.common import best_seconds_interleaved, photo_pair, write_results

METRICS = ("psnr", "ssim", "ms_ssim", "fsim", "vsi", "gmsd", "vif", "piqe", "entropy", "ih-mse", "ih-fmse")
SIZES = ((512, 384), (1024, 768))


def to_tensor(array):
    return torch.from_numpy(array.copy()).permute(2, 0, 1)[None].float() / 255.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    import numpy as np
    import pyiqa

    rows = []
    for width, height in SIZES:
        image, reference = photo_pair(width, height)
        mask = np.zeros((height, width), dtype=bool)
        mask[height // 4: height // 2, width // 4: width // 2] = True
        for name in METRICS:
            card = registry.card(name)
            refs = [reference] if card.full_reference else None
            calls = {"project": lambda: score_images([image], [name], references=refs,
                                                     mask=mask if card.needs_mask else None)}
            if card.implementation in ("pyiqa", "fast"):
                metric = pyiqa.create_metric(name, device="cpu")

                def direct_call():
                    with torch.inference_mode():
                        return metric(to_tensor(image), to_tensor(reference)) if card.full_reference else metric(to_tensor(image))

                calls["direct"] = direct_call
            best = best_seconds_interleaved(calls, repeats)
            project = best["project"]
            direct = best.get("direct", float("nan"))  # nan: not in pyiqa, the project's own metric
            overhead = project / direct - 1 if direct == direct else float("nan")
            rows.append({"metric": name, "size": f"{width}x{height}", "project_images_per_s": 1 / project,
                         "pyiqa_images_per_s": (1 / direct) if direct == direct else None,
                         "overhead": overhead if overhead == overhead else None})
            print(f"{name:>9} {width}x{height}: project {1 / project:8.2f} img/s   "
                  f"pyiqa {(1 / direct) if direct == direct else float('nan'):8.2f} img/s   "
                  f"overhead {overhead * 100 if overhead == overhead else float('nan'):+6.1f} %", flush=True)
    measured = [r["overhead"] for r in rows if r["overhead"] is not None]
    summary = {"median_overhead": float(np.median(measured)), "max_overhead": float(np.max(measured)),
               "target_max_overhead": 0.10}
    print(f"median overhead {summary['median_overhead'] * 100:+.1f} %, max {summary['max_overhead'] * 100:+.1f} %")
    write_results("score_speed", {"rows": rows, "summary": summary, "repeats": repeats})


if __name__ == "__main__":
    main()
