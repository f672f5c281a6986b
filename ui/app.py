"""Builds the HarmonyLab Blocks app: five tabs, each built by its own module from the settings, and the
crowd-worker page.

Addresses: ``/?tab=harmonize|score|compare2score|promptiqa|annotate|leaderboard`` opens that tab;
``/?campaign=NAME`` is a crowd worker's link: the judge view of that campaign alone, full width, without the
demo tabs (:func:`ui.annotate.build_worker`; a script in the page's head switches the layout before the
first paint, :data:`PAGE_HEAD`). Lists that change while the page is open (campaigns, saved prompts) are
read again when their tab is selected and after a campaign is created or a prompt saved.

``app.py`` passes :data:`PAGE_CSS` and :data:`PAGE_HEAD` to ``launch`` (Gradio 6 takes them there).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from backend.images import apply_pillow_limits
from backend.settings import Settings
from ui import annotate, compare2score, dogiqa, harmonize, leaderboard, promptiqa, score

PAGE_CSS = annotate.PAGE_CSS + harmonize.CSS + score.CSS + leaderboard.CSS
PAGE_HEAD = annotate.WORKER_HEAD
TAB_PARAMETER = {"harmonize": "tab-harmonize", "score": "tab-score", "compare2score": "tab-compare2score",
                 "promptiqa": "tab-promptiqa", "annotate": "tab-annotate", "judge": "tab-annotate",
                 "leaderboard": "tab-annotate"}


@dataclass
class Built:
    harmonize: harmonize.HarmonizeTab
    score: score.ScoreTab
    promptiqa: promptiqa.PromptTab
    annotate: annotate.AnnotateTab
    leaderboard: leaderboard.LeaderboardTab
    annotate_tabs: gr.Tabs


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
        with gr.Column(elem_id="hl-worker"):
            worker = annotate.build_worker(config)
        with gr.Column(elem_id="hl-main"):
            gr.Markdown(INTRO)
            with gr.Tabs() as tabs:
                with gr.Tab("Harmonize", id="tab-harmonize", elem_id="tab-harmonize") as harmonize_tab:
                    harmonized = harmonize.build(config)
                with gr.Tab("Score", id="tab-score", elem_id="tab-score") as score_tab:
                    with gr.Tabs():
                        with gr.Tab("Scores", id="score-scores", elem_id="score-scores") as scores_tab:
                            scored = score.build(config)
                        with gr.Tab("Dog-IQA regions", id="score-dogiqa", elem_id="score-dogiqa"):
                            dogiqa.build(config)
                with gr.Tab("Compare2Score", id="tab-compare2score", elem_id="tab-compare2score"):
                    compare2score.build(config)
                with gr.Tab("PromptIQA", id="tab-promptiqa", elem_id="tab-promptiqa") as promptiqa_tab:
                    prompts = promptiqa.build(config)
                with gr.Tab("Annotate", id="tab-annotate", elem_id="tab-annotate") as annotate_tab:
                    with gr.Tabs() as annotate_tabs:
                        with gr.Tab("Judge", id="annotate-judge", elem_id="annotate-judge") as judge_tab:
                            judging = annotate.build(config)
                        with gr.Tab("Leaderboard", id="annotate-leaderboard",
                                    elem_id="annotate-leaderboard") as board_tab:
                            board = leaderboard.build(config)
        built = Built(harmonized, scored, prompts, judging, board, annotate_tabs)
        annotate.page_load(judging, worker)
        wire_tab_parameter(demo, tabs, annotate_tabs)
        wire_send_to_score(tabs, harmonized, scored)
        wire_live_lists(built, harmonize_tab, score_tab, scores_tab, promptiqa_tab, annotate_tab, judge_tab, board_tab)
    return demo


def wire_tab_parameter(demo: gr.Blocks, tabs: gr.Tabs, annotate_tabs: gr.Tabs) -> None:
    """``?tab=NAME`` selects that tab when the page loads."""

    def select(request: gr.Request):
        wanted = (request.query_params.get("tab") or "").strip().lower() if request is not None else ""
        if wanted not in TAB_PARAMETER:
            return gr.skip(), gr.skip()
        inner = {"leaderboard": "annotate-leaderboard", "judge": "annotate-judge"}.get(wanted)
        return gr.Tabs(selected=TAB_PARAMETER[wanted]), (gr.Tabs(selected=inner) if inner else gr.skip())

    demo.load(select, None, [tabs, annotate_tabs], api_visibility="private", show_progress="hidden", queue=False)


def wire_live_lists(built: Built, harmonize_tab, score_tab, scores_tab, promptiqa_tab, annotate_tab, judge_tab,
                    board_tab) -> None:
    """Campaign and prompt lists read again on tab select and after a campaign is created or a prompt saved."""
    options = dict(api_visibility="private", show_progress="hidden", queue=False)
    harmonize_tab.select(harmonize.campaign_list, None, built.harmonize.campaign, **options)
    for tab in (score_tab, scores_tab):
        tab.select(score.refresh_saved_prompts, built.score.prompt, built.score.prompt, **options)
    built.promptiqa.saved_event.then(score.refresh_saved_prompts, built.score.prompt, built.score.prompt, **options)
    promptiqa_tab.select(promptiqa.refresh_lists, [built.promptiqa.saved, built.promptiqa.campaign],
                         [built.promptiqa.saved, built.promptiqa.campaign], **options)
    for tab in (annotate_tab, judge_tab):
        built.annotate.refresh(tab.select)
    for tab in (annotate_tab, board_tab):
        tab.select(leaderboard.refresh_campaigns, built.leaderboard.campaign, built.leaderboard.campaign, **options)
    if built.annotate.created is not None:
        built.annotate.created.then(leaderboard.refresh_campaigns, built.leaderboard.campaign,
                                    built.leaderboard.campaign, **options)


def wire_send_to_score(tabs: gr.Tabs, harmonize_tab: harmonize.HarmonizeTab, score_tab: score.ScoreTab) -> None:
    """The Harmonize tab's "send to Score" button puts the shown result, its reference and its mask into the
    Score tab, with models that fit them."""

    def send(result_file, reference_file, mask_file):
        if not result_file:
            raise gr.Error("Harmonize an image first; then send the result to the Score tab.")
        references = [reference_file] if reference_file else None
        models = score.default_models(bool(references), bool(mask_file))
        return ([result_file], references, mask_file, gr.CheckboxGroup(value=models), gr.Tabs(selected="tab-score"))

    harmonize_tab.send_to_score.click(
        send, inputs=[harmonize_tab.result_file, harmonize_tab.reference_file, harmonize_tab.mask_file],
        outputs=[score_tab.images, score_tab.references, score_tab.mask, score_tab.models, tabs], api_name=False)
