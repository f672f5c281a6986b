"""Issue #20 (6): saved prompts have an owner, and what visitors store is bounded.

Store level (SQLite, and PostgreSQL in CI): signed owner tokens; another visitor cannot replace or delete a prompt, the owner and
the admin can, the command line (operator) can; per-prompt pairs and bytes, per-owner count and total
storage are enforced before anything enters the media store; images a replaced prompt no longer uses leave
the media store. API level (the live app): ``/promptiqa_save`` hands out a token, the same token replaces,
no token or a forged one does not, ``/promptiqa_delete`` likewise.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from backend.errors import InputError
from backend.store import prompts
from backend.store.db import Database
from tests.promptiqa.helpers import noisy_series
from tests.store.conftest import POSTGRES_ENV, postgres_schema

SCORES = [1.0, 2.0, 3.0]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'store.db'}"
        if request.param == "postgresql":
            base = os.environ.get(POSTGRES_ENV)
            if not base:
                pytest.skip(f"{POSTGRES_ENV} is not set (.ci/run sets it), so the PostgreSQL run is skipped")
            url = stack.enter_context(postgres_schema(base))
        database = Database(url, tmp_path)
        yield database
        database.dispose()


def visitor(db) -> str:
    return prompts.owner_from_token(prompts.new_owner_token(db), db)


def stored_files(db) -> set[str]:
    return set(db.media.hashes())


def test_owner_tokens_are_signed_by_the_server(db):
    token = prompts.new_owner_token(db)
    owner = prompts.owner_from_token(token, db)
    assert owner is not None and owner.startswith("browser:") and owner == prompts.owner_from_token(token, db)
    ident, signature = token.split(".")[1:]
    forged = f"po1.{ident[::-1]}.{signature}"
    assert prompts.owner_from_token(forged, db) is None
    for bad in (None, "", "browser:abc", 42, token + "x", f"po1.{ident}.{'A' * 22}"):
        assert prompts.owner_from_token(bad, db) is None
    other = Database(f"sqlite:///{db.data_dir / 'other.db'}", db.data_dir / "other")
    try:
        assert prompts.owner_from_token(token, other) is None  # another deployment's key
    finally:
        other.dispose()


def test_only_the_owner_or_the_admin_may_replace_or_delete(db):
    images = noisy_series(3)
    alice, bob = visitor(db), visitor(db)
    prompts.save_prompt("alice-p", images, SCORES, db=db, owner=alice)
    for action in (lambda: prompts.save_prompt("alice-p", images[:2], [0, 1], db=db, owner=bob),
                   lambda: prompts.check_can_save("alice-p", db, owner=bob),
                   lambda: prompts.delete_prompt("alice-p", db=db, owner=bob)):
        with pytest.raises(InputError, match="belongs to someone else"):
            action()
    assert prompts.get_prompt("alice-p", db=db)["scores"] == SCORES
    prompts.save_prompt("alice-p", images[:2], [5, 6], db=db, owner=alice)  # the owner replaces
    prompts.save_prompt("alice-p", images[:2], [7, 8], db=db, owner=bob, admin=True)  # the admin replaces
    assert prompts.get_prompt("alice-p", db=db)["scores"] == [7, 8]
    with pytest.raises(InputError, match="belongs to someone else"):  # still Alice's, not the admin's
        prompts.delete_prompt("alice-p", db=db, owner=bob)
    assert prompts.delete_prompt("alice-p", db=db, owner=alice)
    prompts.save_prompt("cli-p", images, SCORES, db=db)  # the command line: no owner, only the admin may change
    with pytest.raises(InputError, match="belongs to someone else"):
        prompts.save_prompt("cli-p", images, SCORES, db=db, owner=alice)
    assert prompts.delete_prompt("cli-p", db=db, owner=alice, admin=True)
    prompts.save_prompt("alice-q", images, SCORES, db=db, owner=alice)
    prompts.save_prompt("alice-q", images[:2], [1, 2], db=db)  # the operator may replace anything


def test_visitor_bounds_are_enforced_before_storing(db, settings_env):
    images = noisy_series(4)
    alice = visitor(db)
    settings_env(HARMONYLAB_PROMPT_MAX_PAIRS="3", HARMONYLAB_PROMPTS_PER_OWNER="2")
    with pytest.raises(InputError, match="at most 3"):
        prompts.save_prompt("big", images, [1, 2, 3, 4], db=db, owner=alice)
    prompts.save_prompt("big", images, [1, 2, 3, 4], db=db)  # the operator is not bounded
    prompts.save_prompt("a1", images[:2], [1, 2], db=db, owner=alice)
    prompts.save_prompt("a2", images[:2], [1, 2], db=db, owner=alice)
    with pytest.raises(InputError, match="already keep 2 saved prompts"):
        prompts.check_can_save("a3", db, owner=alice)
    with pytest.raises(InputError, match="already keep 2 saved prompts"):
        prompts.save_prompt("a3", images[:2], [1, 2], db=db, owner=alice)
    prompts.save_prompt("a2", images[1:3], [3, 4], db=db, owner=alice)  # replacing one's own is not a new one
    before = stored_files(db)
    bob = visitor(db)
    settings_env(HARMONYLAB_PROMPT_MAX_BYTES="1kb")
    with pytest.raises(InputError, match="above the limit of 1 kB per prompt"):
        prompts.save_prompt("b1", images[2:4], [1, 2], db=db, owner=bob)
    settings_env(HARMONYLAB_PROMPT_MAX_BYTES="64mb", HARMONYLAB_PROMPT_STORAGE="50kb")
    with pytest.raises(InputError, match="storage for saved prompts is full"):
        prompts.save_prompt("b1", images[2:4], [1, 2], db=db, owner=bob)
    assert stored_files(db) == before  # refused saves leave the media store as it was
    assert {p["name"] for p in prompts.list_prompts(db)} == {"big", "a1", "a2"}


def test_replaced_and_deleted_prompts_leave_no_unused_images(db):
    images = noisy_series(4)
    alice = visitor(db)
    prompts.save_prompt("first", images[:2], [1, 2], db=db, owner=alice)
    prompts.save_prompt("second", images[1:3], [1, 2], db=db, owner=alice)  # shares images[1] with "first"
    assert len(stored_files(db)) == 3
    prompts.save_prompt("first", images[3:4] + images[2:3], [1, 2], db=db, owner=alice)
    assert len(stored_files(db)) == 3  # images[0] went; images[1] stays, "second" uses it
    prompts.delete_prompt("second", db=db, owner=alice)
    assert len(stored_files(db)) == 2
    prompts.delete_prompt("first", db=db, owner=alice)
    assert stored_files(db) == set()


@pytest.mark.api
def test_save_and_delete_endpoints_follow_the_owner_token(client, tmp_path):
    from gradio_client.exceptions import AppError

    for k, image in enumerate(noisy_series(3)):
        Image.fromarray(image).save(tmp_path / f"o{k}.png")
    files = [handle_file(str(tmp_path / f"o{k}.png")) for k in range(3)]
    name = f"owned-{np.random.default_rng().integers(1 << 30)}"
    _, _, token = client.predict(name, files[:2], "1, 2", None, None, api_name="/promptiqa_save")
    _, _, same = client.predict(name, files, "1, 2, 3", token, None, api_name="/promptiqa_save")
    assert same == token
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for other in (None, forged):
        with pytest.raises(AppError, match="belongs to someone else"):
            client.predict(name, files[:2], "3, 4", other, None, api_name="/promptiqa_save")
        with pytest.raises(AppError, match="belongs to someone else"):
            client.predict(name, other, None, api_name="/promptiqa_delete")
    with pytest.raises(AppError, match="admin section is disabled"):  # the shared app has no admin password
        client.predict(name, None, "guess", api_name="/promptiqa_delete")
    _, scores, _ = client.predict(name, api_name="/promptiqa_load")
    assert scores == "1, 2, 3"
    message, _, _ = client.predict(name, token, None, api_name="/promptiqa_delete")
    assert f"Deleted the prompt **{name}**" in message
    with pytest.raises(AppError, match="no saved prompt"):
        client.predict(name, api_name="/promptiqa_load")
