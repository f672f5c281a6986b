"""Build a deterministic scored set of distorted real photos (backend.data, paper 001 Sec. 3.2 / 4.1).

    python scripts/build_distorted_photos.py [--out data/distorted_photos] [--max-side 384]
        [--splits train validation test] [--families gaussian_blur jpeg ...] [--limit N]

For every installed photo (``backend.data.photos``; install the packages with
``apt-get install -y plasma-workspace-wallpapers mate-backgrounds opencv-doc``) it writes the pristine
photo and each distortion family at levels 1..5 as PNGs, and ``scores.csv`` with columns
``path, reference, photo, split, distortion, level, mos, mos_std, ssim`` (MOS proxy and its spread as
documented in ``backend.data.distortions``), plus ``calibration.json`` with the median SSIM per family and
level. Same packages and options -> the same files. This script installs nothing itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def build(out: Path, max_side: int, splits: list[str], families: list[str], limit: int | None) -> Path:
    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from backend.data import distortions as dist
    from backend.data.photos import list_photos, load_photo
    from backend.images import save_png

    photos = [p for p in list_photos() if p.split in splits][: limit or None]
    rows = []
    for photo in tqdm(photos, desc="photos", unit="photo", file=sys.stderr):
        stem = photo.key.replace("/", "__").rsplit(".", 1)[0]
        pristine = load_photo(photo.path, max_side)
        reference = save_png(pristine, out / "images" / f"{stem}__pristine.png")
        rows.append([reference.relative_to(out).as_posix(), reference.relative_to(out).as_posix(), photo.key,
                     photo.split, "none", 0, 1.0])
        for family in families:
            for level in dist.LEVELS:
                image = dist.distort(pristine, family, level, dist.rng_for(photo.key, family, level))
                path = save_png(image, out / "images" / f"{stem}__{family}_{level}.png")
                rows.append([path.relative_to(out).as_posix(), reference.relative_to(out).as_posix(), photo.key,
                             photo.split, family, level, dist.fidelity(image, pristine)])
    table = pd.DataFrame(rows, columns=["path", "reference", "photo", "split", "distortion", "level", "ssim"])
    table["mos"] = dist.level_mos(table["level"].to_numpy())
    table["mos_std"] = dist.mos_std(table["mos"].to_numpy(), table["ssim"].to_numpy())
    table = table[["path", "reference", "photo", "split", "distortion", "level", "mos", "mos_std", "ssim"]]
    csv_path = out / "scores.csv"
    table.to_csv(csv_path, index=False, float_format="%.4f")
    distorted = table[table["level"] > 0]
    calibration = {
        "median_ssim": {family: {str(level): round(float(np.median(group["ssim"])), 4)
                                 for level, group in by_family.groupby("level")}
                        for family, by_family in distorted.groupby("distortion")},
        "mean_mos_std_per_level": {str(k): round(float(v), 4) for k, v in table.groupby("level")["mos_std"].mean().items()},
        "photos": len(photos), "images": len(table), "max_side": max_side, "splits": splits,
    }
    (out / "calibration.json").write_text(json.dumps(calibration, indent=2))
    return csv_path


def main(argv: list[str] | None = None) -> int:
    from backend.data.distortions import FAMILIES
    from backend.data.photos import SPLITS
    from backend.errors import HarmonyLabError

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "data" / "distorted_photos", help="output folder")
    parser.add_argument("--max-side", type=int, default=384, help="longer side of the stored images (px)")
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--limit", type=int, help="only the first N photos (quick builds)")
    args = parser.parse_args(argv)
    try:
        csv_path = build(args.out, args.max_side, args.splits, args.families, args.limit)
    except HarmonyLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(csv_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
