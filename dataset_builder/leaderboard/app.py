"""The leaderboard's Gradio app: wiring only; the work lives in ingest, store, board, analysis and views.

`main()` is what the Space's app.py runs: settings from the environment, and Gradio's own
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT decide where it listens (a Hub Space sets 0.0.0.0).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import gradio as gr
import pandas as pd

from ..configs import MODALITIES, REPRESENTATIONS, STIMULUS_CONFIGS
from .board import Board
from .ingest import MAX_UPLOAD_BYTES, load_reference
from .persistence import restore_and_schedule
from .store import Store
from .submission import submit
from .summary import ALL, scope_configs
from .texts import ABOUT, INTRO, TITLE
from .views import (
    CHOOSABLE_COLUMNS,
    DEFAULT_COLUMNS,
    OPENNESS,
    URL_SYNC_JS,
    Filters,
    accuracy_vs_c,
    filter_table,
    gap_figure,
    model_across_configs,
    paired_gaps,
    perception_table,
    perception_vs_c,
    predictor_figure,
    predictor_table,
    rounded,
    shown_columns,
)

DB_ENV, DATA_ENV = "MMMULT_SPACE_DB", "MMMULT_DATA"
DEFAULT_DB, DEFAULT_DATA = "space-data/board.sqlite", "mmmult-data"


def write_csv(frame: pd.DataFrame, folder: Path) -> Path:
    """The view as CSV, named by its content: the same view is written once, however often it is asked for."""
    data = frame.to_csv(index=False).encode()
    path = folder / f"mmmult-leaderboard-{hashlib.sha256(data).hexdigest()[:12]}.csv"
    if not path.exists():
        path.write_bytes(data)
    return path


def build_app(store: Store, reference: dict) -> gr.Blocks:
    board = Board(store, reference)
    downloads = Path(tempfile.mkdtemp(prefix="mmmult-csv-"))

    def refresh(q, family, weights, modality, representation, min_params, max_params, every, columns):  # noqa: ANN001, ANN202
        filters = Filters(q or "", tuple(family or ()), weights, modality, representation, min_params, max_params,
                          bool(every))  # fmt: skip
        table = board.table(filters.every, modality, representation)
        shown = filter_table(table, filters)[shown_columns(columns or (), modality, representation)]
        families = sorted(board.table()["family"].dropna().unique())
        return rounded(shown), gr.update(choices=families), str(write_csv(shown, downloads))

    def from_url(request: gr.Request):  # noqa: ANN202
        filters = Filters.from_query(request.query_params.multi_items())
        families = sorted(set(board.table()["family"].dropna()) | set(filters.family))
        return (filters.q, gr.update(choices=families, value=list(filters.family)), filters.weights, filters.modality,
                filters.representation, filters.min_params, filters.max_params, filters.every)  # fmt: skip

    def curve(modality: str, representation: str, every: bool):  # noqa: ANN202
        table = board.table(every)
        cells = board.cells(list(table["submission_id"]), scope_configs(modality, representation))
        return accuracy_vs_c(cells, table, modality, representation)

    def analyse(model: str | None, config: str):  # noqa: ANN202
        """The chosen model's analyses; with no model (or one no longer on the board), the top model."""
        table = board.table()
        models = list(table["model"])
        if model not in models:
            model = models[0] if models else None
        sid = int(table.loc[table["model"] == model, "submission_id"].iloc[0]) if model else -1
        cells, detail = board.cells([sid]), board.items(sid)
        name = model or "no model on the board yet"
        gaps, predictors = paired_gaps(detail), predictor_table(detail)
        return (gr.update(choices=models, value=model), model_across_configs(cells, name),
                rounded(perception_table(cells)), perception_vs_c(cells, name, config), gap_figure(gaps, name),
                rounded(gaps, 4), predictor_figure(predictors, name), rounded(predictors))  # fmt: skip

    # Gradio's own cache holds every upload and download; a long-running Space drops them after a day
    with gr.Blocks(title=TITLE, delete_cache=(3600, 86400)) as demo:
        gr.Markdown(f"# {TITLE}\n\n{INTRO}")
        with gr.Tab("Leaderboard"):
            with gr.Row():
                search = gr.Textbox(label="Search models", elem_id="search")
                families = gr.Dropdown(label="Family", multiselect=True, choices=[], elem_id="families")
                weights = gr.Radio(list(OPENNESS), value="all", label="Weights", elem_id="weights")
            with gr.Row():
                modality = gr.Dropdown([ALL, *MODALITIES], value=ALL, label="Modality", elem_id="modality")
                representation = gr.Dropdown([ALL, *REPRESENTATIONS], value=ALL, label="Representation",
                                             elem_id="representation")  # fmt: skip
                min_params = gr.Number(label="Min. parameters (B)", value=None, elem_id="min_params")
                max_params = gr.Number(label="Max. parameters (B)", value=None, elem_id="max_params")
                every = gr.Checkbox(label="Every submission", value=False, elem_id="every")
            with gr.Accordion("Columns", open=False):
                columns = gr.CheckboxGroup(CHOOSABLE_COLUMNS, value=DEFAULT_COLUMNS, show_label=False,
                                           elem_id="columns")  # fmt: skip
            table = gr.Dataframe(value=pd.DataFrame(columns=["model"]), interactive=False, elem_id="board")
            download = gr.DownloadButton("Download CSV", elem_id="download")
        with gr.Tab("Accuracy vs C") as curve_tab:
            with gr.Row():
                plot_modality = gr.Dropdown([ALL, *MODALITIES], value="text", label="Modality")
                plot_representation = gr.Dropdown([ALL, *REPRESENTATIONS], value="numerals", label="Representation")
            figure = gr.Plot(elem_id="curve")
        with gr.Tab("Model analysis") as analysis_tab:
            with gr.Row():
                chosen = gr.Dropdown(label="Model", choices=[], elem_id="chosen")
                chosen_config = gr.Dropdown(list(STIMULUS_CONFIGS), value=STIMULUS_CONFIGS[0],
                                            label="Config for perception")  # fmt: skip
            across = gr.Plot(elem_id="across")
            gr.Markdown("Perception and computation: accuracy overall and given a correct or wrong reading "
                        "of both operands (from the `mmmult_perceive` tasks):")  # fmt: skip
            perception = gr.Dataframe(interactive=False, elem_id="perception")
            decomposition = gr.Plot(elem_id="decomposition")
            gr.Markdown("Paired configs on the same problems (McNemar's test on the discordant pairs):")
            gap_plot = gr.Plot(elem_id="gap_plot")
            gaps = gr.Dataframe(interactive=False, elem_id="gaps")
            gr.Markdown("How well each load measure alone predicts correctness (logistic fits; lower AIC is better):")
            predictor_plot = gr.Plot(elem_id="predictor_plot")
            predictors = gr.Dataframe(interactive=False, elem_id="predictors")
        with gr.Tab("Submit"):
            files = gr.File(label="results_*.json and samples_*.jsonl, or one .zip", file_count="multiple",
                            file_types=[".json", ".jsonl", ".zip"], elem_id="files")  # fmt: skip
            with gr.Row():
                model = gr.Textbox(label="Model name", elem_id="model")
                family = gr.Textbox(label="Model family (e.g. Qwen, Gemma, GPT, Llama)", elem_id="family")
                params = gr.Number(label="Parameters (billions, optional)", value=None)
            with gr.Row():
                open_weights = gr.Checkbox(label="Open weights", value=True)
                submitter = gr.Textbox(label="Submitter", elem_id="submitter")
                link = gr.Textbox(label="Link (optional)")
            send = gr.Button("Submit", variant="primary", elem_id="send")
            status = gr.Textbox(label="Status and validation log", interactive=False, lines=6, elem_id="status")
        with gr.Tab("About"):
            gr.Markdown(ABOUT)

        url_filters = [search, families, weights, modality, representation, min_params, max_params, every]
        filters = [*url_filters, columns]
        outputs = [table, families, download]
        for control in url_filters:
            control.change(refresh, filters, outputs, js=URL_SYNC_JS)
        columns.change(refresh, filters, outputs)
        demo.load(from_url, None, url_filters).then(refresh, filters, outputs)
        plot_inputs = [plot_modality, plot_representation, every]
        for control in plot_inputs:
            control.change(curve, plot_inputs, figure)
        curve_tab.select(curve, plot_inputs, figure)  # plots are drawn when their tab opens, not at page load
        analysis_outputs = [chosen, across, perception, decomposition, gap_plot, gaps, predictor_plot, predictors]
        for control in (chosen, chosen_config):
            control.change(analyse, [chosen, chosen_config], analysis_outputs)
        analysis_tab.select(analyse, [chosen, chosen_config], analysis_outputs)

        def on_submit(paths, model, family, params, open_weights, submitter, link, *current):  # noqa: ANN001, ANN002, ANN202
            message = submit(store, reference, [str(p) for p in paths or []], model, family, params, open_weights,
                             submitter, link)  # fmt: skip
            table_filters, (plot_m, plot_r) = current[: len(filters)], current[len(filters) :]
            return message, *refresh(*table_filters), curve(plot_m, plot_r, table_filters[url_filters.index(every)])

        send.click(
            on_submit,
            [files, model, family, params, open_weights, submitter, link, *filters, plot_modality, plot_representation],
            [status, *outputs, figure],
            api_name="submit",
        )
    return demo


def main() -> None:
    """The Space: the store and the benchmark's problems from the environment (space/README.md lists it)."""
    store_path = Path(os.environ.get(DB_ENV, DEFAULT_DB))
    restore_and_schedule(store_path)
    store = Store(store_path)
    reference = load_reference(os.environ.get(DATA_ENV, DEFAULT_DATA))
    serve_app(store, reference)


def serve_app(store: Store, reference: dict, port: int | None = None) -> None:
    """Serve the board; Gradio refuses uploads over the ingest limit before they reach us.

    Where it listens is Gradio's own choice unless `port` is given: GRADIO_SERVER_NAME (default
    127.0.0.1) and GRADIO_SERVER_PORT (default 7860).
    """
    build_app(store, reference).launch(server_port=port, max_file_size=MAX_UPLOAD_BYTES)
