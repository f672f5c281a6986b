"""CLI of PromptIQA (paper 004): ``python -m backend promptiqa {score,sample,save,load,prompts,build-data,train,eval}``.

    python -m backend promptiqa score (--prompt PROMPT.csv | --saved NAME) IMAGE... [--model promptiqa] [--json]
        PROMPT.csv has columns path,score (any numeric range; see backend.iqa.promptiqa.prompts);
        prints CSV image,score in the prompt's own scale.
    python -m backend promptiqa sample (--from SCORED.csv | --campaign NAME) [--n 10] [--strategy interval|random]
        [--seed 0] [--out PROMPT.csv]      n ISPs sampled as the tab's "sample" does; prints/writes path,score
    python -m backend promptiqa save --name NAME --prompt PROMPT.csv     store a named prompt (the tab's "save")
    python -m backend promptiqa load --name NAME [--out PROMPT.csv]      a saved prompt as path,score (stored files)
    python -m backend promptiqa prompts [--json]                          the saved prompts (the Score tab's list)
    python -m backend promptiqa build-data [--out data/promptiqa] [--families 7] [--workers 2] [--views 3] [--sources plasma,mate,opencv,lomiri]
    python -m backend promptiqa train [--data data/promptiqa] [--out assets/promptiqa/features] [--minutes 28]
        [--visual features|compact] [--lr 5e-4] [--groups 16] [--pool 128] [--targets 8] ...
        (the defaults are the shipped model's recipe; its card in assets/promptiqa/features/ has the command)
    python -m backend promptiqa eval [--data data/promptiqa] [--weights DIR] [--out results.json] [--targets validation]

A weights folder holds ``model.safetensors`` (tensors + the network's config) and its card ``model.json``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys


def _score(args: argparse.Namespace) -> int:
    from backend.iqa.cli import expand_inputs
    from backend.iqa.promptiqa.service import prompt_from_csv, score_sources
    from backend.store.prompts import load_prompt

    prompt = prompt_from_csv(args.prompt) if args.prompt else load_prompt(args.saved)
    files = expand_inputs(args.images, "image")
    table = score_sources([str(f) for f in files], prompt, args.model, names=[str(f) for f in files])
    if args.json:
        print(json.dumps({"prompt": {"pairs": len(prompt.images), "low": prompt.low, "high": prompt.high},
                          "scores": table.to_dict("records")}, indent=1))
    else:
        table.to_csv(sys.stdout, index=False, float_format="%.6g")
    return 0


def _write_table(table, out: str | None) -> None:
    """A path,score table to ``out`` (CSV) or to stdout."""
    if out:
        table.to_csv(out, index=False, float_format="%.6g")
        print(f"wrote {len(table)} pairs to {out}", file=sys.stderr)
    else:
        table.to_csv(sys.stdout, index=False, float_format="%.6g")


def _sample(args: argparse.Namespace) -> int:
    from backend.iqa.promptiqa.service import campaign_table, prompt_from_table, read_scored_csv, sample_rows

    table = read_scored_csv(args.source) if args.source else campaign_table(args.campaign)
    rows = sample_rows(table, args.n, args.strategy, args.seed)
    prompt_from_table(rows)  # the checks scoring makes: at least 2 pairs, scores not all equal, readable images
    _write_table(rows[["path", "score"]], args.out)
    return 0


def _save(args: argparse.Namespace) -> int:
    from backend.iqa.promptiqa.service import prompt_from_csv, save_prompt

    print(json.dumps(save_prompt(args.name, prompt_from_csv(args.prompt))))
    return 0


def _load(args: argparse.Namespace) -> int:
    import pandas as pd

    from backend.store.prompts import get_prompt


    saved = get_prompt(args.name)
    _write_table(pd.DataFrame({"path": [str(p) for p in saved["paths"]], "score": saved["scores"]}), args.out)
    return 0


def _list(args: argparse.Namespace) -> int:
    import pandas as pd

    from backend.iqa.promptiqa.service import list_saved_prompts


    prompts = list_saved_prompts()
    if args.json:
        print(json.dumps(prompts, indent=1, default=str))
    else:
        pd.DataFrame(prompts, columns=["name", "pairs", "low", "high", "created_at"]).to_csv(sys.stdout, index=False)
    return 0


def _build(args: argparse.Namespace) -> int:
    from backend.iqa.promptiqa.data import VIEW_METRICS, build_dataset

    metrics = tuple(args.view_metrics.split(",")) if args.view_metrics else VIEW_METRICS
    table = build_dataset(args.out, families_per_photo=args.families, workers=args.workers, views=args.views,
                          view_metrics=metrics, sources=tuple(args.sources.split(",")), unseen=args.unseen)
    print(table.groupby("split").size().to_string())
    return 0


def _train(args: argparse.Namespace) -> int:
    from backend.iqa.promptiqa.model import CompactConfig, FeaturesConfig
    from backend.iqa.promptiqa.report import evaluate_and_record
    from backend.iqa.promptiqa.train import train

    command = "python -m backend " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    nr_metrics = tuple(m for m in (args.nr_metrics or "").split(",") if m)
    visual = (FeaturesConfig(hidden=args.hidden, dropout=args.dropout, nr_metrics=nr_metrics)
              if args.visual == "features" else CompactConfig())
    card = train(args.data, args.out, steps=args.steps, minutes=args.minutes, learning_rate=args.lr,
                 seed=args.seed, threads=args.threads, command=command, init=args.init, visual=visual,
                 groups=args.groups, targets=args.targets, pool_size=args.pool, mix_rate=args.mix_rate,
                 weight_decay=args.weight_decay, validate_every=args.validate_every,
                 train_requirements=tuple(args.requirements.split(",")),
                 select_on=f"{args.select_on.replace('-', '_')}_requirements", reweight_rate=args.reweight_rate,
                 exclude_sources=tuple(s for s in (args.exclude_sources or "").split(",") if s))
    if not args.skip_eval:

        card = evaluate_and_record(args.out, args.data, rounds=args.rounds)
    print(json.dumps(card.get("results", {}).get("headline", card["training"]), indent=1))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from backend.iqa.promptiqa.report import evaluate_folder

    summary, head = evaluate_folder(args.weights, args.data, rounds=args.rounds, targets=args.targets)
    print(summary.round(4).to_string(index=False))
    print(json.dumps(head, indent=1))
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(json.dumps({"headline": head, "table": summary.to_dict("records")}, indent=1))
    return 0


def add_parsers(subparsers) -> None:
    from backend.data.photos import DEFAULT_SOURCES, SOURCES
    from backend.iqa.promptiqa.requirements import DEFAULT_TRAIN

    top = subparsers.add_parser("promptiqa", help="PromptIQA: score by an image-score prompt; build data, train, evaluate")
    actions = top.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    score = actions.add_parser("score", help="score images under a prompt CSV (path,score) or a saved prompt; "
                               "prints image,score")
    given = score.add_mutually_exclusive_group(required=True)
    given.add_argument("--prompt", help="CSV with columns path,score (any numeric range)")
    given.add_argument("--saved", metavar="NAME", help="a prompt saved in the store (see 'promptiqa prompts')")
    score.add_argument("--model", default="promptiqa", help="promptiqa (embedded) or promptiqa-vitb8 (authors')")
    score.add_argument("--json", action="store_true", help="print the prompt range and scores as JSON")
    score.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    score.set_defaults(func=_score)

    sample = actions.add_parser("sample", help="sample n ISPs (interval or random) from a scored CSV or a rating "
                                "campaign's MOS; prints path,score")
    source = sample.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", metavar="SCORED.csv", help="CSV with path,score (or image,mos)")
    source.add_argument("--campaign", help="a rating campaign (MOS after subject screening)")
    sample.add_argument("--n", type=int, default=10, help="number of image-score pairs")
    sample.add_argument("--strategy", choices=("interval", "random"), default="interval")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", help="write the prompt CSV here instead of printing it")
    sample.set_defaults(func=_sample)

    save = actions.add_parser("save", help="store a prompt CSV under a name (offered by the Score and PromptIQA tabs)")
    save.add_argument("--name", required=True)
    save.add_argument("--prompt", required=True, help="CSV with columns path,score")
    save.set_defaults(func=_save)

    load = actions.add_parser("load", help="a saved prompt as path,score (paths of the stored images)")
    load.add_argument("--name", required=True)
    load.add_argument("--out", help="write the prompt CSV here instead of printing it")
    load.set_defaults(func=_load)

    listing = actions.add_parser("prompts", help="list the saved prompts")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)

    build = actions.add_parser("build-data", help="build the synthetic-requirement training set (not committed)")
    build.add_argument("--out", default="data/promptiqa")
    build.add_argument("--families", type=int, default=7, help="distortion families per photo (all 5 levels each)")
    build.add_argument("--workers", type=int, default=2)
    build.add_argument("--views", type=int, default=1,
                       help="views per photo: 1 = the whole photo; 2-4 add closer crops (backend.iqa.promptiqa.data)")
    build.add_argument("--view-metrics", help="comma-separated metrics that label views 1.. (default: the "
                       "training metrics, VIEW_METRICS of backend.iqa.promptiqa.data; view 0 gets every metric)")
    build.add_argument("--sources", default=",".join(DEFAULT_SOURCES),
                       help=f"comma-separated photo sources of backend.data.photos (default: %(default)s; "
                       f"known: {','.join(SOURCES)})")
    build.add_argument("--unseen", action="store_true",
                       help="add the unseen evaluation source gcompris-unseen (split 'unseen'; never trained on)")
    build.set_defaults(func=_build)

    train = actions.add_parser("train", help="mixed training on synthetic requirements (RS/RF of Eq. 4)")
    train.add_argument("--data", default="data/promptiqa")
    train.add_argument("--out", default="assets/promptiqa/features")
    train.add_argument("--steps", type=int, default=3000)
    train.add_argument("--minutes", type=float, help="time budget; the schedule anneals within it")
    train.add_argument("--lr", type=float, default=5e-4,
                       help="peak rate (1e-3 stayed at a constant prediction with the features encoder; "
                       "the compact CNN needed 3e-4)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    train.add_argument("--rounds", type=int, default=5, help="random-sampling rounds of the evaluation")
    train.add_argument("--skip-eval", action="store_true")
    train.add_argument("--init", help="weights folder to continue from (new warm-up and decay)")
    train.add_argument("--visual", choices=("features", "compact"), default="features",
                       help="visual encoder: fixed quality statistics + MLP (shipped), or a compact CNN from scratch")
    train.add_argument("--hidden", type=int, default=256, help="hidden width of the features encoder's MLP")
    train.add_argument("--dropout", type=float, default=0.1, help="dropout in the features encoder's MLP")
    train.add_argument("--nr-metrics", default="",
                       help="comma-separated ready registry NR metrics whose scores join the statistics (features "
                            "encoder; e.g. piqe,entropy; default none, as for the first shipped model)")
    train.add_argument("--exclude-sources", default="",
                       help="comma-separated photo sources left out of training and checkpoint choice (a "
                            "leave-one-source-out fold)")
    train.add_argument("--groups", type=int, default=16, help="requirements (prompt + targets) per step")
    train.add_argument("--targets", type=int, default=8, help="target images per group")
    train.add_argument("--pool", type=int, default=128, help="images drawn per step (prompts and targets come from them)")
    train.add_argument("--mix-rate", type=float, default=0.3, help="share of groups whose requirement mixes two")
    train.add_argument("--reweight-rate", type=float, default=0.0,
                       help="share of groups whose requirement is re-weighted per distortion family (0: off, as "
                            "for the shipped model; backend.iqa.promptiqa.requirements)")
    train.add_argument("--weight-decay", type=float, default=1e-4)
    train.add_argument("--requirements", default=",".join(DEFAULT_TRAIN),
                       help="comma-separated training requirements (label columns; the rest are held out of "
                       "training); vif, nlpd, cw_ssim need build-data --view-metrics for views 1..")
    train.add_argument("--validate-every", type=int, default=0,
                       help="steps between checks on the validation photos; the best checkpoint is kept (0: off, "
                       "as for the shipped model)")
    train.add_argument("--select-on", choices=("train", "held-out"), default="train",
                       help="requirements whose validation SRCC chooses the checkpoint (train keeps held-out unseen)")
    train.set_defaults(func=_train)

    evaluate = actions.add_parser("eval", help="SRCC/PLCC on held-out photos and requirements (n, sampling, inversion)")
    evaluate.add_argument("--data", default="data/promptiqa")
    evaluate.add_argument("--weights", help="weights folder (default: the shipped assets/promptiqa/features)")
    evaluate.add_argument("--rounds", type=int, default=5)
    evaluate.add_argument("--out", help="also write the table and headline as JSON")
    evaluate.add_argument("--targets", choices=("test", "validation"), default="test",
                          help="photos to score (validation: for choosing settings without the test photos)")
    evaluate.set_defaults(func=_eval)
