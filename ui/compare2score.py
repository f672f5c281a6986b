"""Compare2Score inspector tab (paper 001): every step of the score is shown (API ``/compare2score``).

Anchors with their MOS; the test image's five-level distribution against each anchor (stacked bars);
the probability matrix P of Eq. 5 (heatmap); the MAP scale of Eq. 6 with the test image placed among
the anchors; the score. Batch scoring with CSV export is ``/compare2score_batch``. The maths lives in
``backend.iqa.compare2score``; this module only lays out and formats.

Uploaded anchors are read from the uploads only (``anchor_set_from_files``: the CSV's ``path`` column is
matched to the uploaded images by file name; nothing else on the server is opened), and the test image is a
:mod:`ui.inputs` component, decoded by ``backend.images`` after its checks (issue #20).
"""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from backend import registry
from backend.iqa.compare2score.levels import LEVELS
from backend.scoring import unique_names
from backend.settings import Settings
from ui.common import file_paths, rounded, temporary_file, user_errors
from ui.inputs import ImageInput

DEFAULT_COMPARATOR = "c2s-siamese"
EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "assets" / "examples" / "composite").glob("*.jpg"))
LEVEL_COLOURS = ("#b2182b", "#ef8a62", "#bdbdbd", "#67a9cf", "#2166ac")


def comparator_choices() -> list[tuple[str, str]]:
    """(label, name) for registry comparators and ``nr-thurstone:<model>`` for every fitted NR model."""
    from backend.iqa.compare2score.thurstone_nr import read_fits

    choices = []
    for card in registry.list_models("comparator"):
        if card.name in ("nr-thurstone", "vlm"):
            continue
        status = registry.status(card.name)
        choices.append((card.name + ("" if status.ready else f" — {status.state}"), card.name))
    fits = read_fits()
    for card in registry.list_models("iqa-nr"):
        if card.name in fits:
            choices.append((f"nr-thurstone:{card.name} (Thurstone on {card.name})", f"nr-thurstone:{card.name}"))
    return choices


def _anchors(anchor_files):
    """The uploaded anchor set (anchors.csv + its images, read from the uploads only), or the default set."""
    from backend.iqa.compare2score.anchors import anchor_set_from_files
    from backend.iqa.compare2score.service import get_anchors

    paths = file_paths(anchor_files)
    return anchor_set_from_files(paths) if paths else get_anchors(None)


def level_bars(details: dict) -> go.Figure:
    probabilities = np.array(details["level_probabilities"])
    names = [f"{a['name']} (MOS {a['mos']:.2f})" for a in details["anchors"]]
    figure = go.Figure()
    for index, level in enumerate(LEVELS):
        figure.add_bar(x=names, y=probabilities[:, index], name=level, marker_color=LEVEL_COLOURS[index])
    figure.add_scatter(x=names, y=details["b"], mode="markers+lines", name="b = P(test preferred)",
                       marker={"color": "black", "size": 9}, line={"dash": "dot", "color": "black"})
    figure.update_layout(barmode="stack", height=360, yaxis={"range": [0, 1], "title": "probability"},
                         title="Test image (second) against each anchor (first): level probabilities",
                         legend={"orientation": "h", "y": -0.25})
    return figure


def matrix_heatmap(details: dict) -> go.Figure:
    labels = [a["name"] for a in details["anchors"]] + ["test image"]
    matrix = np.array(details["P"])
    figure = go.Figure(go.Heatmap(z=matrix, x=labels, y=labels, zmin=0, zmax=1, colorscale="RdBu",
                                  text=np.round(matrix, 3), texttemplate="%{text}",
                                  hovertemplate="P(%{y} preferred over %{x}) = %{z:.3f}<extra></extra>"))
    figure.update_layout(title="Probability matrix P (Eq. 5): row preferred over column", height=420,
                         yaxis={"autorange": "reversed"})
    return figure


def scale_plot(details: dict, score: float) -> go.Figure:
    q = np.array(details["q"])
    se = np.array(details["se"])
    mos = [a["mos"] for a in details["anchors"]]
    alpha, beta = details["mapping"]["alpha"], details["mapping"]["beta"]
    figure = go.Figure()
    figure.add_scatter(x=q[:-1], y=mos, mode="markers+text", name="anchors",
                       text=[a["name"] for a in details["anchors"]], textposition="top center",
                       error_x={"type": "data", "array": se[:-1]}, marker={"size": 11})
    span = np.linspace(min(q.min(), 0) - 0.3, max(q.max(), 0) + 0.3, 2)
    figure.add_scatter(x=span, y=alpha + beta * span, mode="lines", name="MOS mapping (least squares)",
                       line={"dash": "dash", "color": "grey"})
    figure.add_scatter(x=[q[-1]], y=[details["score_mos"]], mode="markers", name="test image",
                       error_x={"type": "data", "array": [se[-1]]}, marker={"size": 15, "symbol": "star", "color": "crimson"})
    figure.update_layout(title=f"MAP scale (Eq. 6) and the test image's place: score {score:.3f}", height=380,
                         xaxis={"title": "Thurstone scale value q"}, yaxis={"title": "MOS"})
    return figure


def summary(result_score: float, details: dict) -> str:
    lines = [f"### Score: **{result_score:.3f}**",
             f"- on the anchors' MOS scale: {details['score_mos']:.3f}; public code's min-max 0-100: "
             f"{details['score_minmax']:.1f} (saturates at 0/100 outside the anchors)",
             f"- comparator `{details['comparator']}`, {details['matrix']} matrix, MAP converged: {details['converged']}"]
    if "warning" in details:
        lines.append(f"- ⚠ {details['warning']}")
    return "\n".join(lines)


@user_errors
def inspect(image, comparator, matrix, normalisation, both_orders, anchor_files):
    """Score one image with Compare2Score and show every step.

    Returns the summary (markdown), the anchors (gallery), level bars, the P heatmap, the scale plot and
    the details as JSON.
    """
    from backend.images import load_image
    from backend.iqa.compare2score.service import score_arrays

    pixels = load_image(image, name="test image")
    anchors = _anchors(anchor_files)
    result = score_arrays([pixels], comparator or DEFAULT_COMPARATOR, anchors=anchors, matrix=matrix,
                          normalisation=normalisation, both_orders=bool(both_orders))[0]
    details = result.details
    gallery = [(img, f"{name}: MOS {mos:.2f} ± {std:.2f}")
               for img, name, mos, std in zip(anchors.images, anchors.names, anchors.mos, anchors.mos_std, strict=True)]
    public = {k: v for k, v in details.items() if k != "anchor_level_probabilities"}
    return (summary(result.score, details), gallery, level_bars(details), matrix_heatmap(details),
            scale_plot(details, result.score), json.dumps({"score": result.score, **public}, indent=1))


@user_errors
def score_batch(files, comparator, matrix, normalisation, both_orders, anchor_files, progress=gr.Progress()):  # noqa: B008 - Gradio injects it
    """Score many images; returns the table (image, score, score_minmax) and a CSV file."""
    from backend.iqa.compare2score.service import score_files

    paths = file_paths(files)
    results = score_files(paths, comparator or DEFAULT_COMPARATOR, anchors=_anchors(anchor_files),
                          matrix=matrix, normalisation=normalisation, both_orders=bool(both_orders),
                          progress=lambda done, total: progress(done / total, desc=f"{done}/{total} images"))
    table = pd.DataFrame({"image": unique_names(paths), "score": [r.score for r in results],
                          "score_minmax": [r.details["score_minmax"] for r in results]})
    csv_path = temporary_file(".csv", prefix="harmonylab-compare2score-")
    table.to_csv(csv_path, index=False)
    return rounded(table, 4), str(csv_path)


def build(config: Settings) -> None:
    gr.Markdown(
        "Compare2Score scores an image by comparing it with anchor images of known MOS and solving for its "
        "place on their scale (paper 001). Every step is shown: level probabilities per anchor, the "
        "probability matrix, the MAP scale. Anchors: the default set, or upload `anchors.csv` (path, mos, "
        "mos_std) with its images.")
    examples_slot = gr.Column()
    with gr.Row():
        comparator = gr.Dropdown(choices=comparator_choices(), value=DEFAULT_COMPARATOR, label="Comparator",
                                 allow_custom_value=True, elem_id="c2s-comparator")
        matrix = gr.Radio(["probability", "count"], value="probability", label="Matrix (count = Table 3 baseline)",
                          elem_id="c2s-matrix")
        normalisation = gr.Radio(["mos", "minmax"], value="mos", label="Score scale (minmax = public code)",
                                 elem_id="c2s-normalisation")
        both_orders = gr.Checkbox(value=False, label="Compare in both orders", elem_id="c2s-both-orders")
    with gr.Accordion("Anchor set (optional; default: assets/anchors/default)", open=False):
        anchor_files = gr.File(label="anchors.csv + its images", file_count="multiple", elem_id="c2s-anchor-files")
    with gr.Tab("Inspect one image"):
        with gr.Row():
            image = ImageInput(label="Test image", type="filepath", elem_id="c2s-image")
            with gr.Column():
                run = gr.Button("Score and inspect", variant="primary", elem_id="c2s-run")
                result = gr.Markdown(elem_id="c2s-summary")
        anchors = gr.Gallery(label="Anchors (MOS ± std)", columns=5, height=220, elem_id="c2s-anchors")
        bars = gr.Plot(label="Level distribution against each anchor")
        with gr.Row():
            heatmap = gr.Plot(label="Probability matrix P")
            scale = gr.Plot(label="Fitted scale")
        with gr.Accordion("Details (JSON)", open=False):
            details = gr.Code(language="json", elem_id="c2s-details")
        run.click(inspect, inputs=[image, comparator, matrix, normalisation, both_orders, anchor_files],
                  outputs=[result, anchors, bars, heatmap, scale, details], api_name="compare2score")
        with examples_slot:
            gr.Examples([[str(path)] for path in EXAMPLES], inputs=[image], label="Examples (press Score and inspect)")
    with gr.Tab("Batch"):
        files = gr.File(label="Images", file_count="multiple", file_types=["image"], elem_id="c2s-batch-files")
        run_batch = gr.Button("Score all", variant="primary", elem_id="c2s-batch-run")
        table = gr.Dataframe(label="Scores", interactive=False, elem_id="c2s-batch-table")
        csv_file = gr.File(label="Download CSV (image, score, score_minmax)", interactive=False)
        run_batch.click(score_batch, inputs=[files, comparator, matrix, normalisation, both_orders, anchor_files],
                        outputs=[table, csv_file], api_name="compare2score_batch")
