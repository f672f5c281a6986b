"""``python -m backend compare2score ...``: CSV by default, --json details, clear errors with exit code 2."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.data.distortions import distort, rng_for
from backend.data.photos import skimage_photos

REPO = Path(__file__).resolve().parents[2]


def run(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("c2s-cli")
    photo = skimage_photos(256)["coffee"]
    paths = []
    for level in (0, 2, 5):
        path = folder / f"coffee_blur{level}.png"
        Image.fromarray(distort(photo, "gaussian_blur", level, rng_for("cli", level))).save(path)
        paths.append(path)
    return paths


def test_scores_as_csv_and_json(images):
    done = run("compare2score", "--comparator", "c2s-siamese", *map(str, images))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "image,score" and len(lines) == 4
    scores = [float(line.rsplit(",", 1)[1]) for line in lines[1:]]
    assert scores[0] > scores[2]  # pristine above heavy blur
    done = run("compare2score", "--comparator", "c2s-siamese", "--json", str(images[1]))
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert len(payload) == 1 and payload[0]["score"] == pytest.approx(payload[0]["score_mos"])
    probabilities = np.array(payload[0]["level_probabilities"])
    assert probabilities.shape == (5, 5) and np.allclose(probabilities.sum(axis=1), 1)
    P = np.array(payload[0]["P"])
    assert P.shape == (6, 6) and np.allclose(P + P.T, 1) and np.allclose(np.diag(P), 0.5)


def test_errors_are_one_sentence_with_exit_code_2(images, tmp_path):
    done = run("compare2score", "--comparator", "nope", str(images[0]))
    assert done.returncode == 2 and "Unknown comparator 'nope'" in done.stderr and "Traceback" not in done.stderr
    one = tmp_path / "one.csv"
    one.write_text(f"path,mos,mos_std\n{images[0]},3,0.3\n")
    done = run("compare2score", "--anchors", str(one), str(images[0]))
    assert done.returncode == 2 and "at least two anchor" in done.stderr
    no_mos = tmp_path / "nomos.csv"
    no_mos.write_text(f"path,mos_std\n{images[0]},0.3\n{images[1]},0.3\n")
    done = run("compare2score", "--anchors", str(no_mos), str(images[0]))
    assert done.returncode == 2 and "mos" in done.stderr
    done = run("compare2score", "--comparator", "q-future-compare2score", str(images[0]))
    assert done.returncode == 2 and "trust_remote_code" in done.stderr


def test_anchor_and_export_commands(tmp_path, images):
    csv = tmp_path / "set.csv"
    csv.write_text("path,mos,mos_std\n" + "".join(f"{p},{m},0.3\n" for p, m in zip(images, (5.0, 3.4, 1.0))))
    done = run("compare2score-anchors", "--set", str(csv), "--out", str(tmp_path / "anchors"), "--alpha", "3")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "anchors" / "anchors.csv").is_file()
    done = run("compare2score", "--anchors", str(tmp_path / "anchors"), str(images[1]))
    assert done.returncode == 0, done.stderr
    done = run("compare2score-export", "--set", str(csv), "--out", str(tmp_path / "pairs.json"), "--pairs", "5")
    assert done.returncode == 0 and len(json.loads((tmp_path / "pairs.json").read_text())) == 5
