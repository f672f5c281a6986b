"""backend/settings.py: one validated settings object; the README's table; who may read the environment."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from backend import settings
from backend.settings import SettingsError

REPO = Path(__file__).resolve().parent.parent


def test_defaults_parse_and_every_field_has_a_variable():
    parsed = settings.parse({})
    assert parsed.server_port == 7860 and parsed.max_pixels == 40_000_000 and parsed.db_pool_size == 10
    assert parsed.sqlite_synchronous == "FULL" and parsed.annotate_concurrency == 8 and parsed.concurrency == 4
    assert parsed.browser_secret is None and parsed.admin_password is None and not parsed.hub_offline
    assert parsed.data_dir == (Path.cwd() / "data").resolve()
    assert sorted(v.field for v in settings.VARIABLES) == sorted(settings.field_names())
    assert len({v.env for v in settings.VARIABLES}) == len(settings.VARIABLES)


@pytest.mark.parametrize(("variable", "value", "accepts"), [
    ("HARMONYLAB_MAX_PIXELS", "lots", "a whole number of pixels"),
    ("HARMONYLAB_MAX_PIXELS", "0", "a whole number of pixels"),
    ("HARMONYLAB_DB_POOL_SIZE", "-3", "a whole number of connections"),
    ("HARMONYLAB_SQLITE_SYNCHRONOUS", "OFF", "FULL, NORMAL or EXTRA"),
    ("GRADIO_SERVER_PORT", "70000", "a port number"),
    ("HARMONYLAB_DEVICE", "tpu", "cpu, cuda, cuda:N or mps"),
    ("HARMONYLAB_ANNOTATE_QUEUE", "maybe", "1/true/yes/on"),
    ("HARMONYLAB_MAX_UPLOAD", "huge", "a size such as 100mb"),
    ("HARMONYLAB_BROWSER_SECRET", "short", "at least 16 characters"),
    ("HARMONYLAB_DATABASE_URL", "not a url", "an SQLAlchemy URL"),
])
def test_a_bad_value_names_the_variable_and_what_it_accepts(variable, value, accepts):
    with pytest.raises(SettingsError, match=f"{variable}=.*{accepts}"):
        settings.parse({variable: value})


def test_values_are_parsed():
    parsed = settings.parse({"HARMONYLAB_MAX_PIXELS": "1e6", "HARMONYLAB_ANNOTATE_CONCURRENCY": "none",
                             "HARMONYLAB_ANNOTATE_QUEUE": "yes", "HF_HUB_OFFLINE": "1", "HARMONYLAB_DEVICE": "CUDA:1",
                             "HARMONYLAB_SAM2_PATH": "/tmp/sam", "HARMONYLAB_SQLITE_SYNCHRONOUS": "normal"})
    assert parsed.max_pixels == 1_000_000 and parsed.annotate_concurrency is None and parsed.annotate_queue
    assert parsed.hub_offline and parsed.device == "cuda:1" and parsed.sqlite_synchronous == "NORMAL"
    assert parsed.value("HARMONYLAB_SAM2_PATH") == Path("/tmp/sam")


def test_readme_table_is_the_settings_table():
    readme = (REPO / "README.md").read_text()
    assert settings.markdown_table() in readme
    listed = [line.split("`")[1] for line in readme.split("## Configuration")[1].split("\n## ")[0].splitlines()
              if line.startswith("| `")]
    assert listed == [v.env for v in settings.VARIABLES]


def _environment_readers(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
    return lines


def test_only_the_settings_module_reads_the_environment():
    readers = {}
    for path in [*REPO.glob("backend/**/*.py"), *REPO.glob("ui/**/*.py"), REPO / "app.py"]:
        if path.name == "settings.py" and path.parent.name == "backend":
            continue
        lines = _environment_readers(path)
        if lines:
            readers[str(path.relative_to(REPO))] = lines
    assert readers == {}


def test_a_bad_setting_stops_the_cli_and_the_app_with_one_sentence(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HARMONYLAB_MAX_PIXELS": "plenty", "HARMONYLAB_DATA_DIR": str(tmp_path)}
    cli = subprocess.run([sys.executable, "-m", "backend", "models"], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)
    assert cli.returncode == 2 and "HARMONYLAB_MAX_PIXELS='plenty' is not usable" in cli.stderr
    app = subprocess.run([sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert app.returncode == 1 and "HarmonyLab cannot start: HARMONYLAB_MAX_PIXELS" in app.stderr
    assert "Traceback" not in app.stderr


def test_cli_prints_the_settings_without_secrets(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HARMONYLAB_ADMIN_PASSWORD": "hunter2-hunter2", "HARMONYLAB_DATA_DIR": str(tmp_path)}
    shown = subprocess.run([sys.executable, "-m", "backend", "settings"], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0 and "HARMONYLAB_ADMIN_PASSWORD=set" in shown.stdout
    assert "hunter2" not in shown.stdout and f"HARMONYLAB_DATA_DIR={tmp_path}" in shown.stdout


def test_browser_secret_is_generated_once_per_database_and_shared(tmp_path):
    from backend.store.db import Database
    from backend.store.secrets import deployment_secret

    first = Database(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    second = Database(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)  # another replica of the same database
    other = Database(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    try:
        key = deployment_secret(first, "browser-id")
        assert len(key) == 64 and deployment_secret(second, "browser-id") == key
        assert deployment_secret(other, "browser-id") != key
    finally:
        for database in (first, second, other):
            database.dispose()
