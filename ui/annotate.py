"""Annotate tab: the annotation portal (pairwise comparisons and 5-point ratings, stored in SQL), and the
crowd-worker page ``/?campaign=NAME``.

Layout and event wiring only; every handler calls one service of ``backend.store``. The judge view itself
(stage, buttons, skip / undo, "n of N", the finished card) is :mod:`ui.judge`, built here twice: in the
Judge tab (with the campaign chooser and the admin section) and alone for crowd workers
(:func:`build_worker`: ``ui.app`` shows only that column when the address names a campaign).

Public API endpoints (the contract other tools rely on; ``gradio_client`` or plain HTTP):
- ``/new_annotator() -> annotator_id``: an annotator id issued by the server, which every call below needs
  (a made-up id is refused with a sentence pointing here; the page keeps one per browser)
- ``/next_pair(campaign, annotator_id) -> (pair_id, left_image_url, right_image_url, progress)``
- ``/vote(campaign, annotator_id, pair_id, choice, client_vote_id) -> ack`` (choice: left / right / tie)
- ``/next_item(campaign, annotator_id) -> (item_id, image_url, composite_url, reference_url, progress)``
- ``/rate(campaign, annotator_id, item_id, score, client_rating_id) -> ack`` (score: 1..5)
- admin (password ``HARMONYLAB_ADMIN_PASSWORD``): ``/admin_create_campaign``, ``/admin_export``,
  ``/admin_stats``, ``/admin_flag``, ``/admin_session`` (answers per worker, completion code, return URL).
Sending the same client id twice stores one answer; the ack says ``"stored"`` or ``"duplicate"``.
Images are absolute URLs of the image route of ``ui/rest.py`` (content hashes; never a server path).
Errors are ``gr.Error`` sentences; through ``/gradio_api/run/...`` they come with status 400, 403 (id not
issued here) or 429 (rate limit, with ``Retry-After``) — see :mod:`ui.gradio_http`.

Identity: an annotator id the server issued and signed (:mod:`backend.store.annotators`), kept in the
browser (``gr.BrowserState``), or the Hugging Face login on Spaces (``SPACE_ID`` set: a login button;
handlers take ``gr.OAuthProfile``). ``gr.BrowserState`` encrypts in JavaScript with a key Gradio sends to
the page, so its key is public (derived one-way from the root key) and proves nothing; the id's own
signature does. No IP address is stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import gradio as gr
from gradio.context import Context

from backend.errors import InputError, RateLimitedError
from backend.settings import Settings
from backend.store import admin, pairwise, portal, rating
from backend.store import session as sessions
from backend.store.annotators import browser_state_key as browser_state_key_of
from backend.store.annotators import issue_annotator_id, set_flag
from backend.store.campaigns import (
    CampaignSettings,
    create_campaign_from_archive,
    get_campaign,
    list_campaigns,
)
from backend.store.db import default_database
from backend.store.export import campaign_stats, export_campaign
from backend.store.samplers import SAMPLERS
from ui.common import check_admin_password, file_paths, temporary_file, user_errors
from ui.judge import CSS, PAGE_JS, JudgeView, image_url, worker_link

log = logging.getLogger(__name__)
CONTRACT = ("**Your data:** answers are stored with an anonymous id kept in this browser (or your Hugging Face "
            "name when you sign in). No IP address is stored.")
WORKER_CSS = """
html:not(.hl-worker-mode) #hl-worker { display: none !important; }
html.hl-worker-mode #hl-main, html.hl-worker-mode footer { display: none !important; }
html.hl-worker-mode .gradio-container { padding: 4px 6px !important; max-width: 100% !important; }
html.hl-worker-mode .main, html.hl-worker-mode .wrap, html.hl-worker-mode .contain { padding: 0 !important; }
#hl-worker { gap: 6px !important; }
#hl-worker h3 { margin: 2px 0 !important; font-size: 1.05rem; }
#worker-footer { font-size: 0.75rem; opacity: 0.75; }
"""
# Runs in the page's <head> before Gradio renders: a worker link shows the judge view alone, without a flash
# of the demo tabs.
WORKER_HEAD = """<script>
(function () {
  var campaign = new URLSearchParams(window.location.search).get('campaign');
  if (campaign) document.documentElement.classList.add('hl-worker-mode');
})();
</script>"""
PAGE_CSS = CSS + WORKER_CSS


def _user(profile: gr.OAuthProfile | None) -> str | None:
    return profile.username if profile is not None else None


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


def _pair_outputs(served: pairwise.ServedPair | None, request: gr.Request | None):
    if served is None:
        return "", None, None, ""
    return (served.pair_id, image_url(request, served.left_image), image_url(request, served.right_image),
            served.progress.text)


def _item_outputs(served: rating.ServedItem | None, request: gr.Request | None):
    if served is None:
        return "", None, None, None, ""
    return (served.item_id, image_url(request, served.image), image_url(request, served.composite),
            image_url(request, served.reference), served.progress.text)


def open_campaign_names() -> list[str]:
    """The open campaigns, newest first (none when the store is unavailable: the tab says why)."""
    try:
        return [c["name"] for c in list_campaigns(only_open=True)]
    except Exception:  # noqa: BLE001 - the store is unavailable; the page still loads
        return []


def all_campaign_names() -> list[str]:
    try:
        return [c["name"] for c in list_campaigns()]
    except Exception:  # noqa: BLE001
        return []


def _annotator_id(stored_id) -> str:
    try:
        return portal.browser_annotator_id(stored_id)
    except RateLimitedError as error:  # a crowd arriving at once: this visitor reloads in a moment
        gr.Warning(f"Too many new visitors right now; reload the page in {error.retry_after} s to get an "
                   "annotator id.")
    except Exception:  # noqa: BLE001 - the store is unavailable (no key to sign with): the tab says so
        log.exception("no annotator id could be issued")
    return ""


def campaign_lists(current=None):
    """Fresh campaign choosers (Judge: open campaigns; admin: all), keeping the current choice."""
    names, every = open_campaign_names(), all_campaign_names()
    value = current if current in names else (names[0] if len(names) == 1 and current is None else current)
    return gr.Dropdown(choices=names, value=value), gr.Dropdown(choices=every), gr.Dropdown(choices=every)


def campaign_link(campaign, request: gr.Request):
    """The crowd-worker link of the chosen campaign."""
    if not campaign:
        return ""
    return (f"Link for crowd workers (this campaign alone, phone-sized): "
            f"[{worker_link(request, campaign)}]({worker_link(request, campaign)})")


# ---------------------------------------------------------------------------------- admin handlers




@user_errors
def admin_create_campaign(password, archive, name, kind, allow_tie, gold_rate, gold_min_accuracy, daily_cap,
                          min_response_ms, sampler, instructions, question, progress=gr.Progress()):  # noqa: B008
    """Create a campaign from a .zip (manifest.csv, optional gold.csv, images); returns its counts."""
    check_admin_password(password)
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
    check_admin_password(password)
    out = temporary_file(f".{file_format or 'csv'}", prefix=f"harmonylab-{campaign}-")
    export_campaign(campaign, out, include_flagged=not exclude_flagged)
    return str(out)


@user_errors
def admin_stats(password, campaign):
    """Counts of a campaign (answers, annotators, flags, gold accuracy, per method)."""
    check_admin_password(password)
    return campaign_stats(campaign)


@user_errors
def admin_flag(password, annotator, reason, unflag):
    """Flag an annotator (answers kept, excluded from aggregation) or lift the flag."""
    check_admin_password(password)
    set_flag(annotator, not unflag, reason or None)
    return f"Annotator {annotator} {'unflagged' if unflag else 'flagged'}."


@user_errors
def admin_session(password, campaign, target_answers, completion_code, redirect_url, request: gr.Request):
    """Worker session settings of a campaign: answers per worker (0 = every pair or image once), the completion
    code and the return URL shown when a worker is done; returns the worker link and the settings."""
    check_admin_password(password)
    name = get_campaign(campaign).name
    settings = sessions.set_session_settings(name, sessions.check_settings(target_answers, completion_code,
                                                                           redirect_url))
    return {"campaign": name, "worker_link": worker_link(request, name), "answers_per_worker": settings.target_answers,
            "completion_code": settings.completion_code, "redirect_url": settings.redirect_url}


# ------------------------------------------------------------------------------------------- layout


def _store_status() -> str:
    """Open the store at start-up (which upgrades its schema); a sentence when that fails. Campaign images are
    served by the REST route ``/annotate/v1/images/...`` from whichever media store is configured."""
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


def _admin_section() -> tuple[list[gr.Dropdown], object]:
    """The admin accordion; returns its campaign choosers (hidden ones when the section is disabled)."""
    with gr.Accordion("Admin", open=False, elem_id="annotate-admin"):
        if not admin.admin_enabled():
            gr.Markdown("*The admin section is switched off on this server (its operator can switch it on).*")
            return [gr.Dropdown(visible=False, allow_custom_value=True) for _ in range(2)], None
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
            create_button = gr.Button("Create campaign", variant="primary")
            created_event = create_button.click(
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
        with gr.Tab("Worker sessions"):
            gr.Markdown("A crowd worker opens the campaign's own page, `/?campaign=NAME`: the judge view alone, "
                        "sized for a phone. Set how many answers a session asks for and, for Prolific or MTurk, the "
                        "completion code and return link shown at the end.")
            with gr.Row():
                session_campaign = gr.Dropdown([], label="Campaign", allow_custom_value=True,
                                               elem_id="annotate-session-campaign")
                session_target = gr.Number(0, label="Answers per worker (0 = every pair or image once)", precision=0,
                                           minimum=0)
                code = gr.Textbox(label="Completion code (optional)", placeholder="e.g. C1A2B3C4")
                redirect = gr.Textbox(label="Return URL (optional, https://)",
                                      placeholder="https://app.prolific.com/submissions/complete?cc=...")
            session_saved = gr.JSON(label="Worker link and session")
            gr.Button("Save session settings").click(admin_session, [password, session_campaign, session_target, code, redirect],
                                                     session_saved, api_name="admin_session")
        with gr.Tab("Flag annotator"):
            with gr.Row():
                annotator = gr.Textbox(label="Annotator key (as in exports)")
                reason = gr.Textbox(label="Reason")
                unflag = gr.Checkbox(label="Remove the flag instead")
            flagged = gr.Markdown()
            gr.Button("Apply").click(admin_flag, [password, annotator, reason, unflag], flagged, api_name="admin_flag")
    return [target, session_campaign], created_event


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


@dataclass
class AnnotateTab:
    """What ``ui.app`` wires across tabs: the campaign choosers to refresh and the page's load outputs."""

    stored_id: gr.BrowserState
    annotator_id: gr.Textbox
    campaign: gr.Dropdown
    admin_campaigns: list
    created: object  # the admin's "Create campaign" event (None when the admin section is off)

    def refresh(self, trigger) -> None:
        """Re-list the campaigns after ``trigger`` (a tab select, a created campaign)."""
        trigger(campaign_lists, self.campaign, [self.campaign, *self.admin_campaigns], api_visibility="private",
                show_progress="hidden", queue=False)


def build(config: Settings) -> AnnotateTab:
    """The Judge sub-tab: campaign chooser, annotator id, judge view, worker link, admin section, API endpoints."""
    status = _store_status()
    if status:
        gr.Markdown(status)
    stored_id = _at_root(lambda: gr.BrowserState(None, storage_key="harmonylab-annotator-id", secret=browser_state_key()))
    with gr.Row():
        campaign = gr.Dropdown([], label="Campaign", allow_custom_value=True, elem_id="annotate-campaign", scale=3)
        annotator_id = gr.Textbox(label="Your anonymous annotator id", interactive=False, elem_id="annotate-annotator",
                                  scale=2)
        if config.on_spaces:
            gr.LoginButton(scale=1)
    link = gr.Markdown(elem_id="annotate-worker-link")
    gr.Markdown(CONTRACT)
    view = JudgeView("annotate", config)
    with gr.Row(visible=False):  # values of the API endpoints
        pair_id = gr.Textbox(label="pair id", elem_id="annotate-pair-id")
        item_id = gr.Textbox(label="item id", elem_id="annotate-item-id")
        choice = gr.Textbox(label="choice")
        score = gr.Textbox(label="score")
        client_id = gr.Textbox(label="client id")
        ack = gr.JSON(label="acknowledgement")
        api_progress = gr.Textbox(label="progress")
        # the API endpoints answer image URLs as text (a client fetches them; gradio_client would otherwise try
        # to download an image output through Gradio's /file= route, which only serves files Gradio holds)
        image_urls = [gr.Textbox(label=f"{what} image URL") for what in ("left", "right", "rated", "composite",
                                                                           "reference")]
    admin_campaigns, created = _admin_section()

    def open_chosen(name, annotator, request: gr.Request, profile: gr.OAuthProfile | None = None):
        if not name:  # the chooser was cleared (or set empty at page load): nothing to show yet
            return (gr.skip(),) * len(view.open_outputs)
        return view.opened(name, annotator, request, profile)

    campaign.change(open_chosen, [campaign, annotator_id], view.open_outputs, api_visibility="private",
                    show_progress="hidden")
    campaign.change(campaign_link, campaign, link, api_visibility="private", show_progress="hidden", queue=False)
    view.wire(campaign, annotator_id)
    api = dict(queue=config.annotate_queue, concurrency_limit=config.annotate_concurrency, concurrency_id="answers",
               show_progress="hidden")
    gr.on([], new_annotator, None, annotator_id, api_name="new_annotator", **api)
    gr.on([], next_pair, [campaign, annotator_id], [pair_id, *image_urls[:2], api_progress], api_name="next_pair", **api)
    gr.on([], vote, [campaign, annotator_id, pair_id, choice, client_id], ack, api_name="vote", **api)
    gr.on([], next_item, [campaign, annotator_id], [item_id, *image_urls[2:], api_progress], api_name="next_item",
          **api)
    gr.on([], rate, [campaign, annotator_id, item_id, score, client_id], ack, api_name="rate", **api)
    tab = AnnotateTab(stored_id, annotator_id, campaign, admin_campaigns, created)
    if created is not None:
        tab.refresh(created.then)
    return tab


@dataclass
class WorkerView:
    campaign: gr.State
    annotator_id: gr.State
    view: JudgeView


def build_worker(config: Settings) -> WorkerView:
    """The crowd-worker page: the judge view alone (``ui.app`` puts it in a column shown only for
    ``/?campaign=NAME``)."""
    # keys, zoom and flicker for both judge views: installed here, at the top of the page, which is always
    # mounted (tabs mount lazily, so a script inside the Annotate tab would not run on a worker's page)
    gr.HTML("", js_on_load=PAGE_JS, elem_id="judge-script", visible="hidden")
    campaign = gr.State("")
    annotator_id = gr.State("")
    view = JudgeView("worker", config)
    if config.on_spaces:
        gr.LoginButton(size="sm")
    gr.Markdown(CONTRACT, elem_id="worker-footer")
    view.wire(campaign, annotator_id)
    return WorkerView(campaign, annotator_id, view)


def page_load(tab: AnnotateTab, worker: WorkerView) -> None:
    """One page-load event for both: the browser's annotator id, the campaign lists, and -- when the address
    is a worker link -- the worker's campaign opened at once."""
    outputs = [tab.stored_id, tab.annotator_id, tab.campaign, *tab.admin_campaigns, worker.campaign,
               worker.annotator_id, *worker.view.open_outputs]

    def load(stored_id, request: gr.Request, profile: gr.OAuthProfile | None = None):
        annotator = _annotator_id(stored_id)
        lists = campaign_lists()
        wanted = (request.query_params.get("campaign") or "").strip() if request is not None else ""
        if not wanted:
            worker_part = (gr.skip(),) * (2 + len(worker.view.open_outputs))
        else:
            worker_part = (wanted, annotator, *worker.view.opened(wanted, annotator, request, profile))
        return (annotator or gr.skip(), annotator, *lists, *worker_part)

    Context.root_block.load(load, tab.stored_id, outputs, api_visibility="private", show_progress="hidden")


