"""Build a deterministic scored set of distorted real photos (backend.data, paper 001 Sec. 3.2 / 4.1).

    python scripts/build_distorted_photos.py [--out data/distorted_photos] [--max-side 384]
        [--splits train validation test] [--families gaussian_blur jpeg ...] [--limit N]
        [--sources plasma,mate,opencv,lomiri,gcompris,lxqt] [--unseen]

For every installed photo (``backend.data.photos``; install the packages with
``apt-get install -y plasma-workspace-wallpapers mate-backgrounds opencv-doc``, and for the opt-in sources
``lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 gcompris-qt-data lxqt-themes``) it writes the pristine
photo and each distortion family at levels 1..5 as PNGs, and ``scores.csv`` with columns
``path, reference, photo, split, distortion, level, mos, mos_std, ssim, source`` (MOS proxy and its spread as
documented in ``backend.data.distortions``; ``source`` is the photo's package, for per-source and
leave-one-source-out figures), plus ``calibration.json`` with the median SSIM per family and level.
``--sources`` picks the photo packages (default ``plasma,mate,opencv``, the data of the shipped assets);
``--unseen`` adds the photos of the unseen evaluation source ``gcompris-unseen`` with the split ``unseen``
(never trained on). Same packages and options -> the same files. This script installs nothing itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def build(out: Path, max_side: int, splits: list[str], families: list[str], limit: int | None,
          sources: tuple[str, ...] = ("plasma", "mate", "opencv"), unseen: bool = False) -> Path:
    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from backend.data import distortions as dist
    from backend.data.photos import list_photos, load_photo, unseen_photos
    from backend.images import save_png

    photos = [p for p in list_photos(sources=sources) if p.split in splits][: limit or None]
    if unseen:
        photos += unseen_photos()[: limit or None]
    rows = []
    for photo in tqdm(photos, desc="photos", unit="photo", file=sys.stderr):
        stem = photo.key.replace("/", "__").rsplit(".", 1)[0]
        pristine = load_photo(photo.path, max_side)
        reference = save_png(pristine, out / "images" / f"{stem}__pristine.png")
        rows.append([reference.relative_to(out).as_posix(), reference.relative_to(out).as_posix(), photo.key,
                     photo.split, "none", 0, 1.0, photo.source])
        for family in families:
            for level in dist.LEVELS:
                image = dist.distort(pristine, family, level, dist.rng_for(photo.key, family, level))
                path = save_png(image, out / "images" / f"{stem}__{family}_{level}.png")
                rows.append([path.relative_to(out).as_posix(), reference.relative_to(out).as_posix(), photo.key,
                             photo.split, family, level, dist.fidelity(image, pristine), photo.source])
    table = pd.DataFrame(rows, columns=["path", "reference", "photo", "split", "distortion", "level", "ssim", "source"])
    table["mos"] = dist.level_mos(table["level"].to_numpy())
    table["mos_std"] = dist.mos_std(table["mos"].to_numpy(), table["ssim"].to_numpy())
    table = table[["path", "reference", "photo", "split", "distortion", "level", "mos", "mos_std", "ssim", "source"]]
    csv_path = out / "scores.csv"
    table.to_csv(csv_path, index=False, float_format="%.4f")
    distorted = table[table["level"] > 0]
    calibration = {
        "median_ssim": {family: {str(level): round(float(np.median(group["ssim"])), 4)
                                 for level, group in by_family.groupby("level")}
                        for family, by_family in distorted.groupby("distortion")},
        "mean_mos_std_per_level": {str(k): round(float(v), 4) for k, v in table.groupby("level")["mos_std"].mean().items()},
        "photos": len(photos), "images": len(table), "max_side": max_side, "splits": splits,
        "sources": list(sources), "unseen": unseen,
        "photos_per_source": {k: int(v) for k, v in table.groupby("source")["photo"].nunique().items()},
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
    parser.add_argument("--sources", default="plasma,mate,opencv",
                        help="photo sources, comma-separated (default: the shipped assets' data; also lomiri, gcompris, lxqt)")
    parser.add_argument("--unseen", action="store_true",
                        help="add the unseen evaluation source gcompris-unseen (split 'unseen', never trained on)")
    args = parser.parse_args(argv)
    try:
        csv_path = build(args.out, args.max_side, args.splits, args.families, args.limit,
                         tuple(s for s in args.sources.split(",") if s), args.unseen)
    except HarmonyLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(csv_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
