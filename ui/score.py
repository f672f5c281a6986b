"""Score tab: score uploaded images with any registered IQA model (API endpoint ``/score``)."""

from __future__ import annotations

import gradio as gr
import pandas as pd
import plotly.express as px

from backend import registry
from backend.errors import HarmonyLabError
from backend.scoring import score_images, wide_table
from backend.settings import Settings
from ui.common import file_paths, rounded, temporary_file, user_errors

DEFAULT_MODELS = ("psnr", "ssim", "piqe")


def model_choices() -> list[tuple[str, str]]:
    """(label, name) pairs for every IQA model, the label showing mode, direction and status."""
    choices = []
    for card in registry.list_models(("iqa-fr", "iqa-nr")):
        mode = "FR" if card.full_reference else "NR"
        extras = " + mask" if card.needs_mask else " + saved prompt" if card.needs_prompt else ""
        direction = ("prompt's scale" if card.needs_prompt else
                     "lower better" if card.lower_better else "higher better")
        status = registry.status(card.name)
        state = "" if status.ready else f" — {status.state}"
        choices.append((f"{card.name} ({mode}{extras}, {direction}){state}", card.name))
    return choices


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


def score_chart(results: pd.DataFrame):
    """One bar panel per model (each metric keeps its own scale and direction)."""
    labelled = results.assign(
        panel=results["model"] + results["lower_better"].map({True: " ↓", False: " ↑"})
    )
    figure = px.bar(labelled, x="image", y="score", color="image", facet_col="panel", facet_col_wrap=3,
                    title="Scores per model (↑ higher is better, ↓ lower is better)")
    figure.update_yaxes(matches=None, showticklabels=True)
    figure.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    figure.update_layout(showlegend=False, height=320 + 240 * ((results["model"].nunique() - 1) // 3))
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

    Returns the table (one row per image, one column per model), the long CSV file and a chart.
    """
    results = score_images(
        file_paths(images),
        list(models or []),
        references=file_paths(references) or None,
        mask=(file_paths(mask) or [None])[0],
        progress=lambda fraction, text: progress(fraction, desc=text),
        prompt=prompt or None,
    )
    csv_path = temporary_file(".csv", prefix="harmonylab-scores-")
    results.to_csv(csv_path, index=False)
    return rounded(wide_table(results), 6), str(csv_path), score_chart(results)


def build(config: Settings) -> gr.File:
    """Lay out the tab; returns the images input so other tabs can send results here."""
    gr.Markdown(
        "Score images with no-reference models, or against references with full-reference models "
        "(references are matched to images by file name, else by order). The iHarmony4 metrics "
        "`ih-fmse` / `ih-fpsnr` also need the foreground mask; PromptIQA models score under a prompt "
        "saved in the PromptIQA tab, in that prompt's scale."
    )
    with gr.Row():
        images = gr.File(label="Images", file_count="multiple", file_types=["image"], elem_id="score-images")
        references = gr.File(label="References (optional)", file_count="multiple", file_types=["image"],
                             elem_id="score-references")
        mask = gr.File(label="Foreground mask (optional)", file_count="single", file_types=["image"],
                       elem_id="score-mask")
    models = gr.CheckboxGroup(choices=model_choices(), value=list(DEFAULT_MODELS), label="Models",
                              elem_id="score-models")
    with gr.Row():
        prompt = gr.Dropdown(choices=saved_prompt_choices(), value=None, label="Saved prompt (PromptIQA models only)",
                             allow_custom_value=True, elem_id="score-prompt", scale=4)
        refresh = gr.Button("Refresh prompts", size="sm", scale=1)
    refresh.click(refresh_saved_prompts, inputs=prompt, outputs=prompt, api_name=False)
    with gr.Accordion("Model details and status", open=False):
        gr.Dataframe(value=model_table(), interactive=False, wrap=True)
    run = gr.Button("Score", variant="primary", elem_id="score-run")
    table = gr.Dataframe(label="Scores", interactive=False, elem_id="score-table")
    with gr.Row():
        csv_file = gr.File(label="Download CSV (image, model, score)", interactive=False)
    chart = gr.Plot(label="Chart")
    run.click(score, inputs=[images, references, mask, models, prompt], outputs=[table, csv_file, chart],
              api_name="score")
    return images
