"""Score tab: score uploaded images with any registered IQA model (API endpoint ``/score``).

Each model runs and reports on its own (``backend.scoring``, ``failures="report"``): a model that cannot
score these inputs -- a full-reference model without references, a mask or prompt missing, out of memory --
gets a row with its reason in the per-model status table, beside the others' scores. Models that cannot run
on this server at all are listed greyed out with the reason and cannot be ticked. The models ticked at first
fit what is on screen: no-reference models, and the usual full-reference ones once references are added
(unless you chose yourself). Images above the working size (``HARMONYLAB_WORKING_PIXELS``) are scored at it,
and the status table says so. Names stay unique in the table, the chart and the CSV.

``/score(images, references, mask, models, prompt) -> (scores, status, csv, chart)``; when nothing at all
could be scored the call fails with every reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pandas as pd
import plotly.express as px

from backend import registry, settings
from backend.errors import HarmonyLabError
from backend.scoring import model_report, score_images, wide_table
from backend.settings import Settings
from ui.common import checked_uploads, file_paths, rounded, temporary_file, user_errors

NO_REFERENCE_DEFAULTS = ("piqe", "entropy")
REFERENCE_DEFAULTS = ("psnr", "ssim", "piqe")
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
CSS = """
#score-unavailable label { opacity: 0.55; }
#score-status td:nth-child(2) { white-space: nowrap; }
"""


@dataclass
class ScoreTab:
    images: gr.File
    references: gr.File
    mask: gr.File
    models: gr.CheckboxGroup
    prompt: gr.Dropdown


def _label(card: registry.ModelCard) -> str:
    mode = "FR" if card.full_reference else "NR"
    extras = " + mask" if card.needs_mask else " + saved prompt" if card.needs_prompt else ""
    direction = "prompt's scale" if card.needs_prompt else "lower better" if card.lower_better else "higher better"
    return f"{card.name} ({mode}{extras}, {direction})"


def visitor_reason(status) -> str:
    """Why a model cannot run here, in words for a visitor (the operator's details are in the model table)."""
    if status.state == "unavailable":
        return "not installed on this server"
    return "its weights are not on this server"


def runnable(status) -> bool:
    return status.ready or (status.state == "needs download" and not settings.current().hub_offline)


def model_choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(label, name) of the IQA models that can run here, and of those that cannot (label with the reason)."""
    ready, unavailable = [], []
    for card in registry.list_models(("iqa-fr", "iqa-nr")):
        status = registry.status(card.name)
        if runnable(status):
            suffix = "" if status.ready else " — downloads its weights on first use"
            ready.append((_label(card) + suffix, card.name))
        else:
            unavailable.append((f"{card.name} — {visitor_reason(status)}", card.name))
    return ready, unavailable


def model_table() -> pd.DataFrame:
    rows = []
    for card in registry.list_models(("iqa-fr", "iqa-nr")):
        status = registry.status(card.name)
        rows.append({
            "model": card.name,
            "mode": "FR" if card.full_reference else "NR",
            "direction": "lower is better" if card.lower_better else "higher is better",
            "range": card.range_description,
            "implementation": card.implementation,
            "status": str(status),
            "summary": card.summary,
        })
    return pd.DataFrame(rows)


def default_models(has_references: bool, has_mask: bool = False) -> list[str]:
    """The models ticked for what is on screen."""
    return list(REFERENCE_DEFAULTS if has_references else NO_REFERENCE_DEFAULTS)


def follow_references(references, chosen):
    """Tick the defaults that fit when references come or go, unless the visitor chose models themselves."""
    if sorted(chosen or []) not in (sorted(NO_REFERENCE_DEFAULTS), sorted(REFERENCE_DEFAULTS)):
        return gr.skip()
    return gr.CheckboxGroup(value=default_models(bool(file_paths(references))))


def score_chart(results: pd.DataFrame):
    """One bar panel per model (each metric keeps its own scale and direction); one bar per image."""
    scored = results[results["error"] == ""] if "error" in results else results
    labelled = scored.assign(panel=scored["model"] + scored["lower_better"].map({True: " ↓", False: " ↑"}))
    figure = px.bar(labelled, x="image", y="score", color="image", facet_col="panel", facet_col_wrap=3,
                    title="Scores per model (↑ higher is better, ↓ lower is better)")
    figure.update_yaxes(matches=None, showticklabels=True)
    figure.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    figure.update_layout(showlegend=False, height=320 + 240 * ((max(scored["model"].nunique(), 1) - 1) // 3))
    return figure


def saved_prompt_choices() -> list[str]:
    """Names of the prompts saved in the PromptIQA tab (newest first)."""
    from backend.iqa.promptiqa.service import list_saved_prompts

    try:
        return [row["name"] for row in list_saved_prompts()]
    except HarmonyLabError:  # the store is not reachable: the picker stays empty, scoring says why
        return []


def refresh_saved_prompts(current):
    choices = saved_prompt_choices()
    return gr.Dropdown(choices=choices, value=current if current in choices else None)


@user_errors
def score(images, references, mask, models, prompt=None, progress=gr.Progress()):  # noqa: B008 - Gradio injects it
    """Score images (and references / mask / saved prompt when given) with the chosen models.

    Returns the table (one row per image, one column per model, in the order given), the status of each model (scored, or why
    not), the long CSV file (image, model, score, ..., error, note) and a chart.
    """
    results = score_images(
        file_paths(images),
        list(models or []),
        references=file_paths(references) or None,
        mask=(file_paths(mask) or [None])[0],
        progress=lambda fraction, text: progress(fraction, desc=text),
        prompt=prompt or None,
        failures="report",
        working_pixels=settings.current().working_pixels,
    )
    csv_path = temporary_file(".csv", prefix="harmonylab-scores-")
    results.to_csv(csv_path, index=False)
    return rounded(wide_table(results), 6), model_report(results), str(csv_path), score_chart(results)


def warm_up() -> None:
    """Load what the first score and its chart need (OpenCV, the fast metrics, plotly's figure machinery)."""
    import numpy as np

    image = np.full((64, 64, 3), 128, np.uint8)
    image[::2] = 120
    results = score_images([image], ["psnr", "ssim", "piqe", "entropy"], references=[image[::-1].copy()],
                           failures="report")
    score_chart(results).to_json()


def examples() -> list[list]:
    rows = []
    for composite in sorted((EXAMPLES_DIR / "composite").glob("*"))[:2]:
        real = EXAMPLES_DIR / "real" / composite.name
        mask = EXAMPLES_DIR / "mask" / (composite.stem + ".png")
        if real.exists() and mask.exists():
            rows.append([[str(composite)], [str(real)], str(mask)])
    return rows


def build(config: Settings) -> ScoreTab:
    """Lay out the tab; returns its inputs so other tabs can send results here."""
    gr.Markdown(
        "Score images with no-reference models, or against references with full-reference models "
        "(references are matched to images by file name, else by order). The iHarmony4 metrics "
        "`ih-fmse` / `ih-fpsnr` also need the foreground mask; PromptIQA models score under a prompt "
        "saved in the PromptIQA tab, in that prompt's scale."
    )
    examples_slot = gr.Column()
    with gr.Row():
        images = gr.File(label="Images", file_count="multiple", elem_id="score-images")
        references = gr.File(label="References (optional)", file_count="multiple", elem_id="score-references")
        mask = gr.File(label="Foreground mask (optional)", file_count="single", elem_id="score-mask")
    ready, unavailable = model_choices()
    names = {name for _, name in ready}
    models = gr.CheckboxGroup(choices=ready, value=[m for m in NO_REFERENCE_DEFAULTS if m in names], label="Models",
                              elem_id="score-models")
    if unavailable:
        gr.CheckboxGroup(choices=unavailable, value=[], interactive=False, label="Not available on this server",
                         elem_id="score-unavailable")
    with gr.Row():
        prompt = gr.Dropdown(choices=saved_prompt_choices(), value=None, label="Saved prompt (PromptIQA models only)",
                             allow_custom_value=True, elem_id="score-prompt", scale=4)
        refresh = gr.Button("Refresh prompts", size="sm", scale=1)
    refresh.click(refresh_saved_prompts, inputs=prompt, outputs=prompt, api_name=False)
    with gr.Accordion("Model details and status", open=False):
        gr.Dataframe(value=model_table(), interactive=False, wrap=True)
    run = gr.Button("Score", variant="primary", elem_id="score-run")
    table = gr.Dataframe(label="Scores", interactive=False, elem_id="score-table")
    status = gr.Dataframe(label="Each model: scored, or why not", interactive=False, wrap=True, elem_id="score-status",
                          headers=["model", "status", "detail"])
    with gr.Row():
        csv_file = gr.File(label="Download CSV (image, model, score, ..., error, note)", interactive=False)
    chart = gr.Plot(label="Chart")
    quiet = dict(api_visibility="private", show_progress="hidden")
    for component, what in ((images, "image"), (references, "reference"), (mask, "foreground mask")):
        component.upload(checked_uploads(what), component, component, **quiet)
    references.change(follow_references, [references, models], models, api_visibility="private",
                      show_progress="hidden", queue=False)
    run.click(score, inputs=[images, references, mask, models, prompt], outputs=[table, status, csv_file, chart],
              api_name="score")
    rows = examples()
    if rows:
        with examples_slot:
            gr.Examples(rows, inputs=[images, references, mask],
                        label="Examples (a composite with its real photo and foreground mask)")
    return ScoreTab(images, references, mask, models, prompt)
