"""Harmonize tab (paper 002): paint or upload the foreground of a composite, harmonize, compare.

Inputs: the composite in an ImageEditor (paint the foreground with the brush -- it is half transparent, so
the photo shows through; the painted layer's alpha is the mask) or an uploaded mask, an optional reference
(the real photo) for the iHarmony4 metrics, and one or several harmonizers (those that cannot run on this
server are listed greyed out with the reason). Outputs, each labelled with its method: a before/after slider
(composite vs the result you pick; by default the best by the reference's fMSE when there is one, else the
outline-inverse result when its outline gave evidence, else semantic routing), a gallery of every result
captioned with its method (clicking one shows it in the slider), the similarity overlay (which background instances drove the colours), and a metrics table with the
direction of each metric and the best value highlighted. A method that fails gets a row with its reason;
the others' results stay. A composite above the working size is harmonized at it (the note says so) and the
result file is carried back to the composite's own size (``backend.harmonization.service``). API endpoint
``/harmonize``.

"Add to campaign" (issue 5; API endpoint ``/add_to_campaign``) adds the composite (method ``composite``)
and every harmonized result (method = harmonizer name) to an existing annotation campaign as one group,
with the composite and reference attached (see :mod:`backend.store.items`). Adding images to a campaign
changes what annotators are shown, so it takes the portal's admin password (``HARMONYLAB_ADMIN_PASSWORD``),
as creating a campaign does in the Annotate tab's admin section; the password is checked before any image
is decoded.

The editor and the slider are :mod:`ui.inputs` components: Gradio hands their uploads over undecoded, and
``backend.images`` decodes them after its checks (pixel limit, formats, metadata; issue #20).

``build()`` returns the components another tab may wire (the result, reference and mask files and the
"send to Score" button), so the app can send a result to the Score tab without this module knowing about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from backend import registry, settings
from backend.harmonization.registration import DEFAULT_METHODS
from backend.settings import Settings
from ui.common import check_admin_password, checked_uploads, file_paths, temporary_file, user_errors
from ui.inputs import ImageEditorInput, ImageSliderInput

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
BRUSH_COLOUR = "rgba(255, 0, 102, 0.5)"  # half transparent: the photo stays visible under the painted mask
METRICS = {"mse": ("MSE ↓", True), "fmse": ("fMSE ↓", True), "psnr": ("PSNR ↑", False), "fpsnr": ("fPSNR ↑", False)}
CSS = """
#harmonize-editor-problem { display: none; color: var(--error-text-color, #b91c1c); font-weight: 600; padding: 4px 0; }
#harmonize-overlay img, #harmonize-slider img { object-fit: contain !important; }
#harmonize-overlay img { width: 100% !important; height: auto !important; max-height: 520px; }
#harmonize-gallery .thumbnail-item { display: flex !important; flex-direction: column !important; height: auto !important; }
#harmonize-gallery .caption-label { position: static !important; display: block !important; opacity: 1 !important;
  transform: none !important; max-width: 100% !important; background: var(--block-background-fill) !important;
  color: var(--body-text-color) !important; font-weight: 600; font-size: 0.9rem; text-align: center;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding: 2px 4px; }
"""


# The editor opens an upload in the browser, so a file the browser cannot draw (not an image, a truncated JPEG) or a
# canvas too large for it never reaches the server: the page checks the file itself and says what is wrong.
EDITOR_CHECK_JS = """
if (!window.harmonylabEditorCheck) {
  window.harmonylabEditorCheck = true;
  const limit = MAX_PIXELS;
  const say = (text) => {
    const box = document.getElementById('harmonize-editor-problem');
    if (box) { box.textContent = text; box.style.display = text ? 'block' : 'none'; }
  };
  document.addEventListener('change', async (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== 'file' || !input.closest('#harmonize-editor')) return;
    const file = input.files && input.files[0];
    say('');
    if (!file) return;
    const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
    const tail = new Uint8Array(await file.slice(-2).arrayBuffer());
    if (head[0] === 0xff && head[1] === 0xd8 && !(tail[0] === 0xff && tail[1] === 0xd9)) {
      say(`'${file.name}' is a truncated or damaged JPEG; upload the complete file.`);
      return;
    }
    let bitmap;
    try { bitmap = await createImageBitmap(file); } catch (error) {
      say(`'${file.name}' is not an image this page can show; upload a PNG, JPEG, WebP, TIFF, BMP or GIF file.`);
      return;
    }
    const pixels = bitmap.width * bitmap.height;
    if (pixels > limit) {
      say(`'${file.name}' is ${bitmap.width}x${bitmap.height} = ${(pixels / 1e6).toFixed(1)} MP, above the limit of ` +
          `${Math.round(limit / 1e6)} MP this server accepts; downscale it and upload it again.`);
    }
  }, true);
}
"""


@dataclass
class HarmonizeTab:
    result_file: gr.File
    send_to_score: gr.Button
    reference_file: gr.File
    mask_file: gr.File
    campaign: gr.Dropdown


def method_choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(label, name) of the harmonizers that can run here, and of those that cannot (with the reason)."""
    ready, unavailable = [], []
    for card in registry.list_models("harmonize"):
        status = registry.status(card.name)
        if status.ready:
            ready.append((f"{card.name}: {card.summary}", card.name))
        else:
            reason = "its trained weights are not on this server" if status.state == "unavailable" else status.state
            unavailable.append((f"{card.name} — {reason}", card.name))
    return ready, unavailable


def examples() -> list[list[str]]:
    rows = []
    for composite in sorted((EXAMPLES_DIR / "composite").glob("*")):
        mask = EXAMPLES_DIR / "mask" / (composite.stem + ".png")
        real = EXAMPLES_DIR / "real" / composite.name
        if mask.exists():
            rows.append([str(composite), str(mask), str(real) if real.exists() else None])
    return rows


def _save(image, prefix: str) -> str:
    from backend.images import save_png

    path = temporary_file(".png", prefix=prefix)
    save_png(image, path, compress_level=1)  # shown once: fast to write matters more than size
    return str(path)


def campaign_choices() -> list[str]:
    """The names of the existing campaigns (none when the store is unavailable: adding then says why)."""
    from backend.store.campaigns import list_campaigns

    try:
        return [c["name"] for c in list_campaigns()]
    except Exception:
        return []


def campaign_list():
    return gr.Dropdown(choices=campaign_choices())


@user_errors
def add_to_campaign(campaign, password, group, slider, gallery, reference_file):
    """Add the composite and every harmonized result to a campaign as one group (admin password required).

    ``slider`` is the (composite, result) pair shown, ``gallery`` the results captioned with their harmonizer;
    ``group`` defaults to ``harmonize-<hash of the composite>``. Returns what was added, already present or refused.
    """
    check_admin_password(password)  # first: nothing is decoded for a caller without the password
    from backend.store.items import add_items, harmonized_items

    composite = slider[0] if slider else None
    results = [(image, caption or "") for image, caption in (gallery or [])]
    reference = (file_paths(reference_file) or [None])[0]
    return add_items(campaign, harmonized_items(composite, results, reference, group))


def default_shown(results, has_reference: bool) -> str:
    """The result the slider shows first: the lowest fMSE against the reference; else the outline inverse when
    the outline gave it evidence (the best held-out fMSE of #23), else semantic routing, else the first method
    that changes anything."""
    produced = [item for item in results if item.result is not None]
    changed = [item for item in produced if item.method != "composite"] or produced
    if has_reference:
        return min(changed, key=lambda item: item.errors["fmse"]).method
    preferred = [item for item in changed if item.method == "outline-inverse" and not item.result.details.get("fallback")]
    preferred += [item for item in changed if item.method == "semantic-routing"]
    return (preferred or changed)[0].method


def metrics_table(results, has_reference: bool):
    """Time and errors per method, the direction of each metric in its header and the best value highlighted;
    a failed method's row says why."""
    rows = []
    for item in results:
        row = {"method": item.method, "seconds": round(item.seconds, 3)}
        if has_reference:
            for key, (header, _) in METRICS.items():
                row[header] = round(item.errors[key], 3) if item.errors else np.nan
        row["status"] = "✓" if not item.error else f"✗ {item.error}"
        rows.append(row)
    table = pd.DataFrame(rows)
    if not has_reference:
        return table
    best = {header: (table[header].min() if lower else table[header].max()) for header, lower in METRICS.values()}

    def highlight(column):
        if column.name not in best:
            return [""] * len(column)
        return ["font-weight: bold; background-color: #c8f7c5; color: #14532d" if value == best[column.name]
                else "" for value in column]

    return table.style.apply(highlight).format(precision=3, na_rep="")


@user_errors
def harmonize(editor, mask_file, reference_file, methods, progress=gr.Progress()):  # noqa: B008 - Gradio injects it
    """Harmonize the composite (editor background) with each chosen method.

    The mask is the uploaded mask file when given, else what was painted on the editor. Returns the
    before/after pair, the gallery of results (captioned with their method), the similarity overlay, the
    metrics table, the result file shown (its own size), the method shown, the notes (working size, methods
    that failed) and the mask used (PNG, for "send to Score").
    """
    from backend.harmonization.overlay import similarity_overlay
    from backend.harmonization.service import full_size_result, harmonize_run
    from backend.images import load_mask

    mask_source = (file_paths(mask_file) or [None])[0] or editor
    reference = (file_paths(reference_file) or [None])[0]
    order = [card.name for card in registry.list_models("harmonize")]
    chosen = sorted(methods or [], key=lambda name: order.index(name) if name in order else len(order))
    run = harmonize_run(editor, mask_source, chosen, reference, progress=lambda f, text: progress(f, desc=text),
                        failures="report", working_pixels=settings.current().working_pixels)
    composite, mask = run.composite, run.mask
    gallery, overlay, files = [], None, {}
    for item in run.results:
        if item.result is None:
            continue
        path = _save(item.result.image, f"harmonized-{item.method}-")
        gallery.append((path, item.method))
        files[item.method] = path
        details = item.result.details
        if overlay is None and "similarity_map" in details:
            overlay = similarity_overlay(composite, mask, details["similarity_map"], details.get("instances"),
                                         stretch=True)
    shown = default_shown(run.results, run.reference is not None)
    shown_result = next(item for item in run.results if item.method == shown).result.image
    if run.reduced:
        result_path = _save(full_size_result(editor, mask_source, run, shown_result), f"harmonized-{shown}-full-")
        full_mask = load_mask(mask_source, shape=(run.original_size[1], run.original_size[0]), name="foreground mask")
    else:
        result_path, full_mask = files[shown], mask
    notes = list(run.notes) + [f"**{item.method}** gave no result: {item.error}" for item in run.results if item.error]
    composite_path = _save(composite, "composite-")
    return (_slider((composite_path, files[shown]), shown), gallery, overlay,
            metrics_table(run.results, run.reference is not None),
            result_path, shown, "\n\n".join(notes),
            _save(full_mask, "mask-"),
            {"composite": composite_path, "results": files, "original_size": run.original_size if run.reduced else None})


@user_errors
def check_editor_upload(editor):
    """A composite uploaded into the editor is checked at once: a file the browser cannot show (not an image, a
    truncated JPEG) or one above the pixel limit is taken out again with a warning saying why."""
    from backend.errors import HarmonyLabError
    from backend.images import check_image_file

    background = (editor or {}).get("background")
    if background is None:
        return gr.skip()
    try:
        check_image_file(background, name="composite", decode=True)
    except HarmonyLabError as error:
        gr.Warning(str(error))
        return None
    return gr.skip()


@user_errors
def show_result(method, state, editor, mask_file):
    """Put ``method``'s result in the slider and the result file (the same run: a result harmonized at the working
    size is carried back to the composite's own size, nothing is harmonized again)."""
    if not state or method not in state.get("results", {}):
        return gr.skip(), gr.skip()
    path = state["results"][method]
    if not state.get("original_size"):
        return _slider((state["composite"], path), method), path
    from backend.harmonization.service import HarmonizeRun, full_size_result
    from backend.images import load_image

    small = load_image(state["composite"], name="composite")
    run = HarmonizeRun(small, np.zeros(small.shape[:2], bool), [], tuple(state["original_size"]))
    mask_source = (file_paths(mask_file) or [None])[0] or editor
    full = full_size_result(editor, mask_source, run, load_image(path, name="result"))
    return _slider((state["composite"], path), method), _save(full, f"harmonized-{method}-full-")


def _slider(pair, method: str):
    """The slider's value (the method it shows is the one picked in the radio above it)."""
    return pair


def pick_from_gallery(state, event: gr.SelectData):
    """Clicking a result in the gallery shows it in the slider."""
    methods = list((state or {}).get("results", {}))
    if event is None or not 0 <= event.index < len(methods):
        return gr.skip()
    return gr.Radio(value=methods[event.index])


def build(config: Settings) -> HarmonizeTab:
    gr.Markdown(
        "Upload a composite, **paint its foreground** with the brush (or upload a mask), pick harmonizers and "
        "press *Harmonize*. The similarity overlay shows which background regions the semantic-routed "
        "methods followed (yellow = looks like the foreground). Add the real photo as reference to get "
        "iHarmony4 errors (MSE, fMSE, PSNR, fPSNR at 256x256)."
    )
    examples_slot = gr.Column()
    with gr.Row():
        with gr.Column(scale=3):
            editor = ImageEditorInput(label="Composite — paint the foreground", type="filepath", format="png",
                                      brush=gr.Brush(colors=[BRUSH_COLOUR], default_size=24, color_mode="fixed"),
                                      eraser=gr.Eraser(default_size=24), transforms=(), elem_id="harmonize-editor",
                                      height=480)
            gr.HTML("", js_on_load=EDITOR_CHECK_JS.replace("MAX_PIXELS", str(config.max_pixels)),
                    elem_id="harmonize-editor-problem", elem_classes="hl-problem")
        with gr.Column(scale=2):
            mask_file = gr.File(label="Foreground mask (optional; replaces the painting)", elem_id="harmonize-mask")
            reference = gr.File(label="Reference / real photo (optional)", elem_id="harmonize-reference")
            ready, unavailable = method_choices()
            names = {name for _, name in ready}
            methods = gr.CheckboxGroup(choices=ready, value=[m for m in DEFAULT_METHODS if m in names],
                                       label="Harmonizers", elem_id="harmonize-methods")
            if unavailable:
                gr.CheckboxGroup(choices=unavailable, value=[], interactive=False, label="Not available on this server",
                                 elem_id="harmonize-unavailable")
            run = gr.Button("Harmonize", variant="primary", elem_id="harmonize-run")
    notes = gr.Markdown(elem_id="harmonize-notes")
    with gr.Row():
        with gr.Column(scale=3):
            shown = gr.Radio(choices=[], label="Result in the slider (composite ↔ this method)",
                             elem_id="harmonize-shown")
            slider = ImageSliderInput(label="Composite ↔ the result picked above", elem_id="harmonize-slider",
                                      type="filepath", format="png", max_height=520, interactive=False)
        overlay = gr.Image(label="Background instances by similarity to the foreground (yellow = most similar)",
                           type="numpy", elem_id="harmonize-overlay", interactive=False, height=520, scale=2)
    gallery = gr.Gallery(label="All results, each captioned with its method (click one to show it in the slider)",
                         columns=4, height=320, object_fit="contain", fit_columns=False, elem_id="harmonize-gallery",
                         interactive=False, allow_preview=False)
    table = gr.Dataframe(label="Time and errors against the reference (↓ lower is better, ↑ higher is better; "
                               "best in green)", interactive=False, elem_id="harmonize-table")
    with gr.Row():
        result_file = gr.File(label="Result shown in the slider (PNG, the composite's own size)", interactive=False,
                              elem_id="harmonize-result-file")
        used_mask = gr.File(label="Foreground mask used (PNG)", interactive=False, elem_id="harmonize-used-mask")
        send = gr.Button("Send result, reference and mask to the Score tab", elem_id="harmonize-send-score")
    state = gr.State({})
    with gr.Accordion("Add to an annotation campaign", open=False, elem_id="harmonize-add-campaign"):
        with gr.Row():
            campaign = gr.Dropdown(campaign_choices(), label="Campaign", allow_custom_value=True,
                                   elem_id="harmonize-campaign")
            group = gr.Textbox(label="Group (optional)", placeholder="harmonize-<hash of the composite>",
                               elem_id="harmonize-group")
            password = gr.Textbox(label="Admin password", type="password", elem_id="harmonize-admin-password")
        add = gr.Button("Add composite and results to the campaign", elem_id="harmonize-add")
        added = gr.JSON(label="Added", elem_id="harmonize-added")
    campaign.focus(campaign_list, None, campaign, api_visibility="private")
    add.click(add_to_campaign, [campaign, password, group, slider, gallery, reference], added,
              api_name="add_to_campaign")
    rows = examples()
    if rows:
        with examples_slot:
            gr.Examples(rows, inputs=[editor, mask_file, reference], label="Examples (composite, mask, real photo)")
    quiet = dict(api_visibility="private", show_progress="hidden")
    editor.upload(check_editor_upload, editor, editor, **quiet)
    mask_file.upload(checked_uploads("foreground mask", decode=True), mask_file, mask_file, **quiet)
    reference.upload(checked_uploads("reference", decode=True), reference, reference, **quiet)
    shown_method = gr.Textbox(visible=False, label="method shown in the slider")
    run.click(harmonize, inputs=[editor, mask_file, reference, methods],
              outputs=[slider, gallery, overlay, table, result_file, shown_method, notes, used_mask, state],
              api_name="harmonize").then(
        lambda state, method: gr.Radio(choices=list((state or {}).get("results", {})), value=method or None),
        [state, shown_method], shown, api_visibility="private", show_progress="hidden", queue=False)
    shown.input(show_result, [shown, state, editor, mask_file], [slider, result_file], api_visibility="private",
                show_progress="hidden")
    gallery.select(pick_from_gallery, state, shown, api_visibility="private", show_progress="hidden").then(
        show_result, [shown, state, editor, mask_file], [slider, result_file], api_visibility="private",
        show_progress="hidden")
    return HarmonizeTab(result_file, send, reference, used_mask, campaign)
