"""Issue #20 (5, 8): prompt sampling reads only what the caller uploaded, and no response names a server path.

A CSV naming ``/etc/passwd``, files of the app folder (absolute, and relative to where the CSV lands) and a
path that does not exist is refused with the same sentence whatever the server holds (no existence
oracle); the sentence names only file names; loading a saved prompt returns copies named by their labels,
never the media store's files.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from gradio_client import handle_file
from PIL import Image

from backend.errors import InputError
from backend.iqa.promptiqa.service import prompt_from_csv, read_scored_csv
from tests.conftest import REPO
from tests.promptiqa.helpers import noisy_series

# (row of the CSV, the same row naming something that does not exist): each pair must read the same
SERVER_FILES = [("/etc/passwd", "/etc/no-such-passwd-file/passwd"),
                (str(REPO / "app.py"), str(REPO / "no-such-folder" / "app.py")),
                ("../../../../../../../../etc/hostname", "../../../../../../../../no-such/hostname"),
                (str(REPO / "README.md"), "/nonexistent/README.md")]


@pytest.fixture
def uploads(tmp_path) -> list[str]:
    folder = tmp_path / "uploads"
    folder.mkdir()
    paths = []
    for k, image in enumerate(noisy_series(3)):
        Image.fromarray(image).save(folder / f"img{k}.png")
        paths.append(str(folder / f"img{k}.png"))
    return paths


def csv_with(folder: Path, name: str, extra_row: str) -> Path:
    path = folder / name
    path.write_text(f"path,score\nimg0.png,1\nimg1.png,2\n{extra_row},3\n")
    return path


@pytest.mark.parametrize(("existing", "missing"), SERVER_FILES)
def test_sampling_csv_cannot_name_server_files(tmp_path, uploads, existing, missing):
    messages = []
    for row in (existing, missing):
        csv = csv_with(tmp_path, "scored.csv", row)
        with pytest.raises(InputError) as caught:
            read_scored_csv(csv, allowed_files=uploads)
        messages.append(str(caught.value))
        with pytest.raises(InputError):
            prompt_from_csv(csv, allowed_files=uploads)
    assert messages[0] == messages[1], "the refusal must not depend on whether the server file exists"
    assert "not uploaded" in messages[0] and "/" not in messages[0].split("e.g.")[1]
    assert str(REPO) not in messages[0] and "/etc" not in messages[0] and str(tmp_path) not in messages[0]


def test_the_command_line_still_reads_local_paths(tmp_path, uploads):
    csv = tmp_path / "local.csv"
    csv.write_text(f"path,score\n{uploads[0]},1\n{uploads[1]},2\n")
    assert list(read_scored_csv(csv)["path"]) == uploads[:2]  # the operator owns the machine: no allowed_files


def raw_call(url: str, api_name: str, data: list) -> str:
    """What the server sends for a call of ``api_name`` (Gradio's HTTP API), as text."""
    request = urllib.request.Request(f"{url}gradio_api/call/{api_name}", data=json.dumps({"data": data}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=120) as response:
        return response.read().decode()


@pytest.mark.api
def test_sample_endpoint_reads_only_uploads_and_names_no_server_path(client, live_app, tmp_path, uploads):
    from gradio_client.exceptions import AppError

    images = [handle_file(p) for p in uploads]
    messages = []
    for existing, missing in SERVER_FILES:
        pair = []
        for row in (existing, missing):
            csv = csv_with(tmp_path, "scored.csv", row)
            with pytest.raises(AppError) as caught:
                client.predict(handle_file(str(csv)), images, None, 3, "interval", 0, api_name="/promptiqa_sample")
            pair.append(str(caught.value))
        assert pair[0] == pair[1]
        messages.extend(pair)
    for message in messages:
        assert "not uploaded" in message and "/etc" not in message and str(REPO) not in message
        assert "root:" not in message and "/tmp/" not in message
    csv = csv_with(tmp_path, "ok.csv", "/home/someone/elsewhere/img2.png")  # a foreign absolute path: by name
    paths, scores, gallery = client.predict(handle_file(str(csv)), images, None, 3, "interval", 0,
                                            api_name="/promptiqa_sample")
    assert scores == "1, 2, 3" and [Path(p).name for p in paths] == ["img0.png", "img1.png", "img2.png"]
    with pytest.raises(AppError, match="Upload the images 'ok.csv' names"):  # no uploads: nothing is read
        client.predict(handle_file(str(csv)), None, None, 3, "interval", 0, api_name="/promptiqa_sample")


@pytest.mark.api
def test_loading_a_saved_prompt_returns_copies_not_store_paths(client, live_app, uploads):
    client.predict("file-access-prompt", [handle_file(p) for p in uploads[:2]], "1, 2", api_name="/promptiqa_save")
    text = raw_call(live_app.url, "promptiqa_load", ["file-access-prompt"])
    assert "img0.png" in text and "img1.png" in text
    assert str(live_app.data_dir) not in text and "/images/" not in text and str(REPO) not in text
