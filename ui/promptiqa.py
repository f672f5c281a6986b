"""PromptIQA tab (paper 004): build an image-score prompt, save/load it, score images by it (API ``/promptiqa``).

The prompt lives in two plain inputs -- the prompt images and their scores (one number per image, in
upload order, any range) -- so the browser and ``gradio_client`` use the same endpoints:
``/promptiqa`` (score), ``/promptiqa_sample`` (n ISPs from a scored CSV or a rating campaign's MOS),
``/promptiqa_save``, ``/promptiqa_load`` and ``/promptiqa_delete`` (named prompts in the store),
``/promptiqa_show`` (gallery).

Public by default (issue #20):
- Sampling reads only what the caller uploaded: the CSV's ``path`` column is matched to the uploaded images
  by file name (``read_scored_csv(..., allowed_files=...)``), or a campaign's stored items.
- No output names a server path: loaded and campaign-sampled images are copies named by their labels.
- A saved prompt has an owner: the server issues a signed owner token that the page keeps in the browser
  (``gr.BrowserState``; API callers pass back the token ``/promptiqa_save`` returned), or the Hugging Face
  login on Spaces. Only the owner, or whoever gives the admin password, may replace or delete a prompt.
- Prompts hold at most ``HARMONYLAB_PROMPT_MAX_PAIRS`` pairs; storage per prompt, per visitor and in all is
  bounded (``backend.store.prompts``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import plotly.express as px

from backend import registry, settings
from backend.errors import InputError
from backend.scoring import unique_names
from backend.settings import Settings
from ui.common import file_paths, rounded, temporary_file, user_errors

MODELS = ("promptiqa", "promptiqa-vitb8")
MAX_IMAGES_PER_CALL = 500
# gr.BrowserState encrypts in the page with a key the page itself receives, so that key protects nothing; the
# owner token it keeps is what the server signed (backend.store.prompts), and only that is trusted.
OWNER_STORAGE_KEY = "harmonylab-prompt-owner"
OWNER_STORAGE_SECRET = "harmonylab-prompt-owner-storage"


def _scores(text) -> list[str]:
    return [part for part in str(text or "").replace(";", ",").replace("\n", ",").split(",") if part.strip()]


def _max_pairs() -> int:
    return settings.current().prompt_max_pairs


def _prompt(prompt_images, prompt_scores):
    from backend.iqa.promptiqa.prompts import make_prompt

    paths = file_paths(prompt_images)
    if not paths:
        raise InputError("The prompt has no images; upload at least 2 images with a score each, or sample a prompt.")
    if len(paths) > _max_pairs():
        raise InputError(f"The prompt has {len(paths)} images; a prompt holds at most {_max_pairs()} pairs.")
    return make_prompt(paths, _scores(prompt_scores), [Path(p).name for p in paths])


def _whole(value, what: str, low: int, high: int) -> int:
    """A whole number in low..high from the page or the API, else a sentence (never a ValueError)."""
    try:
        number = float(value if value not in (None, "") else "nan")
    except (TypeError, ValueError):
        number = float("nan")
    if not (number.is_integer() and low <= number <= high):
        raise InputError(f"{what} must be a whole number from {low} to {high}, not {str(value)[:40]}.")
    return int(number)


def _file_name(label: object, index: int) -> str:
    """A safe file name for a copy shown to the visitor: the label's own name, else ``pair-N.png``."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(label)).stem)[:80].strip("._")
    return f"{stem or f'pair-{index + 1}'}.png"


def _copies(paths, labels) -> list[str]:
    """Copies of stored images named by their labels, so that no output names the store's own files."""
    folder = Path(tempfile.mkdtemp(prefix="harmonylab-prompt-"))
    copies, used = [], set()
    for index, (path, label) in enumerate(zip(paths, labels, strict=True)):
        name = _file_name(label, index)
        if name in used:
            name = f"{Path(name).stem}-{index + 1}.png"
        used.add(name)
        copies.append(str(shutil.copyfile(path, folder / name)))
    return copies


def _visitor(owner_token, profile):
    """(owner, token to keep): the Hugging Face login when signed in, else the owner a valid token names, else a
    new token (a new anonymous visitor). The server issues and verifies tokens; the caller cannot pick one."""
    from backend.store.prompts import new_owner_token, owner_from_token

    owner = owner_from_token(owner_token)
    if owner is None:
        owner_token = new_owner_token()
        owner = owner_from_token(owner_token)
    if profile is not None and getattr(profile, "username", None):
        owner = f"hf:{profile.username}"
    return owner, owner_token


def _is_admin(password) -> bool:
    """True when the admin password is given (and right); an empty field means "not the admin"."""
    from backend.store import admin

    if not password:
        return False
    admin.check_password(password)
    return True


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
def score(prompt_images, prompt_scores, images, model, progress=gr.Progress()):  # noqa: B008 - Gradio injects it
    """Score images under the prompt; returns the table (image, score), its CSV, the prompt gallery, a chart."""
    from backend.iqa.promptiqa.service import score_sources

    prompt = _prompt(prompt_images, prompt_scores)
    paths = file_paths(images)
    if len(paths) > MAX_IMAGES_PER_CALL:
        raise InputError(f"{len(paths)} images were given; score at most {MAX_IMAGES_PER_CALL} per call.")
    progress(0.1, desc="encoding the prompt and the images")
    table = score_sources(paths, prompt, model or "promptiqa", names=unique_names(paths))
    csv_path = temporary_file(".csv", prefix="harmonylab-promptiqa-")
    table.to_csv(csv_path, index=False)
    figure = px.bar(table, x="image", y="score", title=f"Scores in the prompt's scale ({prompt.low:g} to {prompt.high:g})")
    figure.update_yaxes(range=[prompt.low, prompt.high])
    return rounded(table, 6), str(csv_path), _gallery(prompt), figure


@user_errors
def sample(csv_file, csv_images, campaign, n, strategy, seed):
    """n ISPs by interval or random sampling from a scored CSV (path,score) with its uploaded images (matched
    by file name; no other file is read) or a rating campaign's MOS."""
    from backend.iqa.promptiqa.service import campaign_table, prompt_from_table, read_scored_csv, sample_rows

    count = _whole(n, "n", 2, _max_pairs())
    seed = _whole(seed if seed not in (None, "") else 0, "The seed", 0, 2**32 - 1)
    csv_paths = file_paths(csv_file)
    if csv_paths:
        images = file_paths(csv_images)
        if not images:
            raise InputError(f"Upload the images '{Path(csv_paths[0]).name}' names together with it (their file "
                             "names are matched with its path column).")
        table = read_scored_csv(csv_paths[0], allowed_files=images)
    elif campaign:
        table = campaign_table(campaign)
    else:
        raise InputError("Nothing to sample from; upload a scored CSV (path,score) or choose a rating campaign.")
    rows = sample_rows(table, count, strategy, seed)
    prompt = prompt_from_table(rows)
    shown = list(rows["path"]) if csv_paths else _copies(rows["path"], rows["name"])  # uploads are the caller's own
    return shown, _score_text(prompt.scores), _gallery(prompt)


@user_errors
def save(name, prompt_images, prompt_scores, owner_token=None, admin_password=None,
         profile: gr.OAuthProfile | None = None):
    """Save the prompt under ``name``: a new name, or one of your own prompts (the admin password: anyone's).

    Returns the message, the saved-prompt picker and the owner token to keep (pass it back next time).
    """
    from backend.iqa.promptiqa.service import save_prompt
    from backend.store.prompts import check_can_save

    admin = _is_admin(admin_password)
    owner, owner_token = _visitor(owner_token, profile)
    name = check_can_save(name, owner=owner, admin=admin)  # before any image is decoded
    saved = save_prompt(name, _prompt(prompt_images, prompt_scores), owner=owner, admin=admin)
    message = f"Saved prompt **{saved['name']}**: {saved['pairs']} pairs, scores {saved['low']:g} to {saved['high']:g}."
    return message, gr.update(choices=saved_choices(), value=saved["name"]), owner_token


@user_errors
def delete(name, owner_token=None, admin_password=None, profile: gr.OAuthProfile | None = None):
    """Delete a saved prompt of yours (the admin password: anyone's); returns the message, the picker, the token."""
    from backend.iqa.promptiqa.service import delete_saved_prompt

    if not name:
        raise InputError("Choose the saved prompt to delete.")
    admin = _is_admin(admin_password)
    owner, owner_token = _visitor(owner_token, profile)
    if not delete_saved_prompt(name, owner=owner, admin=admin):
        raise InputError(f"There is no saved prompt called '{str(name)[:100]}'.")
    return f"Deleted the prompt **{str(name).strip()}**.", gr.update(choices=saved_choices(), value=None), owner_token


@user_errors
def load(name):
    """A saved prompt: its images (copies named by their labels), scores and gallery."""
    from backend.store.prompts import get_prompt

    if not name:
        raise InputError("Choose a saved prompt to load.")
    saved = get_prompt(name)
    copies = _copies(saved["paths"], saved["names"])
    gallery = [(path, f"{score:g}") for path, score in zip(copies, saved["scores"], strict=True)]
    return copies, _score_text(saved["scores"]), gallery


@dataclass
class PromptTab:
    saved_event: object  # the "Save prompt" event (the Score tab's prompt list follows it)
    saved: gr.Dropdown
    campaign: gr.Dropdown


def refresh_lists(saved, campaign):
    """The saved prompts and rating campaigns as they are now, keeping the current choices."""
    prompts, campaigns = saved_choices(), campaign_choices()
    return (gr.Dropdown(choices=prompts, value=saved if saved in prompts else None),
            gr.Dropdown(choices=campaigns, value=campaign if campaign in campaigns else None))


def examples() -> list[list]:
    """A prompt from the shipped example composites (composite worst, real photo best) and a photo to score."""
    folder = Path(__file__).resolve().parent.parent / "assets" / "examples"
    names = [p.name for p in sorted((folder / "composite").glob("*.jpg"))[:2]]
    if len(names) < 2:
        return []
    prompt = [str(folder / kind / name) for name in names for kind in ("composite", "real")]
    target = [str(folder / "composite" / p.name) for p in sorted((folder / "composite").glob("*.jpg"))[2:3]] or prompt[:1]
    return [[prompt, ", ".join("1, 5" for _ in names), target]]


def build(config: Settings) -> PromptTab:
    gr.Markdown(
        "Show PromptIQA a few images with the score **you** would give each (an image-score-pair prompt, any "
        "range, higher-better or lower-better) and it scores new images by that requirement, without "
        "fine-tuning (paper 004). Scores come back in your prompt's scale."
    )
    examples_slot = gr.Column()
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
            csv_images = gr.File(label="Its images (matched by file name with the CSV's path column)",
                                 file_count="multiple", file_types=["image"])
            campaign = gr.Dropdown(label="…or a rating campaign (MOS)", choices=campaign_choices(), value=None,
                                   allow_custom_value=True)
        with gr.Row():
            n = gr.Slider(2, 20, value=10, step=1, label="n ISPs")
            strategy = gr.Radio(["interval", "random"], value="interval", label="Sampling (Table 4)")
            seed = gr.Number(value=0, precision=0, label="Seed (random sampling)")
        sample_button = gr.Button("Sample prompt", elem_id="promptiqa-sample")
    with gr.Accordion("Saved prompts", open=False, elem_id="promptiqa-saved"):
        owner = gr.BrowserState(None, storage_key=OWNER_STORAGE_KEY, secret=OWNER_STORAGE_SECRET)
        gr.Markdown("A prompt you save is yours: this browser (or your Hugging Face login) may replace or delete "
                    "it, nobody else (but the admin).")
        with gr.Row():
            save_name = gr.Textbox(label="Name", placeholder="my-requirement", elem_id="promptiqa-save-name")
            save_button = gr.Button("Save prompt", elem_id="promptiqa-save")
            saved = gr.Dropdown(label="Saved prompts", choices=saved_choices(), value=None, allow_custom_value=True)
            load_button = gr.Button("Load")
            delete_button = gr.Button("Delete", variant="stop", size="sm", elem_id="promptiqa-delete")
        admin_password = gr.Textbox(label="Admin password (optional: replace or delete anyone's prompt)",
                                    type="password", elem_id="promptiqa-admin-password")
        save_status = gr.Markdown(elem_id="promptiqa-save-status")
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
    saved_event = save_button.click(save, [save_name, prompt_images, prompt_scores, owner, admin_password],
                                    [save_status, saved, owner], api_name="promptiqa_save")
    load_button.click(load, [saved], [prompt_images, prompt_scores, gallery], api_name="promptiqa_load")
    delete_button.click(delete, [saved, owner, admin_password], [save_status, saved, owner], api_name="promptiqa_delete")
    rows = examples()
    if rows:
        with examples_slot:
            gr.Examples(rows, inputs=[prompt_images, prompt_scores, images],
                        label="Example (composites scored 1, their real photos 5: a harmonization requirement)")
    return PromptTab(saved_event, saved, campaign)
