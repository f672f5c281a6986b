"""API test: the Harmonize tab's ``/add_to_campaign`` takes ``/harmonize``'s outputs and needs the admin password.

The shared live app runs without ``HARMONYLAB_ADMIN_PASSWORD``, so adding is refused with the sentence saying
how to enable it; the successful path (items stored once, composite and reference attached) is tested
against an app with a password in ``tests/store/test_add_items.py``.
"""

from __future__ import annotations

import pytest
from gradio_client import handle_file

pytestmark = pytest.mark.api

EXAMPLE = "assets/examples/{}/flowers.{}"


def test_add_to_campaign_refused_without_admin_section(client):
    slider, gallery, *_ = client.predict(
        {"background": handle_file(EXAMPLE.format("composite", "jpg")), "layers": [], "composite": None},
        handle_file(EXAMPLE.format("mask", "png")), None, ["composite", "srh-tiny"], api_name="/harmonize")
    results = [{"image": handle_file(item["image"]), "caption": item["caption"]} for item in gallery]
    pair = tuple(handle_file(path) for path in slider)
    with pytest.raises(Exception, match="admin section is disabled; set HARMONYLAB_ADMIN_PASSWORD"):
        client.predict("any-campaign", "secret", "", pair, results, None, api_name="/add_to_campaign")
    with pytest.raises(Exception, match="admin section is disabled"):
        client.predict("", "", "", None, [], None, api_name="/add_to_campaign")
