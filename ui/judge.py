"""The judge view: what an annotator sees and taps, built twice -- in the Annotate tab (``prefix="annotate"``)
and alone on the crowd-worker page ``/?campaign=NAME`` (``prefix="worker"``, :func:`ui.annotate.build_worker`).

One HTML "stage" shows the pair side by side (labelled Left / Right, as laid out, at every width: the two
images share the row on a 390 px phone), the image to rate with its composite and reference, or the
finished card (thank you, "n of N", the campaign's completion code and its return link for Prolific /
MTurk). Buttons below: Left / Tie / Right or 1-5, then Skip and Undo (``backend.store.session``: a skip and an
undo are stored as corrections; an undone answer stays in the database and counts nowhere). Tapping an image
enlarges it; *Flicker* shows the two images of a pair alternately in one place. Keyboard: ← → ↓, 1-5 (the
hint is hidden on touch screens). Errors an annotator can act on (too fast, a daily cap, undo too late)
stay on the page under the buttons instead of a toast that vanishes.

The answer buttons skip Gradio's queue unless ``HARMONYLAB_ANNOTATE_QUEUE`` is set (as the annotation API
endpoints do): a tap is one HTTP request, answered in tens of milliseconds.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path

import gradio as gr
from gradio import route_utils

from backend.errors import HarmonyLabError
from backend.settings import Settings
from backend.store import rating
from backend.store import session as sessions
from backend.store.campaigns import get_campaign
from ui.rest import PREFIX as REST_PREFIX

log = logging.getLogger(__name__)
PREFIXES = ("annotate", "worker")
KEYS = {"ArrowLeft": "left", "ArrowRight": "right", "ArrowDown": "tie", **{str(s): f"rate-{s}" for s in rating.SCALE}}
PAGE_JS = """
if (!window.harmonylabJudge) {
  window.harmonylabJudge = true;
  const keys = KEYS_JSON, prefixes = PREFIXES_JSON;
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
    if (event.key === 'Escape') { document.querySelectorAll('.hl-zoom-overlay').forEach((e) => e.remove()); return; }
    const suffix = keys[event.key];
    if (!suffix) return;
    for (const prefix of prefixes) {
      const button = document.getElementById(prefix + '-' + suffix);
      if (button && button.offsetParent !== null && !button.disabled) { event.preventDefault(); button.click(); return; }
    }
  });
  document.addEventListener('click', (event) => {
    const flicker = event.target.closest && event.target.closest('.hl-flicker');
    if (flicker) {
      const pair = flicker.closest('.hl-stage').querySelector('.hl-pair');
      if (pair) { pair.classList.toggle('hl-flickering'); flicker.setAttribute('aria-pressed', pair.classList.contains('hl-flickering')); }
      return;
    }
    const overlay = event.target.closest && event.target.closest('.hl-zoom-overlay');
    if (overlay) { overlay.remove(); return; }
    const image = event.target.closest && event.target.closest('img.hl-zoomable');
    if (image) {
      const layer = document.createElement('div');
      layer.className = 'hl-zoom-overlay';
      layer.setAttribute('role', 'dialog');
      layer.innerHTML = '<img alt="enlarged image"><span>tap to close</span>';
      layer.querySelector('img').src = image.src;
      document.body.appendChild(layer);
    }
  });
}
""".replace("KEYS_JSON", json.dumps(KEYS)).replace("PREFIXES_JSON", json.dumps(list(PREFIXES)))
CSS = """
.hl-stage { width: 100%; }
.hl-pair { display: flex; flex-wrap: nowrap; gap: 6px; width: 100%; }
.hl-side { flex: 1 1 0; min-width: 0; margin: 0; display: flex; flex-direction: column; align-items: center; }
.hl-stage figcaption { font-weight: 600; font-size: 0.95rem; margin: 0 0 2px 0; background: var(--background-fill-primary); }
.hl-stage img { display: block; width: 100%; max-height: 46vh; height: auto; object-fit: contain;
  border-radius: 4px; cursor: zoom-in; background: var(--background-fill-secondary); }
.hl-pair.hl-flickering { display: grid; grid-template-columns: 1fr; }
.hl-pair.hl-flickering .hl-side { grid-area: 1 / 1; }
.hl-pair.hl-flickering .hl-side-right { animation: hl-flick 1.2s steps(1, end) infinite; }
@keyframes hl-flick { 0% { opacity: 0; } 50% { opacity: 1; } }
.hl-tools { display: flex; justify-content: flex-end; gap: 8px; font-size: 0.85rem; margin-top: 2px; }
.hl-tools button { border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 1px 8px;
  background: var(--button-secondary-background-fill); font-size: 0.85rem; font-weight: normal; }
.hl-rate { display: flex; flex-direction: column; gap: 4px; align-items: center; }
.hl-rate .hl-main img { max-height: 40vh; }
.hl-context { display: flex; flex-wrap: nowrap; gap: 6px; width: 100%; }
.hl-context figure { flex: 1 1 0; min-width: 0; margin: 0; display: flex; flex-direction: column; align-items: center; }
.hl-context img { max-height: 17vh; }
.hl-finished { text-align: center; padding: 24px 8px; border: 1px solid var(--border-color-primary); border-radius: 8px; }
.hl-finished code { font-size: 1.4rem; padding: 2px 10px; }
.hl-finished a.hl-return { display: inline-block; margin-top: 12px; padding: 10px 18px; border-radius: 6px;
  background: var(--button-primary-background-fill); color: var(--button-primary-text-color); text-decoration: none; }
.hl-notice { padding: 16px 8px; text-align: center; }
.hl-answers { flex-wrap: nowrap !important; gap: 6px !important; }
.hl-answers > button, .hl-answers button { min-width: 0 !important; min-height: 52px; font-size: 0.95rem; padding: 4px 2px; }
.hl-corrections { flex-wrap: nowrap !important; gap: 6px !important; }
.hl-corrections button { min-width: 0 !important; }
.hl-zoom-overlay { position: fixed; inset: 0; z-index: 1000; background: rgba(0, 0, 0, 0.92); overflow: auto;
  display: flex; flex-direction: column; align-items: center; justify-content: center; touch-action: pinch-zoom; }
.hl-zoom-overlay img { max-width: none; max-height: none; width: auto; min-width: 100%; }
.hl-zoom-overlay span { color: #fff; position: fixed; top: 8px; right: 12px; font-size: 0.9rem; }
@media (hover: none), (pointer: coarse) { .hl-key-hint { display: none !important; } }
#annotate-stage img { max-height: 36vh; }
#annotate-stage .hl-context img { max-height: 16vh; }
"""
FINISHED = "finished"


def image_url(request: gr.Request | None, file: str | None) -> str | None:
    """The public URL of a stored image (``<root>/annotate/v1/images/<sha256>.png``): an absolute URL, so
    Gradio hands it to the page and to clients as it is instead of a ``/file=`` URL naming a server path."""
    if file is None:
        return None
    return f"{root_url(request)}{REST_PREFIX}/images/{Path(file).name}"


def root_url(request: gr.Request | None) -> str:
    raw = getattr(request, "request", None)
    if raw is None:
        return ""
    return route_utils.get_root_url(request=raw, route_path=raw.url.path,
                                    root_path=getattr(raw.app, "root_path", None) or None)


def worker_link(request: gr.Request | None, campaign: str) -> str:
    from urllib.parse import quote

    return f"{root_url(request) or ''}/?campaign={quote(campaign)}"


def _figure(url: str | None, caption: str, element_id: str = "", extra: str = "") -> str:
    if url is None:
        return ""
    ident = f' id="{element_id}"' if element_id else ""
    safe = html.escape(url, quote=True)
    return (f'<figure class="hl-side {extra}"{ident}><figcaption>{html.escape(caption)}</figcaption>'
            f'<img class="hl-zoomable" src="{safe}" alt="{html.escape(caption)} image"></figure>')


def pair_html(prefix: str, left: str, right: str) -> str:
    return ('<div class="hl-stage"><div class="hl-pair">'
            + _figure(left, "Left", f"{prefix}-left-image", "hl-side-left")
            + _figure(right, "Right", f"{prefix}-right-image", "hl-side-right")
            + '</div><div class="hl-tools"><button type="button" class="hl-flicker" aria-pressed="false">'
              "Flicker</button><span>tap an image to enlarge it</span></div></div>")


def rating_html(prefix: str, image: str, composite: str | None, reference: str | None) -> str:
    context = _figure(composite, "Before (composite)") + _figure(reference, "Real photo")
    return ('<div class="hl-stage"><div class="hl-rate">'
            + _figure(image, "Harmonized — rate this one", f"{prefix}-rate-image", "hl-main")
            + (f'<div class="hl-context">{context}</div>' if context else "")
            + '</div><div class="hl-tools"><span>tap an image to enlarge it</span></div></div>')


def finished_html(prefix: str, progress: sessions.SessionProgress) -> str:
    parts = [f'<div class="hl-stage"><div class="hl-finished" id="{prefix}-finished">',
             "<h2>All done — thank you!</h2>",
             f"<p>You answered {progress.answered} of {progress.total}.</p>"]
    if progress.completion_code:
        parts.append(f'<p>Your completion code: <code id="{prefix}-completion-code">'
                     f"{html.escape(progress.completion_code)}</code></p>")
    if progress.redirect_url:
        parts.append(f'<a class="hl-return" id="{prefix}-return" href="{html.escape(progress.redirect_url, quote=True)}">'
                     "Return to the study and finish</a>")
    parts.append("</div></div>")
    return "".join(parts)


def notice_html(text: str) -> str:
    return f'<div class="hl-stage"><div class="hl-notice">{html.escape(text)}</div></div>'


def progress_text(progress: sessions.SessionProgress | None) -> str:
    return "" if progress is None else f"Progress: **{progress.text}**"


def _user(profile: gr.OAuthProfile | None) -> str | None:
    return profile.username if profile is not None else None


class JudgeView:
    """The components of one judge view (module docstring) and its events."""

    def __init__(self, prefix: str, config: Settings):
        self.prefix, self.config = prefix, config
        self.token = gr.State("")
        self.question = gr.Markdown(elem_id=f"{prefix}-question")
        with gr.Accordion("Instructions", open=False, elem_id=f"{prefix}-instructions-box") as self.instructions_box:
            self.instructions = gr.Markdown(elem_id=f"{prefix}-instructions")
        self.progress = gr.Markdown(elem_id=f"{prefix}-progress")
        self.stage = gr.HTML("", elem_id=f"{prefix}-stage", js_on_load=None, padding=False)
        with gr.Row(visible=False, elem_classes="hl-answers", elem_id=f"{prefix}-pair-buttons") as self.pair_buttons:
            self.left = gr.Button("◀ Left", variant="primary", elem_id=f"{prefix}-left", scale=1, min_width=0)
            self.tie = gr.Button("Tie", visible=False, elem_id=f"{prefix}-tie", scale=1, min_width=0)
            self.right = gr.Button("Right ▶", variant="primary", elem_id=f"{prefix}-right", scale=1, min_width=0)
        with gr.Row(visible=False, elem_classes="hl-answers", elem_id=f"{prefix}-rating-buttons") as self.rating_buttons:
            self.scores = {s: gr.Button(f"{s} {label}", elem_id=f"{prefix}-rate-{s}", scale=1, min_width=0)
                           for s, label in rating.SCALE.items()}
        with gr.Row(visible=False, elem_classes="hl-corrections", elem_id=f"{prefix}-corrections") as self.corrections:
            self.skip = gr.Button("Skip", size="sm", elem_id=f"{prefix}-skip", scale=1, min_width=0)
            self.undo = gr.Button("↶ Undo last", size="sm", elem_id=f"{prefix}-undo", scale=1, min_width=0)
        self.message = gr.Markdown(elem_id=f"{prefix}-message")
        gr.Markdown("Keys: ← / → choose, ↓ tie, 1–5 rate, Esc closes an enlarged image.",
                    elem_classes="hl-key-hint", elem_id=f"{prefix}-keys")

    @property
    def view_outputs(self) -> list:
        return [self.token, self.stage, self.progress, self.pair_buttons, self.rating_buttons, self.corrections,
                self.message]

    @property
    def open_outputs(self) -> list:
        return [self.question, self.instructions, self.instructions_box, self.tie, *self.view_outputs]

    # ------------------------------------------------------------------------------------------- rendering

    def render(self, served: sessions.Served, request: gr.Request | None, message: str = "") -> tuple:
        """Values of :attr:`view_outputs` for what the session serves."""
        prefix = self.prefix
        if served.pair is not None:
            stage = pair_html(prefix, image_url(request, served.pair.left_image), image_url(request, served.pair.right_image))
            return (served.pair.pair_id, stage, progress_text(served.progress), gr.Row(visible=True),
                    gr.Row(visible=False), gr.Row(visible=True), message)
        if served.item is not None:
            item = served.item
            stage = rating_html(prefix, image_url(request, item.image), image_url(request, item.composite),
                                image_url(request, item.reference))
            return (item.item_id, stage, progress_text(served.progress), gr.Row(visible=False), gr.Row(visible=True),
                    gr.Row(visible=True), message)
        stage = finished_html(prefix, served.progress) if served.message == FINISHED else notice_html(served.message)
        return ("", stage, progress_text(served.progress), gr.Row(visible=False), gr.Row(visible=False),
                gr.Row(visible=False), message)

    def problem(self, error: HarmonyLabError) -> tuple:
        """Everything as it is, and the error's sentence under the buttons."""
        return (*(gr.skip(),) * (len(self.view_outputs) - 1), f"⚠ {error}")

    # ---------------------------------------------------------------------------------------------- events

    def opened(self, campaign: str, annotator_id: str, request: gr.Request | None, profile=None) -> tuple:
        """Values of :attr:`open_outputs` for campaign ``campaign`` (its question, instructions and the first
        pair or image of the session)."""
        try:
            info = get_campaign(campaign)
            served = sessions.serve_next(campaign, annotator_id, hf_user=_user(profile))
        except HarmonyLabError as error:
            return ("", "", gr.Accordion(), gr.Button(), "", notice_html(str(error)), "", gr.Row(visible=False),
                    gr.Row(visible=False), gr.Row(visible=False), "")
        instructions = info.instructions
        if info.kind == "rating" and "authenticity" not in instructions.lower():
            instructions += ("\n\nJudge together: " + ", ".join(rating.CRITERIA) + ".")
        first_visit = served.progress.answered == 0
        return (f"### {info.question}", instructions, gr.Accordion(open=first_visit),
                gr.Button(visible=info.allow_tie), *self.render(served, request))

    def wire(self, campaign: gr.components.Component, annotator: gr.components.Component) -> None:
        """Answer, skip and undo events (``campaign`` and ``annotator`` hold the campaign name and the id)."""
        queued = self.config.annotate_queue
        options = dict(queue=queued, show_progress="hidden", api_visibility="private")
        if queued:
            options.update(concurrency_limit=self.config.annotate_concurrency, concurrency_id="answers")
        inputs = [campaign, annotator, self.token]
        for choice, button in (("left", self.left), ("right", self.right), ("tie", self.tie)):
            button.click(self._answer(choice), inputs, self.view_outputs, **options)
        for value, button in self.scores.items():
            button.click(self._answer(value), inputs, self.view_outputs, **options)
        self.skip.click(self._skip, inputs, self.view_outputs, **options)
        self.undo.click(self._undo, inputs, self.view_outputs, **options)

    def _answer(self, answer):
        def answer_and_next(campaign, annotator_id, token, request: gr.Request, profile: gr.OAuthProfile | None = None):
            if not token:  # nothing on screen (no campaign yet, or the session finished)
                return (gr.skip(),) * len(self.view_outputs)
            try:
                _, served = sessions.answer_and_next(campaign, annotator_id, token, answer, hf_user=_user(profile))
            except HarmonyLabError as error:
                return self.problem(error)
            return self.render(served, request)

        answer_and_next.__name__ = f"{self.prefix}_answer_{answer}"
        return answer_and_next

    def _skip(self, campaign, annotator_id, token, request: gr.Request, profile: gr.OAuthProfile | None = None):
        if not token:
            return (gr.skip(),) * len(self.view_outputs)
        try:
            return self.render(sessions.skip(campaign, annotator_id, token, hf_user=_user(profile)), request)
        except HarmonyLabError as error:
            return self.problem(error)

    def _undo(self, campaign, annotator_id, token, request: gr.Request, profile: gr.OAuthProfile | None = None):
        if not campaign:
            return (gr.skip(),) * len(self.view_outputs)
        try:
            served = sessions.undo_last(campaign, annotator_id, hf_user=_user(profile))
        except HarmonyLabError as error:
            return self.problem(error)
        return self.render(served, request, "Your last answer was undone; answer this one again.")
