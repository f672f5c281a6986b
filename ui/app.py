"""Builds the HarmonyLab Blocks app: five tabs, each built by its own module from the settings."""

from __future__ import annotations

import gradio as gr

from backend.images import apply_pillow_limits
from backend.settings import Settings
from ui import annotate, compare2score, dogiqa, harmonize, leaderboard, promptiqa, score


class AnnotateAndLeaderboard:
    """The Annotate tab: collecting judgments, and the leaderboard built from them."""

    @staticmethod
    def build(config: Settings) -> None:
        with gr.Tabs():
            with gr.Tab("Judge", id="annotate-judge", elem_id="annotate-judge"):
                annotate.build(config)
            with gr.Tab("Leaderboard", id="annotate-leaderboard", elem_id="annotate-leaderboard"):
                leaderboard.build(config)


class ScoreAndDogIQA:
    """The Score tab: scores from every model, and the Dog-IQA view of one image's regions (paper 003)."""

    @staticmethod
    def build(config: Settings) -> gr.File:
        with gr.Tabs():
            with gr.Tab("Scores", id="score-scores", elem_id="score-scores"):
                images = score.build(config)
            with gr.Tab("Dog-IQA regions", id="score-dogiqa", elem_id="score-dogiqa"):
                dogiqa.build(config)
        return images


TABS = (
    ("Harmonize", "tab-harmonize", harmonize),
    ("Score", "tab-score", ScoreAndDogIQA),
    ("Compare2Score", "tab-compare2score", compare2score),
    ("PromptIQA", "tab-promptiqa", promptiqa),
    ("Annotate", "tab-annotate", AnnotateAndLeaderboard),
)

INTRO = (
    "# HarmonyLab\n"
    "Harmonize a composite photo, score it with image-quality models, and collect human judgments "
    "that rank both. Every action here is also an HTTP API endpoint (see *Use via API* below) and a "
    "command (`python -m backend --help`)."
)


def build_app(config: Settings) -> gr.Blocks:
    """The whole page; every tab builder receives the settings (``backend.settings``)."""
    apply_pillow_limits(config.max_pixels)  # Pillow's own guard at our pixel limit, for any decode in the process
    with gr.Blocks(title="HarmonyLab") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs() as tabs:
            built = {}
            for label, elem_id, module in TABS:
                with gr.Tab(label, id=elem_id, elem_id=elem_id):
                    built[elem_id] = module.build(config)
        wire_send_to_score(tabs, built["tab-harmonize"], built["tab-score"])
    return demo


def wire_send_to_score(tabs: gr.Tabs, harmonize_tab, score_images: gr.File) -> None:
    """The Harmonize tab's "send to Score" button puts the shown result into the Score tab's images."""

    def send(result_file):
        if not result_file:
            raise gr.Error("Harmonize an image first; then send the result to the Score tab.")
        return [result_file], gr.Tabs(selected="tab-score")

    harmonize_tab.send_to_score.click(send, inputs=harmonize_tab.result_file, outputs=[score_images, tabs],
                                      api_name=False)
