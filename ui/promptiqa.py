"""PromptIQA tab (paper 004): build an image-score prompt, save/load it, score images by it (API ``/promptiqa``).

The prompt lives in two plain inputs -- the prompt images and their scores (one number per image, in
upload order, any range) -- so the browser and ``gradio_client`` use the same endpoints:
``/promptiqa`` (score), ``/promptiqa_sample`` (n ISPs from a scored CSV or a rating campaign's MOS),
``/promptiqa_save`` and ``/promptiqa_load`` (named prompts in the store), ``/promptiqa_show`` (gallery).
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import plotly.express as px

from backend import registry
from backend.errors import InputError
from backend.settings import Settings
from ui.common import file_paths, temporary_file, user_errors

MODELS = ("promptiqa", "promptiqa-vitb8")


def _scores(text) -> list[str]:
    return [part for part in str(text or "").replace(";", ",").replace("\n", ",").split(",") if part.strip()]


def _prompt(prompt_images, prompt_scores):
    from backend.iqa.promptiqa.prompts import make_prompt

    paths = file_paths(prompt_images)
    if not paths:
        raise InputError("The prompt has no images; upload at least 2 images with a score each, or sample a prompt.")
    return make_prompt(paths, _scores(prompt_scores), [Path(p).name for p in paths])


def _gallery(prompt):
    return [(image, f"{score:g}") for image, score in zip(prompt.images, prompt.scores, strict=False)]


def _score_text(scores) -> str:
    return ", ".join(f"{float(s):g}" for s in scores)


def model_choices() -> list[tuple[str, str]]:
    choices = []
    for name in MODELS:
        status = registry.status(name)
        choices.append((name if status.ready else f"{name} — {status.state}", name))
    return choices


def campaign_choices() -> list[str]:
    try:
        from backend.store.campaigns import list_campaigns

        return [c["name"] for c in list_campaigns() if c["kind"] == "rating"]
    except Exception:  # the store may be unavailable; the tab still works with uploads
        return []


def saved_choices() -> list[str]:
    try:
        from backend.iqa.promptiqa.service import list_saved_prompts

        return [p["name"] for p in list_saved_prompts()]
    except Exception:
        return []


@user_errors
def show(prompt_images, prompt_scores):
    """The prompt as a gallery captioned with its scores (validates it)."""
    return _gallery(_prompt(prompt_images, prompt_scores))


@user_errors
def score(prompt_images, prompt_scores, images, model, progress=gr.Progress()):
    """Score images under the prompt; returns the table (image, score), its CSV, the prompt gallery, a chart."""
    from backend.iqa.promptiqa.service import score_sources

    prompt = _prompt(prompt_images, prompt_scores)
    paths = file_paths(images)
    progress(0.1, desc="encoding the prompt and the images")
    table = score_sources(paths, prompt, model or "promptiqa", names=[Path(p).name for p in paths])
    csv_path = temporary_file(".csv", prefix="harmonylab-promptiqa-")
    table.to_csv(csv_path, index=False)
    figure = px.bar(table, x="image", y="score", title=f"Scores in the prompt's scale ({prompt.low:g} to {prompt.high:g})")
    figure.update_yaxes(range=[prompt.low, prompt.high])
    return table.round(6), str(csv_path), _gallery(prompt), figure


@user_errors
def sample(csv_file, csv_images, campaign, n, strategy, seed):
    """n ISPs by interval or random sampling from a scored CSV (path,score) or a rating campaign's MOS."""
    from backend.iqa.promptiqa.service import campaign_table, prompt_from_table, read_scored_csv, sample_rows

    csv_paths = file_paths(csv_file)
    if csv_paths:
        table = read_scored_csv(csv_paths[0])
        uploaded = {Path(p).name: p for p in file_paths(csv_images)}
        table["path"] = [p if Path(p).is_file() else uploaded.get(Path(p).name, p) for p in table["path"]]
    elif campaign:
        table = campaign_table(campaign)
    else:
        raise InputError("Nothing to sample from; upload a scored CSV (path,score) or choose a rating campaign.")
    rows = sample_rows(table, int(n), strategy, int(seed or 0))
    prompt = prompt_from_table(rows)
    return list(rows["path"]), _score_text(prompt.scores), _gallery(prompt)


@user_errors
def save(name, prompt_images, prompt_scores):
    from backend.iqa.promptiqa.service import save_prompt

    saved = save_prompt(name, _prompt(prompt_images, prompt_scores))
    message = f"Saved prompt **{saved['name']}**: {saved['pairs']} pairs, scores {saved['low']:g} to {saved['high']:g}."
    return message, gr.update(choices=saved_choices(), value=saved["name"])


@user_errors
def load(name):
    from backend.store.prompts import get_prompt

    if not name:
        raise InputError("Choose a saved prompt to load.")
    saved = get_prompt(name)
    gallery = [(path, f"{score:g}") for path, score in zip(saved["paths"], saved["scores"], strict=False)]
    return saved["paths"], _score_text(saved["scores"]), gallery


def build(config: Settings) -> None:
    gr.Markdown(
        "Show PromptIQA a few images with the score **you** would give each (an image-score-pair prompt, any "
        "range, higher-better or lower-better) and it scores new images by that requirement, without "
        "fine-tuning (paper 004). Scores come back in your prompt's scale."
    )
    with gr.Row():
        with gr.Column():
            prompt_images = gr.File(label="Prompt images", file_count="multiple", file_types=["image"],
                                    elem_id="promptiqa-prompt-images")
            prompt_scores = gr.Textbox(label="Prompt scores (one per image, in order, comma-separated)",
                                       placeholder="e.g. 1, 2.5, 4, 5", elem_id="promptiqa-prompt-scores")
            show_button = gr.Button("Show prompt", elem_id="promptiqa-show")
        gallery = gr.Gallery(label="Prompt (score under each image)", columns=5, height=260, elem_id="promptiqa-gallery")
    with gr.Accordion("Sample n ISPs from a scored CSV or a campaign", open=False):
        with gr.Row():
            csv_file = gr.File(label="Scored CSV (path,score)", file_types=[".csv"], elem_id="promptiqa-csv")
            csv_images = gr.File(label="Its images (if the CSV paths are not on this server)", file_count="multiple",
                                 file_types=["image"])
            campaign = gr.Dropdown(label="…or a rating campaign (MOS)", choices=campaign_choices(), value=None,
                                   allow_custom_value=True)
        with gr.Row():
            n = gr.Slider(2, 20, value=10, step=1, label="n ISPs")
            strategy = gr.Radio(["interval", "random"], value="interval", label="Sampling (Table 4)")
            seed = gr.Number(value=0, precision=0, label="Seed (random sampling)")
        sample_button = gr.Button("Sample prompt", elem_id="promptiqa-sample")
    with gr.Accordion("Saved prompts", open=False):
        with gr.Row():
            save_name = gr.Textbox(label="Name", placeholder="my-requirement")
            save_button = gr.Button("Save prompt")
            saved = gr.Dropdown(label="Saved prompts", choices=saved_choices(), value=None, allow_custom_value=True)
            load_button = gr.Button("Load")
        save_status = gr.Markdown()
    images = gr.File(label="Images to score", file_count="multiple", file_types=["image"], elem_id="promptiqa-images")
    model = gr.Dropdown(label="Model", choices=model_choices(), value="promptiqa")
    run = gr.Button("Score", variant="primary", elem_id="promptiqa-run")
    table = gr.Dataframe(label="Scores", interactive=False, elem_id="promptiqa-table")
    csv_out = gr.File(label="Download CSV (image, score)", interactive=False)
    chart = gr.Plot(label="Scores")

    show_button.click(show, [prompt_images, prompt_scores], gallery, api_name="promptiqa_show")
    run.click(score, [prompt_images, prompt_scores, images, model], [table, csv_out, gallery, chart],
              api_name="promptiqa")
    sample_button.click(sample, [csv_file, csv_images, campaign, n, strategy, seed],
                        [prompt_images, prompt_scores, gallery], api_name="promptiqa_sample")
    save_button.click(save, [save_name, prompt_images, prompt_scores], [save_status, saved], api_name="promptiqa_save")
    load_button.click(load, [saved], [prompt_images, prompt_scores, gallery], api_name="promptiqa_load")
