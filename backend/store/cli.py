"""CLI: ``python -m backend campaign create|add|export|stats|list|flag|close|open`` and ``media migrate|status``
(the annotation store).

- ``campaign create --name NAME --kind pairwise|rating --manifest FILE [--allow-tie] [--gold FILE]
  [--gold-rate R] [--gold-min-accuracy A] [--daily-cap N] [--min-response-ms MS] [--sampler S]
  [--instructions TEXT] [--question TEXT]``: validates and stores every image, prints the campaign's
  counts as JSON.
- ``campaign add --name NAME --manifest FILE``: adds the manifest's rows (same format as ``create``) to an
  existing campaign; prints ``{"campaign", "added", "already_present", "refused"}`` as JSON (images already
  in their group, or a second image for a group's method, are reported, not stored; see
  :mod:`backend.store.items`).
- ``campaign export --name NAME --out FILE.csv|FILE.parquet [--exclude-flagged] [--exclude-gold]``:
  raw votes or ratings (columns in :mod:`backend.store.export`).
- ``campaign export --name NAME --format hf-dataset --out DIR [--push-to-hub OWNER/NAME [--public]]``: the
  campaign as a Hugging Face dataset folder, images embedded, annotators pseudonymised
  (:mod:`backend.store.hf_dataset`), optionally uploaded to a dataset repository (private unless ``--public``).
- ``campaign stats --name NAME``: counts as JSON.
- ``campaign list``: the campaigns as JSON.
- ``campaign flag --annotator KEY [--reason TEXT] [--unflag]``; ``campaign close|open --name NAME``.
- ``media migrate --to folder|database [--keep-source] [--pause-ms MS]``: moves the images into that media
  store while the app serves, resumable, verified by hash (:mod:`backend.store.media_migrate`); prints the
  counts as JSON. ``media status``: images per store and those in use that no store holds, as JSON.

The database is the one the app uses (``HARMONYLAB_DATABASE_URL`` / ``HARMONYLAB_DATA_DIR``); it is
upgraded to the newest migration first. Errors are one sentence on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys


def _create(args) -> int:
    from backend.progress import fraction_bar
    from backend.store.campaigns import CampaignSettings, create_campaign
    from backend.store.export import campaign_stats

    settings = CampaignSettings(
        kind=args.kind, allow_tie=args.allow_tie, instructions=args.instructions, question=args.question,
        gold_rate=args.gold_rate, gold_min_accuracy=args.gold_min_accuracy, daily_cap=args.daily_cap,
        min_response_ms=args.min_response_ms, sampler=args.sampler)
    with fraction_bar("images") as update:
        info = create_campaign(args.name, args.manifest, settings, gold=args.gold, progress=update)
    print(json.dumps(campaign_stats(info.name), indent=2))
    return 0


def _add(args) -> int:
    from backend.progress import fraction_bar
    from backend.store.items import add_items_from_manifest

    with fraction_bar("images") as update:
        outcome = add_items_from_manifest(args.name, args.manifest, progress=update)
    print(json.dumps(outcome, indent=2))
    print(f"added {len(outcome['added'])} items, {len(outcome['already_present'])} already present, "
          f"{len(outcome['refused'])} refused", file=sys.stderr)
    return 0


def _export(args) -> int:
    from backend.errors import InputError
    from backend.store.export import export_campaign

    if args.format != "hf-dataset":
        if args.push_to_hub:
            raise InputError("--push-to-hub uploads a dataset folder; add --format hf-dataset.")
        if args.format and not args.out.lower().endswith(f".{args.format}"):
            raise InputError(f"--format {args.format} writes a .{args.format} file; give --out FILE.{args.format}.")
        rows = export_campaign(args.name, args.out, include_flagged=not args.exclude_flagged,
                               include_gold=not args.exclude_gold)
        print(f"wrote {rows} rows to {args.out}", file=sys.stderr)
        return 0
    from backend.store.hf_dataset import export_hf_dataset, push_to_hub

    written = export_hf_dataset(args.name, args.out, include_flagged=not args.exclude_flagged,
                                include_gold=not args.exclude_gold)
    print(json.dumps(written, indent=2))
    if args.push_to_hub:
        url = push_to_hub(args.out, args.push_to_hub, private=not args.public)
        print(f"pushed {args.out} to {url}", file=sys.stderr)
    return 0


def _media_migrate(args) -> int:
    from backend.store.db import default_database
    from backend.store.media_migrate import migrate

    def progress(sha256: str, outcome: str) -> None:
        print(f"{outcome} {sha256}", file=sys.stderr, flush=True)

    outcome = migrate(default_database(), args.to, keep_source=args.keep_source, pause_ms=args.pause_ms,
                      progress=progress)
    print(json.dumps(outcome, indent=2))
    return 1 if outcome["damaged"] else 0


def _media_status(args) -> int:
    from backend.store.db import default_database
    from backend.store.media_migrate import status

    print(json.dumps(status(default_database()), indent=2))
    return 0


def _stats(args) -> int:
    from backend.store.export import campaign_stats

    print(json.dumps(campaign_stats(args.name), indent=2))
    return 0


def _list(args) -> int:
    from backend.store.campaigns import list_campaigns

    print(json.dumps(list_campaigns(), indent=2))
    return 0


def _flag(args) -> int:
    from backend.store.annotators import set_flag

    set_flag(args.annotator, not args.unflag, args.reason)
    print(f"annotator {args.annotator} {'unflagged' if args.unflag else 'flagged'}", file=sys.stderr)
    return 0


def _set_open(args) -> int:
    from backend.store.campaigns import set_open

    set_open(args.name, args.campaign_command == "open")
    return 0


def _fraction(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def add_parsers(subparsers) -> None:
    campaign = subparsers.add_parser("campaign", help="annotation campaigns: create, add, export, stats, list, flag",
                                     description="Annotation campaigns in the HarmonyLab store.")
    commands = campaign.add_subparsers(dest="campaign_command", metavar="ACTION")
    commands.required = True

    create = commands.add_parser("create", help="create a campaign from a manifest CSV and its images")
    create.add_argument("--name", required=True)
    create.add_argument("--kind", required=True, choices=("pairwise", "rating"))
    create.add_argument("--manifest", required=True, help="CSV path,group,method[,reference][,composite]")
    create.add_argument("--allow-tie", action="store_true", help="offer a Tie answer (pairwise)")
    create.add_argument("--gold", help="gold CSV: better,worse (pairwise) or path,min_score,max_score (rating)")
    create.add_argument("--gold-rate", type=_fraction, default=0.0, help="fraction of gold pairs/items served")
    create.add_argument("--gold-min-accuracy", type=_fraction, default=0.0,
                        help="flag annotators whose gold accuracy falls below this (0 = never)")
    create.add_argument("--daily-cap", type=int, default=0, help="answers per annotator per 24 h (0 = none)")
    create.add_argument("--min-response-ms", type=int, default=0, help="refuse faster answers")
    create.add_argument("--sampler", default="uniform", help="uniform, eig or eig-approx (pairwise)")
    create.add_argument("--instructions", help="instructions shown above the images")
    create.add_argument("--question", help="the question asked")
    create.set_defaults(func=_create)

    add = commands.add_parser("add", help="add the images of a manifest to an existing campaign")
    add.add_argument("--name", required=True)
    add.add_argument("--manifest", required=True, help="CSV path,group,method[,reference][,composite] (as for create)")
    add.set_defaults(func=_add)

    export = commands.add_parser("export", help="raw votes or ratings as CSV or Parquet, or a Hugging Face dataset")
    export.add_argument("--name", required=True)
    export.add_argument("--out", required=True, help="FILE.csv or FILE.parquet, or a folder for --format hf-dataset")
    export.add_argument("--format", choices=("csv", "parquet", "hf-dataset"),
                        help="default: from the --out file name; hf-dataset: a dataset folder with the images")
    export.add_argument("--push-to-hub", metavar="OWNER/NAME", help="upload the hf-dataset folder to this dataset repo")
    export.add_argument("--public", action="store_true", help="create the hub repository public (default private)")
    export.add_argument("--exclude-flagged", action="store_true", help="drop answers of flagged annotators")
    export.add_argument("--exclude-gold", action="store_true", help="drop gold answers")
    export.set_defaults(func=_export)

    stats = commands.add_parser("stats", help="counts of a campaign as JSON")
    stats.add_argument("--name", required=True)
    stats.set_defaults(func=_stats)

    listing = commands.add_parser("list", help="all campaigns as JSON")
    listing.set_defaults(func=_list)

    flag = commands.add_parser("flag", help="flag (or unflag) an annotator")
    flag.add_argument("--annotator", required=True, help="the annotator key, as in exports")
    flag.add_argument("--reason")
    flag.add_argument("--unflag", action="store_true")
    flag.set_defaults(func=_flag)

    for action in ("close", "open"):
        toggle = commands.add_parser(action, help=f"{action} a campaign to annotators")
        toggle.add_argument("--name", required=True)
        toggle.set_defaults(func=_set_open)

    media = subparsers.add_parser("media", help="the images of campaigns and prompts: migrate between stores, status",
                                  description="The media stores of the annotation store (folder or database).")
    media_commands = media.add_subparsers(dest="media_command", metavar="ACTION")
    media_commands.required = True
    move = media_commands.add_parser("migrate", help="move every image into one store while the app serves")
    move.add_argument("--to", required=True, choices=("folder", "database"))
    move.add_argument("--keep-source", action="store_true", help="copy only: keep the images in the other store")
    move.add_argument("--pause-ms", type=int, default=0, help="wait between images (spreads the load)")
    move.set_defaults(func=_media_migrate)
    media_status = media_commands.add_parser("status", help="images per store and images in use that are missing")
    media_status.set_defaults(func=_media_status)
