"""``python -m backend dogiqa ...``: CSV by default, --json components and regions, errors with exit code 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from backend.data.distortions import distort, rng_for
from backend.data.photos import skimage_photos

REPO = Path(__file__).resolve().parents[2]


def run(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "2"})


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dogiqa-cli")
    photo = skimage_photos(256)["astronaut"]
    paths = []
    for level in (0, 5):
        path = folder / f"astronaut_noise{level}.png"
        Image.fromarray(distort(photo, "gaussian_noise", level, rng_for("dogiqa-cli", level))).save(path)
        paths.append(path)
    return paths


def test_csv_and_json(images):
    done = run("dogiqa", "--readout", "weighted", *map(str, images))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "image,score" and len(lines) == 3
    done = run("dogiqa", "--json", "--k", "5", "--formula", "public", str(images[1]))
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(done.stdout)
    parts = entry["components"]
    assert entry["score"] == pytest.approx(parts["local_score"] + 0.1 * parts["count"] + 0.5 * parts["global_score"])
    assert entry["k"] == 5 and parts["count"] == len(entry["regions"]) >= 1
    assert {"index", "kind", "area", "area_fraction", "box", "level", "weighted", "score"} <= set(entry["regions"][0])


def test_errors_are_one_sentence_with_exit_code_2(images):
    done = run("dogiqa", "--scorer", "ssim", str(images[0]))
    assert done.returncode == 2 and "no-reference model" in done.stderr and "Traceback" not in done.stderr
    done = run("dogiqa", "--scorer", "dogiqa-vlm", str(images[0]))
    assert done.returncode == 2 and "Qwen/Qwen2-VL-2B-Instruct" in done.stderr
    done = run("dogiqa", "--area-threshold", "3", str(images[0]))
    assert done.returncode == 2 and "fraction" in done.stderr
