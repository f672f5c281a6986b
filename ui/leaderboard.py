"""Leaderboard (inside the Annotate tab): rankings with CIs, win rates, MOS distributions, annotator QC,
and models vs people. API endpoints ``/leaderboard`` and ``/models_vs_people``.

The page is public: the QC table names annotators by pseudonym (never by a key), and tables carry empty
cells, never NaN, where a value is undefined (e.g. the gold accuracy of someone who met no gold pair).
"""

from __future__ import annotations

import gradio as gr
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from backend import leaderboard, registry
from backend.errors import InputError
from backend.settings import Settings
from backend.store.campaigns import get_campaign, list_campaigns
from ui.common import user_errors


def campaign_names() -> list[str]:
    return [c["name"] for c in list_campaigns()]


def comparable_models() -> list[str]:
    return [c.name for c in registry.list_models(("iqa-fr", "iqa-nr")) if not c.needs_mask]


def ranking_chart(ranking: pd.DataFrame, what: str):
    ordered = ranking.iloc[::-1]
    figure = go.Figure(go.Scatter(
        x=ordered["score"], y=ordered["method"], mode="markers",
        error_x=dict(type="data", symmetric=False, array=ordered["ci_high"] - ordered["score"],
                     arrayminus=ordered["score"] - ordered["ci_low"]),
    ))
    figure.update_layout(title=f"{what} with 95 % confidence intervals", xaxis_title=what, yaxis_title="method",
                         height=200 + 40 * len(ranking))
    return figure


def detail_chart(name: str, kind: str):
    if kind == "pairwise":
        rates = leaderboard.win_rates(name)
        figure = px.imshow(rates, text_auto=".2f", zmin=0, zmax=1, color_continuous_scale="RdBu",
                           labels=dict(x="against", y="method", color="win rate"),
                           title="Win rate of the row method against the column method (ties count half)")
        return figure
    mos = leaderboard.image_mos(name)
    return px.box(mos, x="method", y="mos", points="all", title="MOS of each method's images (paper 000, Fig. 3)")


@user_errors
def show_leaderboard(campaign, scaling_model, bootstrap_rounds, progress=gr.Progress()):
    """Ranking table, ranking chart, win-rate heatmap or MOS distribution, and the annotator QC table."""
    info = get_campaign(campaign)
    ranking = leaderboard.method_ranking(info.name, scaling_model or "bt", bootstrap_rounds,
                                         progress=lambda done, total: progress(done / total, desc="bootstrap"))
    what = "Bradley–Terry score" if info.kind == "pairwise" and scaling_model == "bt" else (
        "Thurstone score" if info.kind == "pairwise" else "mean MOS")
    return (without_nan(ranking.round(4)), ranking_chart(ranking, what), detail_chart(info.name, info.kind),
            without_nan(leaderboard.annotator_qc(info.name).round(3)))


def without_nan(table: pd.DataFrame) -> pd.DataFrame:
    """Undefined values as empty cells (JSON null) instead of NaN, which is not JSON."""
    return table.astype(object).where(table.notna(), None)


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
def compare_models(campaign, models, bootstrap_rounds, progress=gr.Progress()):
    """SRCC / KRCC / PLCC of each chosen model against the campaign's human scores, with CIs."""
    rounds = leaderboard.bootstrap_rounds(bootstrap_rounds)  # before any model runs
    if not isinstance(models, (list, tuple, type(None))) or not all(isinstance(m, str) for m in models or []):
        raise InputError('The models are not a list of model names; send e.g. ["psnr", "ssim"].')
    result = leaderboard.models_vs_people(get_campaign(campaign).name, list(models or []), rounds,
                                          progress=lambda f, text: progress(f, desc=text))
    return without_nan(result.correlations.round(4)), correlation_chart(result.correlations)


def build(config: Settings) -> None:
    gr.Markdown("Scores from the judgments collected so far (flagged annotators and gold answers excluded). "
                "Ranks are ranges where confidence intervals overlap.")
    with gr.Row():
        campaign = gr.Dropdown(label="Campaign", choices=campaign_names(), allow_custom_value=True, elem_id="lb-campaign")
        refresh = gr.Button("Refresh list", size="sm")
        scaling = gr.Radio(choices=[("Bradley–Terry", "bt"), ("Thurstone", "thurstone")], value="bt",
                           label="Pairwise scaling")
        rounds = gr.Slider(0, 2000, value=200, step=50, label="Bootstrap rounds")
    show = gr.Button("Show leaderboard", variant="primary", elem_id="lb-show")
    ranking = gr.Dataframe(label="Ranking", interactive=False, elem_id="lb-ranking")
    with gr.Row():
        ranking_plot = gr.Plot(label="Scores with CIs")
        detail_plot = gr.Plot(label="Win rates / MOS distribution")
    qc = gr.Dataframe(label="Annotators (quality control)", interactive=False)
    gr.Markdown("### Models vs people")
    models = gr.CheckboxGroup(label="Models", choices=comparable_models(), value=["psnr", "ssim"])
    compare = gr.Button("Compare models with people")
    correlations = gr.Dataframe(label="Correlations", interactive=False, elem_id="lb-correlations")
    correlation_plot = gr.Plot(label="Correlations with CIs")

    refresh.click(lambda: gr.Dropdown(choices=campaign_names()), outputs=campaign, api_name=False)
    show.click(show_leaderboard, inputs=[campaign, scaling, rounds], outputs=[ranking, ranking_plot, detail_plot, qc],
               api_name="leaderboard")
    compare.click(compare_models, inputs=[campaign, models, rounds], outputs=[correlations, correlation_plot],
                  api_name="models_vs_people")
