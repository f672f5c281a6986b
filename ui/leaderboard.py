"""Leaderboard (inside the Annotate tab): rankings with intervals and rank ranges, what they rest on (votes,
annotators, scale, interval method, agreement between annotators), win rates with their counts, MOS
distributions, annotator QC, and models vs people. API endpoints ``/leaderboard`` and ``/models_vs_people``.

Rating campaigns are shown on their own 1-5 scale by default, or as paper 000's z-score MOS on 0-100; the
summary says which, and how the intervals were computed (``backend.leaderboard``). Changing the campaign
clears every result of the previous one.

The page is public: the QC table names annotators by pseudonym (never by a key), and tables carry empty
cells, never NaN, where a value is undefined (e.g. the gold accuracy of someone who met no gold pair).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from backend import leaderboard, registry
from backend.errors import InputError
from backend.settings import Settings
from backend.store.campaigns import get_campaign, list_campaigns
from ui.common import user_errors

SCALE_CHOICES = [("1–5, the campaign's rating scale", "rating"), ("0–100 z-score MOS (paper 000)", "mos100")]
CSS = """
#lb-summary { font-size: 0.95rem; }
"""


@dataclass
class LeaderboardTab:
    campaign: gr.Dropdown


def campaign_names() -> list[str]:
    try:
        return [c["name"] for c in list_campaigns()]
    except Exception:  # noqa: BLE001 - the store is unavailable: the list stays empty, showing says why
        return []


def refresh_campaigns(current):
    names = campaign_names()
    return gr.Dropdown(choices=names, value=current if current in names else (names[0] if len(names) == 1 else None))


def comparable_models() -> list[str]:
    return [c.name for c in registry.list_models(("iqa-fr", "iqa-nr"))
            if not c.needs_mask and not c.needs_prompt and registry.status(c.name).ready]


def ranking_chart(ranking: pd.DataFrame, what: str, scale_range: tuple[float, float] | None = None):
    ordered = ranking.iloc[::-1]
    labels = [f"{method} (rank {rank})" for method, rank in zip(ordered["method"], ordered["rank"], strict=True)]
    figure = go.Figure(go.Scatter(
        x=ordered["score"], y=labels, mode="markers", marker={"size": 10},
        error_x=dict(type="data", symmetric=False, array=ordered["ci_high"] - ordered["score"],
                     arrayminus=ordered["score"] - ordered["ci_low"]),
    ))
    figure.update_layout(title=f"{what} with 95 % intervals", xaxis_title=what, yaxis_title="method (rank range)",
                         height=220 + 40 * len(ranking))
    if scale_range is not None:
        figure.update_xaxes(range=list(scale_range))
    return figure


def detail_chart(name: str, kind: str, scale: str):
    if kind == "pairwise":
        rates = leaderboard.win_rates(name)
        counts = leaderboard.comparison_counts(name)
        text = [[("" if np.isnan(rate) else f"{rate:.2f}<br>n={int(count)}") for rate, count in zip(row, count_row, strict=True)]
                for row, count_row in zip(rates.to_numpy(), counts.reindex_like(rates).to_numpy(), strict=True)]
        figure = go.Figure(go.Heatmap(z=rates.to_numpy(), x=list(rates.columns), y=list(rates.index), zmin=0, zmax=1,
                                      colorscale="RdBu", text=text, texttemplate="%{text}",
                                      colorbar={"title": "win rate"},
                                      hovertemplate="%{y} beat %{x}: %{z:.2f}<extra></extra>"))
        figure.update_layout(title="Win rate of row vs column (ties half; n = votes)", xaxis_title="against",
                             yaxis_title="method",
                             yaxis={"autorange": "reversed"})
        return figure
    mos = leaderboard.image_mos(name, scale=scale)
    title = "Mean rating (1–5) of each method's images" if scale == "rating" else \
        "MOS (0–100, paper 000 Eq. 1) of each method's images (paper 000, Fig. 3)"
    figure = px.box(mos, x="method", y="mos", points="all", title=title)
    figure.update_yaxes(range=[0.8, 5.2] if scale == "rating" else None, title="rating" if scale == "rating" else "MOS")
    return figure


def without_nan(table: pd.DataFrame) -> pd.DataFrame:
    """Undefined values as empty cells (JSON null) instead of NaN, which is not JSON."""
    return table.astype(object).where(table.notna(), None)


@user_errors
def show_leaderboard(campaign, scaling_model, bootstrap_rounds, mos_scale="rating", progress=gr.Progress()):  # noqa: B008
    """Ranking table (rank range, method, score, 95 % interval, answers, annotators), the summary of what it rests
    on, the ranking chart, the win-rate heatmap or MOS distribution, and the annotator QC table."""
    info = get_campaign(campaign)
    scale = mos_scale or "rating"
    report = leaderboard.ranking_report(info.name, scaling_model or "bt", bootstrap_rounds,
                                        progress=lambda done, total: progress(done / total, desc="intervals"),
                                        scale=scale)
    ranking = report.table
    if info.kind == "pairwise":
        what = "Bradley–Terry score" if (scaling_model or "bt") == "bt" else "Thurstone score"
        scale_range = None
    else:
        what = "mean rating (1–5)" if scale == "rating" else "MOS (0–100)"
        scale_range = report.summary["scale_range"]
    shown = ranking.rename(columns={"n": "votes" if info.kind == "pairwise" else "ratings"})
    return (without_nan(shown.round(3)), report.text, ranking_chart(ranking, what, scale_range),
            detail_chart(info.name, info.kind, scale), without_nan(leaderboard.annotator_qc(info.name).round(3)))


def correlation_chart(correlations: pd.DataFrame):
    long = []
    for metric in ("srcc", "krcc", "plcc"):
        for row in correlations.itertuples():
            value = getattr(row, metric)
            long.append({"model": row.model, "metric": metric.upper(), "value": value,
                         "plus": getattr(row, f"{metric}_high") - value, "minus": value - getattr(row, f"{metric}_low")})
    frame = pd.DataFrame(long)
    return px.bar(frame, x="model", y="value", color="metric", barmode="group", error_y="plus", error_y_minus="minus",
                  title="Agreement of each model with the people (95 % bootstrap CIs)", range_y=[-1, 1])


@user_errors
def compare_models(campaign, models, bootstrap_rounds, progress=gr.Progress()):  # noqa: B008 - Gradio injects it
    """SRCC / KRCC / PLCC of each chosen model against the campaign's human scores, with CIs."""
    rounds = leaderboard.bootstrap_rounds(bootstrap_rounds)  # before any model runs
    if not isinstance(models, (list, tuple, type(None))) or not all(isinstance(m, str) for m in models or []):
        raise InputError('The models are not a list of model names; send e.g. ["psnr", "ssim"].')
    result = leaderboard.models_vs_people(get_campaign(campaign).name, list(models or []), rounds,
                                          progress=lambda f, text: progress(f, desc=text))
    return without_nan(result.correlations.round(4)), correlation_chart(result.correlations)


def cleared(campaign):
    """Results of another campaign leave the page when the campaign changes; the scale choice shows for
    rating campaigns only."""
    try:
        kind = get_campaign(campaign).kind if campaign else None
    except Exception:  # noqa: BLE001 - an unknown name typed in: showing will say so
        kind = None
    return (None, "", None, None, None, None, None, gr.Radio(visible=kind != "rating"),
            gr.Radio(visible=kind == "rating"))


def build(config: Settings) -> LeaderboardTab:
    gr.Markdown("Scores from the judgments collected so far (flagged annotators, gold answers and undone answers "
                "excluded). Ranks are ranges where the 95 % intervals overlap; with few votes or few annotators the "
                "intervals are wide, as they should be.")
    with gr.Row():
        campaign = gr.Dropdown(label="Campaign", choices=campaign_names(), allow_custom_value=True, elem_id="lb-campaign")
        scaling = gr.Radio(choices=[("Bradley–Terry", "bt"), ("Thurstone", "thurstone")], value="bt",
                           label="Pairwise scaling", elem_id="lb-scaling")
        scale = gr.Radio(choices=SCALE_CHOICES, value="rating", label="Rating scale", elem_id="lb-scale", visible=False)
        rounds = gr.Slider(0, 2000, value=200, step=50, label="Bootstrap rounds")
    show = gr.Button("Show leaderboard", variant="primary", elem_id="lb-show")
    ranking = gr.Dataframe(label="Ranking", interactive=False, elem_id="lb-ranking")
    summary = gr.Markdown(elem_id="lb-summary")
    with gr.Row():
        ranking_plot = gr.Plot(label="Scores with intervals", elem_id="lb-ranking-plot")
        detail_plot = gr.Plot(label="Win rates / MOS distribution", elem_id="lb-detail-plot")
    qc = gr.Dataframe(label="Annotators (quality control)", interactive=False, elem_id="lb-qc")
    gr.Markdown("### Models vs people")
    models = gr.CheckboxGroup(label="Models", choices=comparable_models(), value=["psnr", "ssim"])
    compare = gr.Button("Compare models with people", elem_id="lb-compare")
    correlations = gr.Dataframe(label="Correlations", interactive=False, elem_id="lb-correlations")
    correlation_plot = gr.Plot(label="Correlations with CIs")

    campaign.change(cleared, campaign, [ranking, summary, ranking_plot, detail_plot, qc, correlations, correlation_plot,
                                        scaling, scale], api_visibility="private", show_progress="hidden", queue=False)
    show.click(show_leaderboard, inputs=[campaign, scaling, rounds, scale],
               outputs=[ranking, summary, ranking_plot, detail_plot, qc], api_name="leaderboard")
    compare.click(compare_models, inputs=[campaign, models, rounds], outputs=[correlations, correlation_plot],
                  api_name="models_vs_people")
    return LeaderboardTab(campaign)
