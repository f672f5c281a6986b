"""Annotate tab: the annotation portal (pairwise comparisons and 5-point ratings, stored in SQL).

Layout and event wiring only; every handler calls one service of ``backend.store``.

Public API endpoints (the contract other tools rely on; ``gradio_client`` or plain HTTP):
- ``/new_annotator() -> annotator_id``: an annotator id issued by the server, which every call below needs
  (a made-up id is refused with a sentence pointing here; the page keeps one per browser)
- ``/next_pair(campaign, annotator_id) -> (pair_id, left_image_url, right_image_url, progress)``
- ``/vote(campaign, annotator_id, pair_id, choice, client_vote_id) -> ack`` (choice: left / right / tie)
- ``/next_item(campaign, annotator_id) -> (item_id, image_url, composite_url, reference_url, progress)``
- ``/rate(campaign, annotator_id, item_id, score, client_rating_id) -> ack`` (score: 1..5)
- admin (password ``HARMONYLAB_ADMIN_PASSWORD``): ``/admin_create_campaign``, ``/admin_export``,
  ``/admin_stats``, ``/admin_flag``.
Sending the same client id twice stores one answer; the ack says ``"stored"`` or ``"duplicate"``.
Images are absolute URLs of the image route of ``ui/rest.py`` (content hashes; never a server path): text
in the API endpoints' answers, shown from that URL on the page (:class:`ServedImage`).
Errors are ``gr.Error`` sentences; through ``/gradio_api/run/...`` they come with status 400, 403 (id not
issued here) or 429 (rate limit, with ``Retry-After``) — see :mod:`ui.gradio_http`.

Identity: an annotator id the server issued and signed (:mod:`backend.store.annotators`), kept in the
browser (``gr.BrowserState``), or the Hugging Face login on Spaces (``SPACE_ID`` set: a login button;
handlers take ``gr.OAuthProfile``). ``gr.BrowserState`` encrypts in JavaScript with a key Gradio sends to
the page, so its key is public (derived one-way from the root key) and proves nothing; the id's own
signature does. No IP address is stored.
Keyboard: left / right arrow = Left / Right, down arrow = Tie, 1-5 = rating; installed by a ``gr.HTML``
element's ``js_on_load`` (self-contained, no ``launch(head=...)`` needed).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import gradio as gr
from gradio import route_utils
from gradio.context import Context
from gradio.data_classes import ImageData

from backend.errors import InputError, RateLimitedError
from backend.settings import Settings
from backend.store import admin, pairwise, portal, rating
from backend.store.annotators import browser_state_key as browser_state_key_of
from backend.store.annotators import issue_annotator_id, set_flag
from backend.store.campaigns import CampaignSettings, create_campaign_from_archive, list_campaigns
from backend.store.db import data_dir, default_database
from backend.store.export import campaign_stats, export_campaign
from backend.store.media import MediaStore
from backend.store.samplers import SAMPLERS
from ui.common import file_paths, temporary_file, user_errors
from ui.rest import PREFIX as REST_PREFIX

# Queued answer events (the page's buttons; the API endpoints when HARMONYLAB_ANNOTATE_QUEUE=1) share the
# HARMONYLAB_ANNOTATE_CONCURRENCY limit. The API endpoints skip Gradio's queue by default: measured with 32
# clients (benchmarks/annotation_load.py) the queue costs ~15 ms of CPU per event and caps /vote at ~50-60/s
# whatever the limit (1, 8 or none), against ~170-190/s without it; the database side needs no limit
# (one group-commit writer, a bounded connection pool).
KEYS = {"ArrowLeft": "annotate-left", "ArrowRight": "annotate-right", "ArrowDown": "annotate-tie",
        **{str(s): f"annotate-rate-{s}" for s in rating.SCALE}}
KEYBOARD_JS = """
if (!window.harmonylabKeys) {
  window.harmonylabKeys = true;
  const keys = KEYS_JSON;
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
    const id = keys[event.key];
    const button = id && document.getElementById(id);
    if (!button || button.offsetParent === null || button.disabled) return;
    event.preventDefault();
    button.click();
  });
}
""".replace("KEYS_JSON", json.dumps(KEYS))
BLUR_JS = "(...args) => { if (document.activeElement) document.activeElement.blur(); return args; }"
CRITERIA_TEXT = ("Rate the **harmonized image** (middle) from 1 to 5, judging together: "
                 + ", ".join(f"**{c}**" for c in rating.CRITERIA)
                 + ". The composite (before harmonization) and the real reference photo are shown for comparison.")
log = logging.getLogger(__name__)
CONTRACT = ("**Your data:** answers are stored with an anonymous id kept in this browser (or your Hugging Face "
            "name when you sign in). No IP address is stored. Keys: ← / → choose, ↓ tie, 1–5 rate.")


class ServedImage(gr.Image):
    """A campaign image shown from its public URL (the image route of ``ui/rest.py``).

    ``gr.Image`` given a URL string would download it into Gradio's cache and hand out a ``/file=`` URL
    (naming a server path); given ``url`` already, Gradio passes it through untouched. Same frontend as
    ``gr.Image`` (``is_template``: Gradio's convention for a component that reuses its parent's).
    """

    is_template = True

    def postprocess(self, value):
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return ImageData(url=value, path=value, orig_name=value.rsplit("/", 1)[-1])
        return super().postprocess(value)


def _user(profile: gr.OAuthProfile | None) -> str | None:
    return profile.username if profile is not None else None


def image_url(request: gr.Request | None, file: str | None) -> str | None:
    """The public URL of a stored image (``<root>/annotate/v1/images/<sha256>.png``): an absolute URL, so
    Gradio hands it to the page and to clients as it is instead of a ``/file=`` URL naming a server path."""
    if file is None:
        return None
    raw = getattr(request, "request", None)
    root = "" if raw is None else route_utils.get_root_url(
        request=raw, route_path=raw.url.path, root_path=getattr(raw.app, "root_path", None) or None)
    return f"{root}{REST_PREFIX}/images/{Path(file).name}"


# ------------------------------------------------------------------------------- public API handlers


@user_errors
def new_annotator():
    """Issue an annotator id (send it as annotator_id with every call; keep it for later sessions)."""
    return issue_annotator_id()


@user_errors
def next_pair(campaign: str, annotator_id: str, request: gr.Request, profile: gr.OAuthProfile | None = None):
    """Serve a pair: returns the pair id, the left and right image URLs and the progress line."""
    return _pair_outputs(pairwise.next_pair(campaign, annotator_id, hf_user=_user(profile)), request)


@user_errors
def vote(campaign: str, annotator_id: str, pair_id: str, choice: str, client_vote_id: str,
         profile: gr.OAuthProfile | None = None):
    """Store a vote (left / right / tie) on a served pair; the same client_vote_id twice stores one vote."""
    return pairwise.vote(campaign, annotator_id, pair_id, choice, client_vote_id, hf_user=_user(profile))


@user_errors
def next_item(campaign: str, annotator_id: str, request: gr.Request, profile: gr.OAuthProfile | None = None):
    """Serve an image to rate: returns the item id, the image, its composite and reference (URLs), the progress line."""
    return _item_outputs(rating.next_item(campaign, annotator_id, hf_user=_user(profile)), request)


@user_errors
def rate(campaign: str, annotator_id: str, item_id: str, score: str, client_rating_id: str,
         profile: gr.OAuthProfile | None = None):
    """Store a 1-5 rating of a served image; the same client_rating_id twice stores one rating."""
    return rating.rate(campaign, annotator_id, item_id, score, client_rating_id, hf_user=_user(profile))


# ------------------------------------------------------------------------------------ page handlers


def _pair_outputs(served: pairwise.ServedPair | None, request: gr.Request | None, message: str = ""):
    if served is None:
        return "", None, None, message
    return (served.pair_id, image_url(request, served.left_image), image_url(request, served.right_image),
            served.progress.text)


def _item_outputs(served: rating.ServedItem | None, request: gr.Request | None, message: str = ""):
    if served is None:
        return "", None, None, None, message
    return (served.item_id, image_url(request, served.image), image_url(request, served.composite),
            image_url(request, served.reference), served.progress.text)


def identify(stored_id):
    """Page load: the browser's annotator id (issued now when it has none the server signed) and the open
    campaigns (closed ones are never listed on the page; the admin types their names)."""
    try:
        annotator_id = portal.browser_annotator_id(stored_id)
    except RateLimitedError as error:  # a crowd arriving at once: this visitor reloads in a moment
        gr.Warning(f"Too many new visitors right now; reload the page in {error.retry_after} s to get an "
                   "annotator id.")
        annotator_id = ""
    except Exception:  # the store is unavailable (no key to sign with): the tab says so; the page still loads
        log.exception("no annotator id could be issued")
        annotator_id = ""
    try:
        names = [c["name"] for c in list_campaigns(only_open=True)]
    except Exception:  # the store is unavailable: the tab says so; the page still loads
        names = []
    return (annotator_id or gr.skip(), annotator_id,
            gr.Dropdown(choices=names, value=names[0] if len(names) == 1 else None), gr.Dropdown(choices=names))


@user_errors
def open_campaign(campaign, annotator_id, request: gr.Request, profile: gr.OAuthProfile | None = None):
    """Show a campaign: its instructions and the first pair or image."""
    if not campaign:  # the chooser was cleared (or set empty at page load): nothing to show yet
        return (gr.skip(),) * 13
    opened = portal.open_campaign(campaign, annotator_id, hf_user=_user(profile))
    info, is_pairwise = opened.campaign, opened.campaign.kind == "pairwise"
    text = f"### {info.question}\n{info.instructions}" + ("" if is_pairwise else f"\n\n{CRITERIA_TEXT}")
    return (text, gr.Column(visible=is_pairwise), gr.Column(visible=not is_pairwise),
            gr.Button(visible=info.allow_tie), *_pair_outputs(opened.pair, request)[:3],
            *_item_outputs(opened.item, request)[:4], (opened.pair or opened.item).progress.text)


def pair_answer_handler(choice: str):
    @user_errors
    def answer(campaign, annotator_id, pair_id, request: gr.Request, profile: gr.OAuthProfile | None = None):
        if not pair_id:  # nothing on screen (no campaign chosen, or the campaign said why it stopped)
            return (gr.skip(),) * 4
        _, served, message = pairwise.answer_and_next(campaign, annotator_id, pair_id, choice, hf_user=_user(profile))
        return _pair_outputs(served, request, message)

    return answer


def rating_answer_handler(score: int):
    @user_errors
    def answer(campaign, annotator_id, item_id, request: gr.Request, profile: gr.OAuthProfile | None = None):
        if not item_id:
            return (gr.skip(),) * 5
        _, served, message = rating.answer_and_next(campaign, annotator_id, item_id, score, hf_user=_user(profile))
        return _item_outputs(served, request, message)

    return answer


# ---------------------------------------------------------------------------------- admin handlers


@user_errors
def admin_create_campaign(password, archive, name, kind, allow_tie, gold_rate, gold_min_accuracy, daily_cap,
                          min_response_ms, sampler, instructions, question, progress=gr.Progress()):
    """Create a campaign from a .zip (manifest.csv, optional gold.csv, images); returns its counts."""
    admin.check_password(password)
    paths = file_paths(archive)
    if not paths:
        raise InputError("No archive was uploaded; upload a .zip holding manifest.csv and the images.")
    settings = CampaignSettings(kind=kind, allow_tie=bool(allow_tie), instructions=instructions or None,
                                question=question or None, gold_rate=float(gold_rate or 0),
                                gold_min_accuracy=float(gold_min_accuracy or 0), daily_cap=int(daily_cap or 0),
                                min_response_ms=int(min_response_ms or 0), sampler=sampler or "uniform")
    info = create_campaign_from_archive(name, paths[0], settings, progress=lambda f, t: progress(f, desc=t))
    return campaign_stats(info.name)


@user_errors
def admin_export(password, campaign, file_format, exclude_flagged):
    """Raw answers of a campaign as a CSV or Parquet file."""
    admin.check_password(password)
    out = temporary_file(f".{file_format or 'csv'}", prefix=f"harmonylab-{campaign}-")
    export_campaign(campaign, out, include_flagged=not exclude_flagged)
    return str(out)


@user_errors
def admin_stats(password, campaign):
    """Counts of a campaign (answers, annotators, flags, gold accuracy, per method)."""
    admin.check_password(password)
    return campaign_stats(campaign)


@user_errors
def admin_flag(password, annotator, reason, unflag):
    """Flag an annotator (answers kept, excluded from aggregation) or lift the flag."""
    admin.check_password(password)
    set_flag(annotator, not unflag, reason or None)
    return f"Annotator {annotator} {'unflagged' if unflag else 'flagged'}."


# ------------------------------------------------------------------------------------------- layout


def _store_status() -> str:
    """Serve the campaign images, and open the store at start-up (which upgrades its schema); a sentence
    when that fails."""
    gr.set_static_paths([str(MediaStore.under(data_dir()).root)])  # served in place, never copied
    try:
        default_database()
        return ""
    except Exception:  # other tabs keep working; the handlers will report the same problem
        log.exception("the annotation store is unavailable")  # the reason (URL, paths) stays in the server log
        return "*The annotation store is unavailable; the server's log says why.*"


def browser_state_key() -> str | None:
    """The key ``gr.BrowserState`` encrypts the kept id with. Gradio publishes it in the page (the browser
    encrypts), so it is derived one-way from the root key of annotator ids and protects nothing: the id it
    keeps is signed by the server. None (a random key) when the store is down."""
    try:
        return browser_state_key_of(default_database())
    except Exception:  # noqa: BLE001 - no store: the page says so; ids cannot be issued either
        return None


def _admin_section() -> gr.Dropdown:
    """The admin accordion; returns its campaign chooser (a hidden one when the section is disabled)."""
    with gr.Accordion("Admin", open=False, elem_id="annotate-admin"):
        if not admin.admin_enabled():
            gr.Markdown(f"*The admin section is disabled; set `{admin.ENV}` on the server to enable it.*")
            return gr.Dropdown(visible=False, allow_custom_value=True)
        password = gr.Textbox(label="Admin password", type="password", elem_id="annotate-admin-password")
        with gr.Tab("Create campaign"):
            with gr.Row():
                name = gr.Textbox(label="Name", placeholder="harmony-study-1")
                kind = gr.Radio(["pairwise", "rating"], value="pairwise", label="Kind")
                sampler = gr.Dropdown(list(SAMPLERS), value="uniform", label="Pair sampler (pairwise)")
            archive = gr.File(label=".zip with manifest.csv (path,group,method[,reference][,composite]), "
                                    "optional gold.csv, images", file_types=[".zip"])
            with gr.Row():
                allow_tie = gr.Checkbox(label="Allow tie")
                gold_rate = gr.Number(0.0, label="Gold rate (0-1)", minimum=0, maximum=1)
                gold_min_accuracy = gr.Number(0.0, label="Flag below gold accuracy (0-1)", minimum=0, maximum=1)
                daily_cap = gr.Number(0, label="Daily cap (0 = none)", precision=0, minimum=0)
                min_response_ms = gr.Number(0, label="Min response (ms)", precision=0, minimum=0)
            instructions = gr.Textbox(label="Instructions (optional)", lines=2)
            question = gr.Textbox(label="Question (optional)")
            created = gr.JSON(label="Created")
            gr.Button("Create campaign", variant="primary").click(
                admin_create_campaign, [password, archive, name, kind, allow_tie, gold_rate, gold_min_accuracy,
                                        daily_cap, min_response_ms, sampler, instructions, question],
                created, api_name="admin_create_campaign")
        with gr.Tab("Export and statistics"):
            target = gr.Dropdown([], label="Campaign", allow_custom_value=True)
            with gr.Row():
                file_format = gr.Radio(["csv", "parquet"], value="csv", label="Format")
                exclude_flagged = gr.Checkbox(label="Exclude flagged annotators")
            with gr.Row():
                export_button = gr.Button("Export raw answers")
                stats_button = gr.Button("Statistics")
            exported = gr.File(label="Export", interactive=False)
            stats = gr.JSON(label="Statistics")
            export_button.click(admin_export, [password, target, file_format, exclude_flagged], exported,
                                api_name="admin_export")
            stats_button.click(admin_stats, [password, target], stats, api_name="admin_stats")
        with gr.Tab("Flag annotator"):
            with gr.Row():
                annotator = gr.Textbox(label="Annotator key (as in exports)")
                reason = gr.Textbox(label="Reason")
                unflag = gr.Checkbox(label="Remove the flag instead")
            flagged = gr.Markdown()
            gr.Button("Apply").click(admin_flag, [password, annotator, reason, unflag], flagged, api_name="admin_flag")
    return target


def _at_root(make):
    """Create a component at the top level of the page instead of inside this tab.

    Tabs mount lazily, and a ``gr.BrowserState`` inside an unmounted tab is neither read from nor written to
    localStorage by the page-load event; at the top level it is mounted at once.
    """
    current = Context.block
    Context.block = Context.root_block
    try:
        return make()
    finally:
        Context.block = current


def build(config: Settings) -> None:
    status = _store_status()
    if status:
        gr.Markdown(status)
    gr.HTML("", js_on_load=KEYBOARD_JS, elem_id="annotate-keys", visible="hidden")
    stored_id = _at_root(lambda: gr.BrowserState(None, storage_key="harmonylab-annotator-id", secret=browser_state_key()))
    with gr.Row():
        campaign = gr.Dropdown([], label="Campaign", allow_custom_value=True, elem_id="annotate-campaign", scale=3)
        annotator_id = gr.Textbox(label="Your anonymous annotator id", interactive=False, elem_id="annotate-annotator",
                                  scale=2)
        if config.on_spaces:
            gr.LoginButton(scale=1)
    gr.Markdown(CONTRACT)
    instructions = gr.Markdown(elem_id="annotate-instructions")
    with gr.Column(visible=False) as pair_panel:
        with gr.Row(equal_height=True):
            left_image = ServedImage(label="Left", type="filepath", interactive=False, buttons=[], elem_id="annotate-left-image")
            right_image = ServedImage(label="Right", type="filepath", interactive=False, buttons=[], elem_id="annotate-right-image")
        with gr.Row():
            left_button = gr.Button("◀ Left  (←)", variant="primary", elem_id="annotate-left")
            tie_button = gr.Button("Tie  (↓)", visible=False, elem_id="annotate-tie")
            right_button = gr.Button("Right  (→) ▶", variant="primary", elem_id="annotate-right")
    with gr.Column(visible=False) as rating_panel:
        with gr.Row(equal_height=True):
            composite = ServedImage(label="Composite (before)", type="filepath", interactive=False, buttons=[])
            harmonized = ServedImage(label="Harmonized — rate this one", type="filepath", interactive=False, buttons=[],
                                  elem_id="annotate-rate-image")
            reference = ServedImage(label="Reference (real photo)", type="filepath", interactive=False, buttons=[])
        with gr.Row():
            score_buttons = {s: gr.Button(f"{s} · {label}", elem_id=f"annotate-rate-{s}") for s, label in rating.SCALE.items()}
    progress = gr.Markdown(elem_id="annotate-progress")
    with gr.Row(visible=False):  # values the page keeps; also the inputs of the API endpoints
        pair_id = gr.Textbox(label="pair id", elem_id="annotate-pair-id")
        item_id = gr.Textbox(label="item id", elem_id="annotate-item-id")
        choice = gr.Textbox(label="choice")
        score = gr.Textbox(label="score")
        client_id = gr.Textbox(label="client id")
        ack = gr.JSON(label="acknowledgement")
        # the API endpoints answer image URLs as text (a client fetches them; gradio_client would otherwise try
        # to download an image output through Gradio's /file= route, which only serves files Gradio holds)
        image_urls = [gr.Textbox(label=f"{what} image URL") for what in ("left", "right", "rated", "composite",
                                                                           "reference")]
    admin_campaign = _admin_section()
    answer_limit = config.annotate_concurrency

    pair_view = [pair_id, left_image, right_image, progress]
    item_view = [item_id, harmonized, composite, reference, progress]
    Context.root_block.load(identify, stored_id, [stored_id, annotator_id, campaign, admin_campaign],
                            api_visibility="private")
    campaign.change(open_campaign, [campaign, annotator_id],
                   [instructions, pair_panel, rating_panel, tie_button, *pair_view[:3], *item_view[:4], progress],
                   js=BLUR_JS, api_visibility="private")
    for name, button in (("left", left_button), ("right", right_button), ("tie", tie_button)):
        button.click(pair_answer_handler(name), [campaign, annotator_id, pair_id], pair_view,
                     api_visibility="private", concurrency_limit=answer_limit, concurrency_id="answers")
    for value, button in score_buttons.items():
        button.click(rating_answer_handler(value), [campaign, annotator_id, item_id], item_view,
                     api_visibility="private", concurrency_limit=answer_limit, concurrency_id="answers")
    api = dict(queue=config.annotate_queue, concurrency_limit=answer_limit, concurrency_id="answers",
               show_progress="hidden")
    gr.on([], new_annotator, None, annotator_id, api_name="new_annotator", **api)
    gr.on([], next_pair, [campaign, annotator_id], [pair_id, *image_urls[:2], progress], api_name="next_pair", **api)
    gr.on([], vote, [campaign, annotator_id, pair_id, choice, client_id], ack, api_name="vote", **api)
    gr.on([], next_item, [campaign, annotator_id], [item_id, *image_urls[2:], progress], api_name="next_item", **api)
    gr.on([], rate, [campaign, annotator_id, item_id, score, client_id], ack, api_name="rate", **api)
