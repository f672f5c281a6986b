"""Dog-IQA view (paper 003), inside the Score tab: the regions and every component of the score (API ``/dogiqa``).

Shows, like the paper's Fig. 5, the image with each Algorithm 1 region's mask in its own colour and
numbered with its score; a table of the regions (index, kind, area fraction, crop box, level, weighted
score); and the components of the final score -- global, local, segmentation, final -- for the chosen
scorer, K, readout and aggregation formula. The maths lives in ``backend.iqa.dogiqa``. The image input is a
:mod:`ui.inputs` component (decoded by ``backend.images`` only, after its checks).
"""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pandas as pd

from backend import registry
from backend.errors import InputError
from backend.settings import Settings
from ui.common import rounded, user_errors
from ui.inputs import ImageInput

DEFAULT_SCORER = "piqe"


def scorer_choices() -> list[tuple[str, str]]:
    """(label, name): every calibrated NR model, and the VLM route with its status."""
    from backend.iqa.dogiqa.offline import read_calibration

    try:
        calibrated = read_calibration().get("scorers", {})
    except Exception:  # no calibration file: only the VLM route is listed
        calibrated = {}
    choices = []
    for name in calibrated:
        status = registry.status(name)
        choices.append((f"{name} (offline, quantile-mapped)" + ("" if status.ready else f" — {status.state}"), name))
    status = registry.status("dogiqa-vlm")
    weights = registry.card("dogiqa-vlm").hub_weights
    choices.append((f"dogiqa-vlm ({weights.repo})" + ("" if status.ready else f" — {status.state}"), "dogiqa-vlm"))
    return choices


def tables(details: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts = details["components"]
    components = pd.DataFrame([
        {"component": "s_global (whole image)", "value": parts["global_score"]},
        {"component": "s_local (area-weighted regions)", "value": parts["local_score"]},
        {"component": ("s_seg = c K / c_max" if details["formula"] == "paper" else "0.1 c (public code)"),
         "value": parts["seg_score"]},
        {"component": ("final = (s_global + s_local)/2 + s_seg" if details["formula"] == "paper"
                       else "final = s_local + 0.1 c + 0.5 s_global"), "value": parts["final"]},
    ])
    whole = details["global"]
    rows = [{"region": "whole image", "kind": "global", "area %": 100.0, "box": "", "level": whole["level"],
             "weighted": whole["weighted"], "score used": whole["score"]}]
    for region in details["regions"]:
        rows.append({"region": f"#{region['index']}", "kind": region["kind"], "area %": 100 * region["area_fraction"],
                     "box": "x {0}-{2}, y {1}-{3}".format(*region["box"]), "level": region["level"],
                     "weighted": region["weighted"], "score used": region["score"]})
    return rounded(components, 4), rounded(pd.DataFrame(rows), 4)


def summary(score: float, details: dict) -> str:
    return "\n".join([
        f"### Dog-IQA score: **{score:.3f}**",
        f"- {len(details['regions'])} regions (masks with area ≥ {100 * details['area_threshold']:g} % of the image, "
        f"plus the uncovered rest) from `{details['segmenter']}`; c_max = {details['c_max']:g} "
        f"({details['c_max_source']})",
        f"- scorer `{details['scorer']}`, K = {details['k']}, readout {details['readout']}, "
        f"{details['formula']} formula",
        f"- time: segmentation {details['seconds_segmentation']:.2f} s, scoring {details['seconds_scoring']:.2f} s",
    ])


def _number(value, what: str, whole: bool = True):
    """A number from the page or the API (None stays None); anything else is a sentence, not a ValueError."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, not {str(value)[:40]!r}.") from None
    if whole:
        if not number.is_integer():
            raise InputError(f"{what} must be a whole number, not {value}.")
        return int(number)
    return number


@user_errors
def run(image, scorer, k, formula, readout, c_max, area_threshold):
    """Score one image with Dog-IQA.

    Returns the overlay image, the summary (markdown), the components table, the regions table and the
    details as JSON.
    """
    from backend.iqa.dogiqa.service import inspect

    result, overlay = inspect(image, scorer or DEFAULT_SCORER, k=_number(k, "K"), formula=formula, readout=readout,
                              c_max=_number(c_max, "c_max", whole=False) or None,
                              area_threshold=_number(area_threshold, "The area threshold", whole=False))
    components, regions = tables(result.details)
    return (overlay, summary(result.score, result.details), components, regions,
            json.dumps({"score": result.score, **result.details}, indent=1))


def build(config: Settings) -> None:
    from backend.iqa.dogiqa.algorithm import DEFAULT_AREA_THRESHOLD

    gr.Markdown(
        "Dog-IQA (paper 003) scores the whole image and object-centred crops on a K-level standard "
        "(7: Perfect … 1: Very Bad) and aggregates them: final = (global + area-weighted local) / 2 + c·K/c_max. "
        "Offline, a no-reference model is mapped onto the K levels by quantiles of a reference set; with VLM "
        "weights present, the VLM answers the standard (digit logits).")
    with gr.Row():
        scorer = gr.Dropdown(choices=scorer_choices(), value=DEFAULT_SCORER, label="Scorer (or vlm:<hub id>[@rev])",
                             allow_custom_value=True, elem_id="dogiqa-scorer")
        k = gr.Radio([3, 5, 7, 9], value=7, label="K levels", elem_id="dogiqa-k")
        formula = gr.Radio(["paper", "public"], value="paper", label="Aggregation (public = authors' code)",
                           elem_id="dogiqa-formula")
        readout = gr.Radio(["argmax", "weighted", "generated"], value="argmax",
                           label="Readout (argmax = paper; generated: VLM only)", elem_id="dogiqa-readout")
    with gr.Row():
        c_max = gr.Number(value=0, label="c_max (0 = measured default)", minimum=0, elem_id="dogiqa-cmax")
        area = gr.Slider(0.001, 0.2, value=DEFAULT_AREA_THRESHOLD, step=0.001,
                         label="Area threshold t (fraction of the image)", elem_id="dogiqa-area")
    examples_slot = gr.Column()
    with gr.Row():
        image = ImageInput(label="Image", type="filepath", elem_id="dogiqa-image")
        overlay = gr.Image(label="Regions (#index: score)", type="numpy", interactive=False, elem_id="dogiqa-overlay")
    go = gr.Button("Score with Dog-IQA", variant="primary", elem_id="dogiqa-run")
    result = gr.Markdown(elem_id="dogiqa-summary")
    with gr.Row():
        components = gr.Dataframe(label="Components", interactive=False, elem_id="dogiqa-components")
        regions = gr.Dataframe(label="Regions", interactive=False, elem_id="dogiqa-regions")
    with gr.Accordion("Details (JSON)", open=False):
        details = gr.Code(language="json", elem_id="dogiqa-details")
    go.click(run, inputs=[image, scorer, k, formula, readout, c_max, area],
             outputs=[overlay, result, components, regions, details], api_name="dogiqa")
    examples = sorted((Path(__file__).resolve().parent.parent / "assets" / "examples" / "composite").glob("*.jpg"))
    if examples:
        with examples_slot:
            gr.Examples([[str(path)] for path in examples], inputs=[image], label="Examples (press Score with Dog-IQA)")
