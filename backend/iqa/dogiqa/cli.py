"""CLI of Dog-IQA (paper 003).

    python -m backend dogiqa [--scorer NAME] [--k 7] [--formula paper|public] [--readout argmax|weighted|generated]
                             [--c-max N] [--area-threshold F] [--segmenter NAME] IMAGE... [--json]
        CSV ``image,score`` (default) or, with --json, per image the global, local and segmentation
        components, the regions (area, box, level, weighted score) and the timings.
    python -m backend dogiqa-calibrate [--scorer NAME ...] [--split train] [--limit N] [--out FILE]
        reference quantiles of NR scorers and c_max of the segmenter (assets/dogiqa/calibration.json).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys


def _options(args: argparse.Namespace) -> dict:
    options = {"k": args.k, "formula": args.formula, "readout": args.readout, "c_max": args.c_max,
               "area_threshold": args.area_threshold, "segmenter": args.segmenter}
    if args.trust_remote_code:
        options["trust_remote_code"] = True
    return options


def _score(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from backend.images import load_image
    from backend.iqa.cli import expand_inputs
    from backend.iqa.dogiqa.service import analyse_arrays


    files = expand_inputs(args.images, "image")
    images = [load_image(f, name=f"image '{f.name}'") for f in files]
    bar = tqdm(total=len(files), desc="Dog-IQA", unit="img", file=sys.stderr, disable=len(files) < 2 or args.quiet)
    results = analyse_arrays(images, args.scorer, progress=lambda done, total: bar.update(done - bar.n),
                             **_options(args))
    bar.close()
    if args.json:
        payload = [{"image": str(path), "score": result.score, **result.details} for path, (result, _) in zip(files, results, strict=True)]
        print(json.dumps(payload, indent=1))
    else:
        print("image,score")
        for path, (result, _) in zip(files, results, strict=True):
            print(f"{path},{result.score:.6g}")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from backend.iqa.dogiqa.calibrate import calibrate
    from backend.iqa.dogiqa.offline import DEFAULT_SCORER


    command = "python -m backend " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    bar = tqdm(desc="reference images", unit="img", file=sys.stderr, disable=args.quiet)
    table = calibrate(args.scorer or [DEFAULT_SCORER], out=args.out, split=args.split, max_side=args.max_side,
                      limit=args.limit, segmenter_name=args.segmenter, area_threshold=args.area_threshold,
                      min_side=args.min_side, command=command, progress=lambda done: bar.update(done - bar.n))
    bar.close()
    summary = {"scorers": {name: {"values": fit["values"], "median": fit["quantiles"][50]}
                           for name, fit in table["scorers"].items()},
               "segmenters": {name: {k: v for k, v in fit.items() if k != "data"}
                              for name, fit in table["segmenters"].items()}}
    print(json.dumps(summary, indent=1))
    return 0


def add_parsers(subparsers) -> None:
    from backend.iqa.dogiqa.algorithm import DEFAULT_AREA_THRESHOLD, DEFAULT_MIN_SIDE

    score = subparsers.add_parser("dogiqa", help="Dog-IQA: standard-guided mix-grained scores (CSV image,score)")
    score.add_argument("--scorer", default=None,
                       help="a calibrated NR model (default piqe), dogiqa-vlm, or vlm:<hub id>[@revision]")
    score.add_argument("--k", type=int, default=7, choices=(3, 5, 7, 9), help="number of standard levels (Table 5)")
    score.add_argument("--formula", choices=("paper", "public"), default="paper",
                       help="(global+local)/2 + cK/c_max (paper) or local + 0.1c + 0.5 global (public code)")
    score.add_argument("--readout", choices=("argmax", "weighted", "generated"), default="argmax",
                       help="level (paper), probability-weighted score, or generated answer (VLM only)")
    score.add_argument("--c-max", type=float, help="c_max of s_seg (default: measured for the segmenter)")
    score.add_argument("--area-threshold", type=float, default=DEFAULT_AREA_THRESHOLD,
                       help="Algorithm 1's t as a fraction of the image area")
    score.add_argument("--segmenter", help="segmenter name (default: SAM 2 when its weights are present, else regions)")
    score.add_argument("--trust-remote-code", action="store_true", help="allow a hub VLM to run its own code")
    score.add_argument("--json", action="store_true", help="print components and regions per image as JSON")
    score.add_argument("--quiet", action="store_true", help="no progress bar")
    score.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    score.set_defaults(func=_score)

    calib = subparsers.add_parser("dogiqa-calibrate", help="Dog-IQA reference quantiles of NR scorers and c_max")
    calib.add_argument("--scorer", action="append", help="registry NR model (repeatable; default piqe)")
    calib.add_argument("--split", default="train", help="photo split of the reference set")
    calib.add_argument("--limit", type=int, help="at most this many photos")
    calib.add_argument("--max-side", type=int, default=1024, help="longer side of the reference images")
    calib.add_argument("--segmenter", help="segmenter name (default as for scoring)")
    calib.add_argument("--area-threshold", type=float, default=DEFAULT_AREA_THRESHOLD)
    calib.add_argument("--min-side", type=int, default=DEFAULT_MIN_SIDE)
    calib.add_argument("--out", help="calibration JSON to update (default assets/dogiqa/calibration.json)")
    calib.add_argument("--quiet", action="store_true", help="no progress bar")
    calib.set_defaults(func=_calibrate)
