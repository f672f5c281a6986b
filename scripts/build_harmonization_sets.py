"""Build deterministic harmonization train and validation sets (iHarmony4 layout) from Debian photos.

    python scripts/build_harmonization_sets.py --out data/harmonization [--train 800] [--val 110]
        [--retouch-fraction 0.31] [--sources plasma,mate,opencv,lomiri,gcompris --balance-sources] [--unseen 120]

Writes ``OUT/train`` and ``OUT/val``, each with ``composite/``, ``mask/`` and ``real/`` holding PNGs of the
same names, plus ``manifest.json`` (source photo, transfer, jitter and seed of every sample) and ``build.json``
(the command that rebuilds the set, which ``harmonization train`` copies into its card). Photos come
from ``backend.data.photos`` (train split for ``train``; validation + test splits for ``val``, so that no
validation photo is seen in training); each sample takes a random crop (50-100 % of the side) of a photo
scaled to ``--side`` pixels on its long side, then ``backend.harmonization.synth`` makes the composite from
an offline-segmenter region (or, for ``--stamp-fraction`` of samples, a pasted Tux Paint cut-out); for
``--retouch-fraction`` of samples the change is a synthetic retouch swap instead of a donor transfer (0 by
default, the donor-only recipe the shipped ``srh-tiny`` was trained and validated on; 0.31 is iHarmony4's
test share of HAdobe5k + Hday2night).
``--sources`` picks the photo packages (default ``plasma,mate,opencv``, the shipped network's data; new
sources are opt-in so every recorded command rebuilds its set), ``--balance-sources`` draws a source
uniformly before each photo, and ``--unseen N`` also writes ``OUT/unseen``: N composites of the unseen
evaluation source ``gcompris-unseen``, which no training or checkpoint choice may read. The manifest records
each sample's photo ``source`` and, for pasted cut-outs, ``foreground_source: tuxpaint``.
Same arguments -> same files. Prints the apt command when the photo packages are missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def random_crop(photo: np.ndarray, rng: np.random.Generator, low: float = 0.5) -> np.ndarray:
    height, width = photo.shape[:2]
    scale = rng.uniform(low, 1.0)
    h, w = max(64, int(height * scale)), max(64, int(width * scale))
    top, left = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
    return photo[top:top + h, left:left + w]


def build_split(photos, count: int, out: Path, seed: int, side: int, stamp_fraction: float, stamps,
                retouch_fraction: float = 0.0, command: str = "", balance_sources: bool = False) -> None:
    from tqdm import tqdm

    from backend.data.photos import draw_photo, load_photo, source_of
    from backend.harmonization import synth
    from backend.images import load_image_and_alpha_mask, save_png
    from backend.segmentation.regions import RegionSegmenter

    segmenter = RegionSegmenter()
    pixels = {p.key: load_photo(p.path, max_side=side) for p in photos}
    keys = sorted(pixels)
    manifest = {}
    rng = np.random.default_rng(seed)
    for folder in ("composite", "mask", "real"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    done = 0
    with tqdm(total=count, desc=f"building {out.name}", unit="img") as bar:
        while done < count:
            sample_seed = int(rng.integers(2**31))
            local = np.random.default_rng(sample_seed)
            key = draw_photo(keys, local, balance_sources)
            photo = random_crop(pixels[key], local)
            others = [pixels[k][::4, ::4] for k in keys if k != key]
            others = [others[i] for i in local.choice(len(others), size=min(3, len(others)), replace=False)]
            if stamps and local.uniform() < stamp_fraction:
                stamp_rgb, alpha = load_image_and_alpha_mask(stamps[int(local.integers(len(stamps)))])
                if alpha is None or alpha.sum() < 64:
                    continue
                sample = synth.stamp_sample(photo, stamp_rgb, alpha, others, sample_seed, retouch_fraction)
                sample.info["foreground_source"] = "tuxpaint"
            else:
                sample = synth.region_sample(photo, list(segmenter.segment(photo).masks), others, sample_seed,
                                             retouch_fraction)
                if sample is None:
                    continue
            name = f"{done:05d}.png"
            save_png(sample.composite, out / "composite" / name)
            save_png(sample.mask, out / "mask" / name)
            save_png(sample.real, out / "real" / name)
            manifest[name] = {"photo": key, "seed": sample_seed, **sample.info, "source": source_of(key)}
            done += 1
            bar.update(1)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, default=float))
    sources = [info["source"] for info in manifest.values()]
    (out / "build.json").write_text(json.dumps({
        "command": command, "images": count, "retouch_fraction": retouch_fraction,
        "balance_sources": balance_sources, "composites_per_source": {s: sources.count(s) for s in sorted(set(sources))},
        "photos_per_source": {s: len({i["photo"] for i in manifest.values() if i["source"] == s})
                              for s in sorted(set(sources))}}, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="data/harmonization", help="output folder (train/ and val/ inside)")
    parser.add_argument("--train", type=int, default=800, help="number of training composites")
    parser.add_argument("--val", type=int, default=110, help="number of validation composites")
    parser.add_argument("--side", type=int, default=320, help="long side of the photos before cropping")
    parser.add_argument("--stamp-fraction", type=float, default=0.1, help="fraction of pasted cut-out samples")
    parser.add_argument("--retouch-fraction", type=float, default=0.0,
                        help="fraction of synthetic retouch swaps (0 = donor transfers only, the shipped network's "
                             "data; iHarmony4's test set has 31 %% HAdobe5k + Hday2night)")
    parser.add_argument("--sources", default="plasma,mate,opencv",
                        help="photo sources, comma-separated (default: the shipped network's data; also lomiri, gcompris, lxqt)")
    parser.add_argument("--balance-sources", action="store_true",
                        help="draw a source uniformly for each composite, then one of its photos")
    parser.add_argument("--unseen", type=int, default=0,
                        help="also write OUT/unseen: composites of the unseen evaluation source gcompris-unseen")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    from backend.data.photos import APT_COMMAND, list_photos, unseen_photos
    from backend.errors import InputError
    from backend.harmonization.synth import list_stamps

    sources = tuple(s for s in args.sources.split(",") if s)
    try:
        train = list_photos("train", sources=sources)
        held_out = list_photos("validation", sources=sources) + list_photos("test", sources=sources)
        unseen = unseen_photos() if args.unseen else []
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not train or not held_out:
        print(f"error: too few photos installed; run `apt-get update && {APT_COMMAND}`", file=sys.stderr)
        return 2
    stamps = list_stamps()
    if not stamps:
        print("note: tuxpaint-stamps-default is not installed; using segmenter regions only "
              "(apt-get install tuxpaint-stamps-default adds cut-out objects)", file=sys.stderr)
    out = Path(args.out)
    command = "python scripts/build_harmonization_sets.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.train:
        build_split(train, args.train, out / "train", args.seed, args.side, args.stamp_fraction, stamps,
                    args.retouch_fraction, command, args.balance_sources)
    if args.val:
        build_split(held_out, args.val, out / "val", args.seed + 1, args.side, args.stamp_fraction, stamps,
                    args.retouch_fraction, command, args.balance_sources)
    if args.unseen:
        build_split(unseen, args.unseen, out / "unseen", args.seed + 2, args.side, args.stamp_fraction, stamps,
                    args.retouch_fraction, command)
    print(f"wrote {args.train} training, {args.val} validation and {args.unseen} unseen-source composites under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
