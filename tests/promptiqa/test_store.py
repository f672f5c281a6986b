"""Saved prompts in the store (paper 004 prompts kept by name): migration, round trip, replacement, errors."""

from __future__ import annotations

import numpy as np
import pytest

from backend.errors import InputError
from backend.iqa.promptiqa.service import list_saved_prompts, save_prompt
from backend.protocols import Prompt
from backend.store.db import Database
from backend.store.prompts import load_prompt
from tests.promptiqa.helpers import noisy_series


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    yield database
    database.dispose()


def test_saved_prompt_round_trip(db):
    images = noisy_series(3)
    prompt = Prompt(tuple(images), np.array([4.5, 1.0, 3.25]), ("a.png", "b.png", "c.png"))
    saved = save_prompt("sharpness-v1", prompt, db=db)
    assert saved == {"name": "sharpness-v1", "pairs": 3, "low": 1.0, "high": 4.5}
    loaded = load_prompt("sharpness-v1", db=db)
    assert loaded.names == prompt.names and np.array_equal(loaded.scores, prompt.scores)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.images, prompt.images, strict=False))
    assert loaded.key == prompt.key  # same prompt, same cache entry
    save_prompt("sharpness-v1", Prompt(tuple(images[:2]), np.array([0.0, 1.0])), db=db)
    assert [(p["name"], p["pairs"]) for p in list_saved_prompts(db=db)] == [("sharpness-v1", 2)]


def test_missing_and_bad_names_are_explained(db):
    with pytest.raises(InputError, match="no saved prompt called 'nope'"):
        load_prompt("nope", db=db)
    with pytest.raises(InputError, match="not usable"):
        save_prompt("../x", Prompt(tuple(noisy_series(2)), np.array([0.0, 1.0])), db=db)


def test_migration_creates_the_table(db):
    from sqlalchemy import inspect

    columns = {c["name"] for c in inspect(db.engine).get_columns("saved_prompts")}
    assert {"name", "image_sha256s", "scores", "labels", "created_at"} <= columns
