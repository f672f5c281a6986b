"""Adding items to an existing campaign: add_items (SQLite and PostgreSQL), ``campaign add``, /add_to_campaign."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlmodel import select

from backend.cli import main
from backend.errors import InputError
from backend.store.campaigns import get_campaign
from backend.store.items import NewItem, add_items, add_items_from_manifest, harmonized_items
from backend.store.models import Item
from tests.conftest import sample_photo
from tests.store.conftest import (
    ADMIN_PASSWORD,
    SIZE,
    annotator,
    make_campaign,
    served_token,
    shifted,
    unique_name,
    write_photo,
)


def crop(name: str = "camera") -> np.ndarray:
    return sample_photo(name)[:SIZE, :SIZE].copy()


def item_rows(db, campaign_id: int) -> list[Item]:
    with db.reading() as session:
        return list(session.exec(select(Item).where(Item.campaign_id == campaign_id)).all())


@pytest.mark.parametrize("kind", ["pairwise", "rating"])
def test_add_items_new_group_duplicates_and_conflicts(db, campaign_files, kind):
    from backend.store import pairwise, rating

    info = make_campaign(db, campaign_files, kind=kind)
    before = len(info.items)
    base, reference = crop("camera"), crop("moon")
    items = [
        NewItem(base, "new-group", "composite", reference=reference),
        NewItem(shifted(base, (30, 0, -30)), "new-group", "warm", reference=reference, composite=base),
        NewItem(shifted(base, (30, 0, -30)), "new-group", "warm-again", composite=base),  # same content: present
        NewItem(campaign_files["root"] / "astronaut" / "warm.png", "astronaut", "warm-copy"),  # in the group already
        NewItem(shifted(base, (-50, 0, 0)), "astronaut", "warm"),  # another image for a taken method: refused
    ]
    outcome = add_items("study", items, db=db)
    assert [(a["group"], a["method"]) for a in outcome["added"]] == [("new-group", "composite"), ("new-group", "warm")]
    assert [(a["group"], a["method"]) for a in outcome["already_present"]] == [("new-group", "warm-again"),
                                                                               ("astronaut", "warm-copy")]
    assert [(a["group"], a["method"]) for a in outcome["refused"]] == [("astronaut", "warm")]
    assert "another method name" in outcome["refused"][0]["reason"]
    updated = get_campaign("study", db)  # the cache was refreshed: serving sees the new items at once
    assert len(updated.items) == before + 2
    warm = updated.items[outcome["added"][1]["item_id"]]
    assert warm.composite_sha256 == outcome["added"][0]["sha256"] and warm.reference_sha256 is not None
    assert db.media.file(warm.sha256).endswith(f"{warm.sha256}.png")
    assert updated.groups["new-group"] == tuple(a["item_id"] for a in outcome["added"])
    again = add_items("study", items[:2], db=db)  # the same request twice: all present, nothing added
    assert again["added"] == [] and len(again["already_present"]) == 2
    assert len(item_rows(db, info.id)) == before + 2
    new_ids = {a["item_id"] for a in outcome["added"]}
    if kind == "pairwise":  # the new group is served (the sampler chooses groups uniformly; try a few times)
        served = [served_token(updated, pairwise.next_pair("study", annotator(db, "adder"), db=db).pair_id, "adder")
                  for _ in range(60)]
        assert any(set(pair.item_ids) == new_ids for pair in served)
    else:
        seen = {served_token(updated, rating.next_item("study", annotator(db, f"rater-{k}"), db=db).item_id,
                             f"rater-{k}").item_ids[0] for k in range(200)}
        assert new_ids <= seen


def test_add_items_bad_input_stores_nothing(db, campaign_files, tmp_path):
    info = make_campaign(db, campaign_files)
    before = len(item_rows(db, info.id))
    images_before = db.media.hashes()
    (tmp_path / "broken.png").write_bytes(b"not an image")
    good = NewItem(crop(), "g", "m")
    cases = [
        ("nope", [good], "There is no campaign"),
        ("study", [], "no items"),
        ("study", [NewItem(crop(), " ", "m")], "no group"),
        ("study", [NewItem(crop(), "g", "")], "no method"),
        ("study", [NewItem(crop(), "gold:1", "m")], "reserved for gold"),
        ("study", [NewItem(crop(), "g", "x" * 201)], "too long"),
        ("study", [good, NewItem(tmp_path / "broken.png", "g", "m2")], "broken.png"),
        ("study", [NewItem(crop(), "g", "m", reference=tmp_path / "missing.png")], "missing.png"),
    ]
    for name, items, message in cases:
        with pytest.raises(InputError, match=message):
            add_items(name, items, db=db)
    assert len(item_rows(db, info.id)) == before
    assert db.media.hashes() == images_before  # staging left nothing behind


def test_add_items_from_manifest_and_harmonized_items(db, campaign_files, tmp_path):
    make_campaign(db, campaign_files, kind="rating")
    root = tmp_path / "more"
    write_photo(root / "a.png", crop("camera"))
    write_photo(root / "b.png", shifted(crop("camera"), (0, 40, 0)))
    (root / "manifest.csv").write_text("path,group,method,composite\na.png,extra,identity,\nb.png,extra,green,a.png\n")
    outcome = add_items_from_manifest("study", root / "manifest.csv", db=db)
    assert [a["method"] for a in outcome["added"]] == ["identity", "green"]
    items = harmonized_items(crop("camera"), [(shifted(crop("camera"), (9, 9, 9)), "pct"),
                                              (crop("camera"), "composite")], reference=crop("moon"))
    assert [(i.group.startswith("harmonize-"), i.method) for i in items] == [(True, "composite"), (True, "pct")]
    assert items[1].composite is not None and items[0].composite is None and items[0].reference is not None
    with pytest.raises(InputError, match="press Harmonize first"):
        harmonized_items(None, [])


def test_cli_campaign_add(cli_database, campaign_files, tmp_path, capsys):
    assert main(["campaign", "create", "--name", "cli-add", "--kind", "pairwise", "--manifest",
                 str(campaign_files["manifest"])]) == 0
    capsys.readouterr()
    root = tmp_path / "more"
    write_photo(root / "x.png", crop("camera"))
    write_photo(root / "y.png", shifted(crop("camera"), (0, 0, 60)))
    (root / "manifest.csv").write_text("path,group,method\nx.png,cam,one\ny.png,cam,two\n")
    assert main(["campaign", "add", "--name", "cli-add", "--manifest", str(root / "manifest.csv")]) == 0
    captured = capsys.readouterr()
    outcome = json.loads(captured.out)
    assert [a["method"] for a in outcome["added"]] == ["one", "two"] and "added 2 items" in captured.err
    assert main(["campaign", "add", "--name", "cli-add", "--manifest", str(root / "manifest.csv")]) == 0
    assert len(json.loads(capsys.readouterr().out)["already_present"]) == 2
    assert main(["campaign", "add", "--name", "missing", "--manifest", str(root / "manifest.csv")]) == 2
    assert "There is no campaign 'missing'" in capsys.readouterr().err
    assert main(["campaign", "add", "--name", "cli-add", "--manifest", str(root / "nope.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.api
def test_add_to_campaign_endpoint_of_the_harmonize_tab(store_app, app_db, campaign_files, tmp_path):
    """The Harmonize tab's /add_to_campaign on the real app: password checked, composite + results added once."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    name = unique_name("harmonize-add")
    info = make_campaign(app_db, campaign_files, name=name)
    client = Client(store_app.url, verbose=False)
    composite = write_photo(tmp_path / "composite.png", crop("camera"))
    result = write_photo(tmp_path / "pct.png", shifted(crop("camera"), (20, 0, -20)))
    reference = write_photo(tmp_path / "real.png", crop("moon"))
    gallery = [{"image": handle_file(str(result)), "caption": "pct"}]
    slider = (handle_file(str(composite)), handle_file(str(result)))
    with pytest.raises(AppError, match="password is wrong"):
        client.predict(name, "wrong", "", slider, gallery, handle_file(str(reference)), api_name="/add_to_campaign")
    with pytest.raises(AppError, match="press Harmonize first"):
        client.predict(name, ADMIN_PASSWORD, "", None, [], None, api_name="/add_to_campaign")
    assert len(item_rows(app_db, info.id)) == len(info.items)
    outcome = client.predict(name, ADMIN_PASSWORD, "my-composite", slider, gallery, handle_file(str(reference)),
                             api_name="/add_to_campaign")
    assert [(a["group"], a["method"]) for a in outcome["added"]] == [("my-composite", "composite"),
                                                                     ("my-composite", "pct")]
    rows = {row.method: row for row in item_rows(app_db, info.id) if row.group_name == "my-composite"}
    assert rows["pct"].composite_sha256 == rows["composite"].sha256 and rows["pct"].reference_sha256
    again = client.predict(name, ADMIN_PASSWORD, "my-composite", slider, gallery, None, api_name="/add_to_campaign")
    assert again["added"] == [] and len(again["already_present"]) == 2
