"""Harmonize tab (paper 002): paint or upload the foreground of a composite, harmonize, compare.

Inputs: the composite in an ImageEditor (paint the foreground with the brush; the painted layer's alpha is
the mask) or an uploaded mask, an optional reference (the real photo) for the iHarmony4 metrics, and one or
several harmonizers. Outputs: a before/after slider (composite vs the first method's result), a gallery
when several methods ran, the similarity overlay (which background instances drove the colours), a
metrics table and the first result as a PNG file. API endpoint ``/harmonize``.

"Add to campaign" (issue 5; API endpoint ``/add_to_campaign``) adds the composite (method ``composite``)
and every harmonized result (method = harmonizer name) to an existing annotation campaign as one group,
with the composite and reference attached (see :mod:`backend.store.items`). Adding images to a campaign
changes what annotators are shown, so it takes the portal's admin password (``HARMONYLAB_ADMIN_PASSWORD``),
as creating a campaign does in the Annotate tab's admin section; the password is checked before any image
is decoded.

The editor and the slider are :mod:`ui.inputs` components: Gradio hands their uploads over undecoded, and
``backend.images`` decodes them after its checks (pixel limit, formats, metadata; issue #20).

``build()`` returns the components another tab may wire (``result_file`` and ``send_to_score``), so the
app can send a result to the Score tab without this module knowing about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pandas as pd

from backend import registry
from backend.harmonization.registration import DEFAULT_METHODS
from backend.settings import Settings
from ui.common import file_paths, temporary_file, user_errors
from ui.inputs import ImageEditorInput, ImageSliderInput

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"


@dataclass
class HarmonizeTab:
    result_file: gr.File
    send_to_score: gr.Button


def method_choices() -> list[tuple[str, str]]:
    choices = []
    for card in registry.list_models("harmonize"):
        status = registry.status(card.name)
        suffix = "" if status.ready else f" — {status.state}"
        choices.append((f"{card.name}: {card.summary}{suffix}", card.name))
    return choices


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
    save_png(image, path)
    return str(path)


def campaign_choices() -> list[str]:
    """The names of the existing campaigns (none when the store is unavailable: adding then says why)."""
    from backend.store.campaigns import list_campaigns

    try:
        return [c["name"] for c in list_campaigns()]
    except Exception:
        return []


@user_errors
def add_to_campaign(campaign, password, group, slider, gallery, reference_file):
    """Add the composite and every harmonized result to a campaign as one group (admin password required).

    ``slider`` is the (composite, result) pair shown, ``gallery`` the results captioned with their harmonizer;
    ``group`` defaults to ``harmonize-<hash of the composite>``. Returns what was added, already present or refused.
    """
    from backend.store import admin

    admin.check_password(password)  # first: nothing is decoded for a caller without the password
    from backend.store.items import add_items, harmonized_items

    composite = slider[0] if slider else None
    results = [(image, caption or "") for image, caption in (gallery or [])]
    reference = (file_paths(reference_file) or [None])[0]
    return add_items(campaign, harmonized_items(composite, results, reference, group))


@user_errors
def harmonize(editor, mask_file, reference_file, methods, progress=gr.Progress()):  # noqa: B008 - Gradio injects it
    """Harmonize the composite (editor background) with each chosen method.

    The mask is the uploaded mask file when given, else what was painted on the editor. Returns the
    before/after pair, the gallery of results, the similarity overlay, the table and the first result file.
    """
    from backend.harmonization.overlay import similarity_overlay
    from backend.harmonization.service import harmonize_many

    mask_source = (file_paths(mask_file) or [None])[0] or editor
    reference = (file_paths(reference_file) or [None])[0]
    order = [card.name for card in registry.list_models("harmonize")]
    chosen = sorted(methods or [], key=lambda name: order.index(name) if name in order else len(order))
    composite, mask, results = harmonize_many(editor, mask_source, chosen, reference,
                                              progress=lambda f, text: progress(f, desc=text))
    rows, gallery, overlay = [], [], None
    for item in results:
        row = {"method": item.method, "seconds": round(item.seconds, 3)}
        if item.errors is not None:
            row.update({k: round(v, 3) for k, v in item.errors.items() if k != "foreground_ratio"})
        rows.append(row)
        gallery.append((_save(item.result.image, f"harmonized-{item.method}-"), item.method))
        details = item.result.details
        if overlay is None and "similarity_map" in details:
            overlay = similarity_overlay(composite, mask, details["similarity_map"], details.get("instances"),
                                         stretch=True)
    shown = next((i for i, item in enumerate(results) if item.method != "composite"), 0)
    return (composite, results[shown].result.image), gallery, overlay, pd.DataFrame(rows), gallery[shown][0]


def build(config: Settings) -> HarmonizeTab:
    gr.Markdown(
        "Upload a composite, **paint its foreground** with the brush (or upload a mask), pick harmonizers and "
        "press *Harmonize*. The similarity overlay shows which background regions the semantic-routed "
        "methods followed (yellow = looks like the foreground). Add the real photo as reference to get "
        "iHarmony4 errors (MSE, fMSE, PSNR, fPSNR at 256x256)."
    )
    with gr.Row():
        with gr.Column(scale=3):
            editor = ImageEditorInput(label="Composite — paint the foreground", type="filepath", format="png",
                                    brush=gr.Brush(colors=["#ff0066"], default_size=24, color_mode="fixed"),
                                    eraser=gr.Eraser(default_size=24), transforms=(), elem_id="harmonize-editor",
                                    height=480)
        with gr.Column(scale=2):
            mask_file = gr.File(label="Foreground mask (optional; replaces the painting)", file_types=["image"],
                                elem_id="harmonize-mask")
            reference = gr.File(label="Reference / real photo (optional)", file_types=["image"],
                                elem_id="harmonize-reference")
            methods = gr.CheckboxGroup(choices=method_choices(), value=list(DEFAULT_METHODS), label="Harmonizers",
                                       elem_id="harmonize-methods")
            run = gr.Button("Harmonize", variant="primary", elem_id="harmonize-run")
    with gr.Row():
        slider = ImageSliderInput(label="Composite ↔ harmonized", elem_id="harmonize-slider",
                                  type="filepath", format="png", max_height=520)
        overlay = gr.Image(label="Background instances by similarity to the foreground (yellow = most similar)", type="numpy",
                           elem_id="harmonize-overlay", interactive=False)
    gallery = gr.Gallery(label="All results", columns=4, height=280, object_fit="contain", elem_id="harmonize-gallery")
    table = gr.Dataframe(label="Time and errors against the reference", interactive=False,
                         elem_id="harmonize-table")
    with gr.Row():
        result_file = gr.File(label="Result shown in the slider (PNG)", interactive=False, elem_id="harmonize-result-file")
        send = gr.Button("Send result to the Score tab", elem_id="harmonize-send-score")
    with gr.Accordion("Add to an annotation campaign", open=False, elem_id="harmonize-add-campaign"):
        with gr.Row():
            campaign = gr.Dropdown(campaign_choices(), label="Campaign", allow_custom_value=True,
                                   elem_id="harmonize-campaign")
            group = gr.Textbox(label="Group (optional)", placeholder="harmonize-<hash of the composite>",
                               elem_id="harmonize-group")
            password = gr.Textbox(label="Admin password", type="password", elem_id="harmonize-admin-password")
        add = gr.Button("Add composite and results to the campaign", elem_id="harmonize-add")
        added = gr.JSON(label="Added", elem_id="harmonize-added")
    campaign.focus(lambda: gr.Dropdown(choices=campaign_choices()), None, campaign, api_visibility="private")
    add.click(add_to_campaign, [campaign, password, group, slider, gallery, reference], added,
              api_name="add_to_campaign")
    rows = examples()
    if rows:
        gr.Examples(rows, inputs=[editor, mask_file, reference], label="Examples (composite, mask, real photo)")
    run.click(harmonize, inputs=[editor, mask_file, reference, methods],
              outputs=[slider, gallery, overlay, table, result_file], api_name="harmonize")
    return HarmonizeTab(result_file, send)
