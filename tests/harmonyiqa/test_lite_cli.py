"""HarmonyIQA-lite CLI: lite-data -> lite-train -> lite-eval end to end on four scikit-image photos.

The photos stand in for the Debian packages through ``HARMONYLAB_PHOTO_ROOT`` under names whose hash split
is known (apple, baboon: train; leuvenA: validation; aloeL: test). The sub-commands are added to a stand-in
``harmonyiqa`` group, exactly as ``backend/iqa/harmonyiqa/cli.py`` adds them.
"""

from __future__ import annotations

import argparse
import json

import pytest
from PIL import Image

from backend.iqa.harmonyiqa.lite.cli import add_lite_subcommands
from tests.conftest import sample_photo

NAMES = {"apple.jpg": "chelsea", "baboon.jpg": "coffee", "leuvenA.jpg": "astronaut", "aloeL.jpg": "rocket"}


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend harmonyiqa")
    add_lite_subcommands(parser.add_subparsers(dest="action", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


@pytest.fixture
def photo_root(tmp_path, monkeypatch, settings_env):
    folder = tmp_path / "share" / "doc" / "opencv-doc" / "examples" / "data"
    folder.mkdir(parents=True)
    for file_name, photo in NAMES.items():
        Image.fromarray(sample_photo(photo)[::2, ::2]).save(folder / file_name, quality=95)
    settings_env(HARMONYLAB_PHOTO_ROOT=tmp_path / "share")
    return tmp_path


@pytest.mark.slow  # about 50 s alone, up to 2 min on the shared machine (data with four harmonizers, 2 epochs)
def test_data_train_eval_round(photo_root, capsys):
    from backend.data.photos import list_photos
    from backend.iqa.harmonyiqa.lite.data import read_index
    from backend.iqa.harmonyiqa.lite.model import load_network

    assert {p.path.name: p.split for p in list_photos()} == {
        "apple.jpg": "train", "baboon.jpg": "train", "leuvenA.jpg": "validation", "aloeL.jpg": "test"}
    data = photo_root / "set"
    assert run("lite-data", "--out", str(data), "--train", "2", "--validation", "1", "--test", "1", "--side", "128",
               "--quiet") == 0
    table = read_index(data)
    assert table.groupby("split").size().to_dict() == {"train": 18, "validation": 9, "test": 9}
    assert set(table[table["split"] == "test"]["photo"]) == {"opencv/aloeL.jpg"}
    assert json.loads((data / "build.json").read_text())["counts"]["test"] == 1

    weights = photo_root / "lite-fr.safetensors"
    assert run("lite-train", "--mode", "fr", "--data", str(data), "--out", str(weights), "--epochs", "2",
               "--widths", "8", "8", "8", "8", "--hidden", "8", "--batch", "6") == 0
    network, card = load_network(weights)
    assert network.config.full_reference and card["training"]["epochs_run"] == 2
    assert card["command"].startswith("python -m backend") and card["data"]["train_images"] == 18

    capsys.readouterr()
    assert run("lite-eval", "--weights", str(weights), "--data", str(data), "--split", "test") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 9 and -1.0 <= report["with_mask"]["all"]["srcc"] <= 1.0

    # the NR options of the shipped model: context statistics, no CNN features in the head, supervised attention
    nr_weights = photo_root / "lite-nr.safetensors"
    assert run("lite-train", "--mode", "nr", "--data", str(data), "--out", str(nr_weights), "--epochs", "1",
               "--widths", "8", "8", "8", "8", "--hidden", "8", "--batch", "6", "--context", "--no-cnn-head",
               "--attention-weight", "1.0") == 0
    network, card = load_network(nr_weights)
    assert network.config.context and not network.config.cnn_head and not network.config.full_reference
    assert card["training"]["attention_weight"] == 1.0 and card["config"]["context"] and not card["config"]["cnn_head"]


def test_lite_train_needs_built_data(tmp_path):
    from backend.errors import InputError

    with pytest.raises(InputError, match="does not exist"):
        run("lite-train", "--mode", "nr", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "w.safetensors"))
