"""The leaderboard's Gradio app: wiring only; the work lives in ingest, store, board, analysis and views.

`main()` is what the Space's app.py runs: settings from the environment, and Gradio's own
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT decide where it listens (a Hub Space sets 0.0.0.0).
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Mapping
from pathlib import Path

import gradio as gr
import pandas as pd

from ...configs import MODALITIES, REPRESENTATIONS, STIMULUS_CONFIGS
from ...queue.hub import open_queue
from ...queue.page import RequestForm, ingest_finished, request_evaluation, requests_page
from ...queue.request import (
    API_MODEL_TYPES,
    CHANNEL_TASKS,
    MODEL_TYPES,
    PRECISIONS,
    ApiModel,
    Queue,
    QueueError,
    load_api_models,
)
from ...settings import DATA_ENV, DB_ENV, DEFAULT_DATA, DEFAULT_DB, OAUTH_ENV, QUEUE_ENV, setting
from ..intake.ingest import MAX_UPLOAD_BYTES, Benchmark, load_reference
from ..intake.names import NAME_RULE
from ..intake.submission import Form, submit
from ..statistics.procedures import PAPER_FIGURES, preference_table, steps_table, traces_table
from ..storage.persistence import restore_and_schedule
from ..storage.store import Store
from ..storage.summary import ALL, scope_configs, scope_name
from .board import Board
from .texts import (
    ABOUT,
    FRESH_NOTE,
    GEE_NOTE,
    INTRO,
    LOCAL_IDENTITY,
    LPM_NOTE,
    PAPER_NOTE,
    PROCEDURES_NOTE,
    REQUESTS_NOTE,
    SIGN_IN,
    STEPS_NOTE,
    TABLE_NOTE,
    TITLE,
    TRACES_NOTE,
)
from .views import (
    CHOOSABLE_COLUMNS,
    DEFAULT_COLUMNS,
    LABELS,
    OPENNESS,
    SORTABLE,
    URL_SYNC_JS,
    Filters,
    accuracy_vs_c,
    csv_frame,
    display,
    filter_table,
    fresh_draw_table,
    gap_figure,
    interactions_table,
    lpm_table,
    model_across_configs,
    model_comparison,
    paired_gaps,
    perception_table,
    perception_vs_c,
    predictor_figure,
    predictor_table,
    rounded,
    shown_columns,
)


def write_csv(frame: pd.DataFrame, folder: Path) -> Path:
    """The view as CSV, named by its content: the same view is written once, however often it is asked for."""
    data = frame.to_csv(index=False).encode()
    path = folder / f"mmmult-leaderboard-{hashlib.sha256(data).hexdigest()[:12]}.csv"
    if not path.exists():
        path.write_bytes(data)
    return path


def view(board: Board, filters: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table as the page shows it and the same rows and columns for download (full precision, guarded)."""
    table = board.table(filters.every, filters.modality, filters.representation, filters.self_reported)
    rows = filter_table(table, filters)
    shown = shown_columns(filters.columns or DEFAULT_COLUMNS, filters.modality, filters.representation)
    return display(rows)[[LABELS[c] for c in shown]], csv_frame(rows[shown])


def submit_as(
    store: Store, benchmark: Benchmark, paths: list[str], form: Form, profile: gr.OAuthProfile | None, oauth: bool
) -> str:
    """Submit as the signed-in account on the Hub; locally, as the name the form gives."""
    if oauth and profile is None:
        return "rejected: sign in with Hugging Face (the button above) to submit"
    return submit(store, benchmark, paths, form, account=profile.username if oauth and profile else None)


def build_app(
    store: Store,
    reference: Benchmark,
    oauth: bool | None = None,
    queue: Queue | None = None,
    api_models: Mapping[str, ApiModel] | None = None,
) -> gr.Blocks:
    """The board. `oauth` (default: on a Hub Space with sign-in) makes submitters sign in with Hugging Face.
    `queue` holds evaluation requests (default: $MMMULT_QUEUE, a folder or hf://datasets/OWNER/NAME, else a
    `queue` folder beside the store); `api_models` are the API models a request may name (default: the list
    $MMMULT_API_MODELS names)."""
    oauth = bool(setting(OAUTH_ENV)) if oauth is None else oauth
    queue = queue or open_queue(setting(QUEUE_ENV) or store.path.parent / "queue")
    api_models = load_api_models() if api_models is None else api_models
    board = Board(store, reference)
    downloads = Path(tempfile.mkdtemp(prefix="mmmult-csv-"))

    def refresh(*values: object) -> tuple[pd.DataFrame, str]:
        """The table for the view; the values come in URL_KEYS order (URL_SYNC_JS writes them to the URL)."""
        page, csv = view(board, Filters.of(values))
        return page, str(write_csv(csv, downloads))

    def family_choices(chosen: list[str] | None) -> dict:
        """The family filter's choices: every family on the board, and the ones chosen (from a link)."""
        return gr.update(choices=sorted(set(board.table(self_reported=True)["family"].dropna()) | set(chosen or ())))

    def on_load(request: gr.Request) -> list:
        """The whole page for its URL in one call: the controls, the table, and a linked model's page.
        Runs the workers have finished since the last visit are ingested first (a queue that cannot be read
        leaves the board as it is; the Requests tab says why)."""
        with contextlib.suppress(QueueError):
            ingest_finished(queue, store, reference)
        filters = Filters.from_query(request.query_params.multi_items())
        controls = [filters.q, family_choices(list(filters.family)) | {"value": list(filters.family)},
                    filters.weights, filters.modality, filters.representation, _shown(filters.min_params),
                    _shown(filters.max_params), filters.every, filters.self_reported, filters.sort,
                    filters.descending, list(filters.columns or DEFAULT_COLUMNS), filters.model]  # fmt: skip
        page, csv = view(board, filters)
        linked = filters.model in set(board.table(self_reported=True)["model"])
        analysis = list(analyse(filters.model, None, None)) if linked else [gr.skip()] * len(analysis_outputs)
        tab = gr.Tabs(selected="model") if linked else gr.skip()  # a link to a model opens its page
        return [*controls, page, str(write_csv(csv, downloads)), *analysis, tab]

    def curve(modality: str, representation: str, every: bool, self_reported: bool):  # noqa: ANN202
        table = board.table(every, modality, representation, self_reported)
        scope = scope_name(modality, representation)
        ids = list(table["submission_id"])
        title = ", ".join(scope_configs(modality, representation)) or f"no config is {modality} {representation}"
        return accuracy_vs_c(board.bins(ids, scope), board.fits(ids, scope), table, title)

    def analyse(model: str | None, config: str | None, other: str | None):  # noqa: ANN202
        """The chosen model's analyses; with no model (or one no longer on the board), the top model."""
        table = board.table(self_reported=True)
        models = list(table["model"])
        if model not in models:
            model = models[0] if models else None
        sid = int(table.loc[table["model"] == model, "submission_id"].iloc[0]) if model else -1
        cells, detail = board.cells([sid]), board.items(sid)
        configs = [c for c in STIMULUS_CONFIGS if c in set(cells["config"])]
        config = config if config in configs else (configs[0] if configs else None)
        name = model or "no model on the board yet"
        gaps, predictors = paired_gaps(detail), predictor_table(detail)
        others = [m for m in models if m != model]
        other = other if other in others else None
        comparison = pd.DataFrame()
        if other:
            other_sid = int(table.loc[table["model"] == other, "submission_id"].iloc[0])
            comparison = rounded(model_comparison(detail, board.items(other_sid)), 4)
        return (gr.update(choices=models, value=model), gr.update(choices=configs, value=config),
                gr.update(choices=others, value=other), model_across_configs(cells, name),
                rounded(perception_table(cells)), perception_vs_c(cells, name, config or ""), gap_figure(gaps, name),
                rounded(gaps, 4), predictor_figure(predictors, name, detail), rounded(predictors),
                rounded(lpm_table(detail), 4), rounded(interactions_table(detail), 4), comparison,
                rounded(fresh_draw_table(board.draws(model)) if model else pd.DataFrame(), 4))  # fmt: skip

    # Gradio's own cache holds every upload and download; a long-running Space drops them after a day
    with gr.Blocks(title=TITLE, delete_cache=(3600, 86400)) as demo:
        gr.Markdown(f"# {TITLE}\n\n{INTRO}")
        with gr.Tabs() as tabs:
            with gr.Tab("Leaderboard", id="board"):
                with gr.Row():
                    search = gr.Textbox(label="Search models", elem_id="search")
                    families = gr.Dropdown(label="Family", multiselect=True, choices=[], elem_id="families")
                    weights = gr.Radio(list(OPENNESS), value="all", label="Weights", elem_id="weights")
                with gr.Row():
                    modality = gr.Dropdown([ALL, *MODALITIES], value=ALL, label="Modality", elem_id="modality")
                    representation = gr.Dropdown([ALL, *REPRESENTATIONS], value=ALL, label="Representation",
                                                 elem_id="representation")  # fmt: skip
                    min_params = gr.Textbox(label="Min. parameters (B)", elem_id="min_params")
                    max_params = gr.Textbox(label="Max. parameters (B)", elem_id="max_params")
                with gr.Row():
                    sort = gr.Dropdown([(LABELS[c], c) for c in SORTABLE], value="rank", label="Sort by",
                                       elem_id="sort")  # fmt: skip
                    descending = gr.Checkbox(label="Descending", value=False, elem_id="descending")
                    every = gr.Checkbox(label="Every submission", value=False, elem_id="every")
                    self_reported = gr.Checkbox(label="Include self-reported", value=False, elem_id="self_reported")
                with gr.Accordion("Columns", open=False):
                    columns = gr.CheckboxGroup([(LABELS[c], c) for c in CHOOSABLE_COLUMNS], value=DEFAULT_COLUMNS,
                                               show_label=False, elem_id="columns")  # fmt: skip
                gr.Markdown(TABLE_NOTE)
                table = gr.Dataframe(value=pd.DataFrame(columns=["Model"]), interactive=False, elem_id="board")
                download = gr.DownloadButton("Download CSV", elem_id="download")
            with gr.Tab("Accuracy vs C", id="curve") as curve_tab:
                with gr.Row():
                    plot_modality = gr.Dropdown([ALL, *MODALITIES], value="text", label="Modality")
                    plot_representation = gr.Dropdown([ALL, *REPRESENTATIONS], value="numerals",
                                                      label="Representation")  # fmt: skip
                figure = gr.Plot(elem_id="curve")
            with gr.Tab("Model analysis", id="model") as analysis_tab:
                with gr.Row():
                    chosen = gr.Dropdown(label="Model", choices=[], elem_id="chosen")
                    linked = gr.Textbox(visible=False, elem_id="linked")
                    chosen_config = gr.Dropdown([], label="Config for perception", elem_id="chosen_config")
                    other = gr.Dropdown(label="Compare with", choices=[], elem_id="other")
                across = gr.Plot(elem_id="across")
                gr.Markdown("Perception and computation: accuracy overall and given a correct or wrong reading "
                            "of both operands (from the `mmmult_perceive` tasks):")  # fmt: skip
                perception = gr.Dataframe(interactive=False, elem_id="perception")
                decomposition = gr.Plot(elem_id="decomposition")
                gr.Markdown("Paired configs on the same problems: the gap with its paired 95% interval, McNemar's "
                            "test and Holm's adjustment over this model's pairs:")  # fmt: skip
                gap_plot = gr.Plot(elem_id="gap_plot")
                gaps = gr.Dataframe(interactive=False, elem_id="gaps")
                gr.Markdown("How well each load measure alone predicts correctness (logistic fits; AIC within 2 "
                            "of the best counts as a tie):")  # fmt: skip
                predictor_plot = gr.Plot(elem_id="predictor_plot")
                predictors = gr.Dataframe(interactive=False, elem_id="predictors")
                gr.Markdown(LPM_NOTE)
                lpm = gr.Dataframe(interactive=False, elem_id="lpm")
                gr.Markdown(GEE_NOTE)
                interactions = gr.Dataframe(interactive=False, elem_id="interactions")
                gr.Markdown("Against another model on the problems both answered (first minus second):")
                comparison = gr.Dataframe(interactive=False, elem_id="comparison")
                gr.Markdown(FRESH_NOTE)
                draws = gr.Dataframe(interactive=False, elem_id="draws")
            with gr.Tab("Procedures", id="procedures") as procedures_tab:
                gr.Markdown(PROCEDURES_NOTE)
                preferences = gr.Dataframe(interactive=False, elem_id="preferences")
                gr.Markdown(STEPS_NOTE)
                step_gaps = gr.Dataframe(interactive=False, elem_id="step_gaps")
                gr.Markdown(TRACES_NOTE)
                traces = gr.Dataframe(interactive=False, elem_id="traces")
                gr.Markdown(PAPER_NOTE)
                gr.Dataframe(value=PAPER_FIGURES, interactive=False, elem_id="paper_figures")
            with gr.Tab("Requests", id="requests") as requests_tab:
                gr.Markdown(REQUESTS_NOTE)
                requests = gr.Dataframe(interactive=False, elem_id="requests")
            with gr.Tab("Submit", id="submit"):
                if oauth:
                    gr.LoginButton()
                    gr.Markdown(SIGN_IN)
                else:
                    gr.Markdown(LOCAL_IDENTITY)
                files = gr.File(label="results_*.json and samples_*.jsonl, or one .zip", file_count="multiple",
                                file_types=[".json", ".jsonl", ".zip"], elem_id="files")  # fmt: skip
                with gr.Row():
                    model = gr.Textbox(label="Model name", elem_id="model", info=NAME_RULE)
                    family = gr.Textbox(label="Model family (e.g. Qwen, Gemma, GPT, Llama)", elem_id="family")
                    params = gr.Textbox(label="Parameters (billions; empty if unknown)", elem_id="params")
                with gr.Row():
                    open_weights = gr.Checkbox(label="Open weights", value=True)
                    submitter = gr.Textbox(label="Submitter", elem_id="submitter", visible=not oauth)
                    link = gr.Textbox(label="Link (optional, http or https)", elem_id="link")
                    seed = gr.Textbox(label="Seed of a fresh draw (empty: the published problems)", elem_id="seed")
                send = gr.Button("Submit", variant="primary", elem_id="send")
                status = gr.Textbox(label="Status and validation log", interactive=False, lines=6, elem_id="status")
                with gr.Accordion("Or request an evaluation: the board's workers run the model", open=False):
                    with gr.Row():
                        req_model = gr.Textbox(label="Model (Hub id USER/NAME)",
                                               elem_id="req_model")  # fmt: skip
                        req_revision = gr.Textbox(label="Revision", value="main", elem_id="req_revision")
                        req_type = gr.Dropdown([t for t in MODEL_TYPES if t not in API_MODEL_TYPES], value="hf",
                                               label="lm-eval model type", elem_id="req_type")  # fmt: skip
                        req_api = gr.Dropdown(["", *api_models], value="", label="Or an API model the board runs",
                                              visible=bool(api_models), elem_id="req_api")  # fmt: skip
                    with gr.Row():
                        req_channels = gr.CheckboxGroup(list(CHANNEL_TASKS), value=["text"], label="Channels",
                                                        elem_id="req_channels")  # fmt: skip
                        req_precision = gr.Dropdown(list(PRECISIONS), value="auto", label="Precision")
                        req_family = gr.Textbox(label="Model family", elem_id="req_family")
                        req_params = gr.Textbox(label="Parameters (billions; empty if unknown)")
                    ask = gr.Button("Request", elem_id="ask")
                    asked = gr.Textbox(label="Request status", interactive=False, elem_id="asked")
            with gr.Tab("About", id="about"):
                gr.Markdown(ABOUT)

        analysis_outputs = [chosen, chosen_config, other, across, perception, decomposition, gap_plot, gaps,
                            predictor_plot, predictors, lpm, interactions, comparison, draws]  # fmt: skip
        # In URL_KEYS order. `linked` holds the model a visitor picked on the model page (or a link named), so
        # that the URL opens that model's page.
        url_state = [search, families, weights, modality, representation, min_params, max_params, every,
                     self_reported, sort, descending, columns, linked]  # fmt: skip
        outputs = [table, download]
        for control in url_state[:-1]:
            control.change(refresh, url_state, outputs, js=URL_SYNC_JS)
        demo.load(on_load, None, [*url_state, *outputs, *analysis_outputs, tabs])
        plot_inputs = [plot_modality, plot_representation, every, self_reported]

        for control in plot_inputs[:2]:
            control.input(curve, plot_inputs, figure)
        curve_tab.select(curve, plot_inputs, figure)  # plots are drawn when their tab opens, not at page load
        chosen.input(analyse, [chosen, chosen_config, other], analysis_outputs).then(
            lambda name: name or "", chosen, linked
        ).then(refresh, url_state, outputs, js=URL_SYNC_JS)
        for control in (chosen_config, other):
            control.input(analyse, [chosen, chosen_config, other], analysis_outputs)
        analysis_tab.select(analyse, [chosen, chosen_config, other], analysis_outputs)

        def procedures() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
            frame = board.procedures()
            return preference_table(frame), steps_table(frame), traces_table(frame)

        procedures_tab.select(procedures, None, [preferences, step_gaps, traces])

        requests_tab.select(lambda: requests_page(queue, store, reference), None, requests)

        def on_request(
            model: str, revision: str, model_type: str, api_model: str, channels: list[str], precision: str,
            family: str, params: str, submitter: str, profile: gr.OAuthProfile | None,
        ) -> str:  # fmt: skip
            """The request button; on the Hub the signed-in account asks. An API model chosen from the board's
            list is the model, with its listed type."""
            if oauth and profile is None:
                return "request refused: sign in with Hugging Face (the button above) to ask for an evaluation"
            if api_model in api_models:
                model, model_type = api_model, api_models[api_model].model_type
            form = RequestForm(model, model_type, channels, family, revision, precision, params, submitter)
            return request_evaluation(queue, form, profile.username if oauth and profile else None, api_models)

        ask.click(on_request, [req_model, req_revision, req_type, req_api, req_channels, req_precision, req_family,
                               req_params, submitter], asked, api_name="request")  # fmt: skip

        def on_submit(
            paths: list | None,
            model: str,
            family: str,
            params: str,
            open_weights: bool,
            submitter: str,
            link: str,
            seed: str,
            profile: gr.OAuthProfile | None,
        ) -> str:
            """The submit button; Gradio passes the signed-in profile (None locally or when signed out)."""
            form = Form(model, family, params, open_weights, submitter, link, seed)
            return submit_as(store, reference, [str(p) for p in paths or []], form, profile, oauth)

        send.click(
            on_submit, [files, model, family, params, open_weights, submitter, link, seed], status, api_name="submit"
        ).then(refresh, url_state, outputs).then(family_choices, families, families)
    # Gradio runs one call of each function at a time by default: one visitor's slow analysis would queue
    # everyone's page loads behind it. Reads are independent; the store serialises its own writes.
    return demo.queue(default_concurrency_limit=8)


def _shown(number: float | None) -> str:
    """A parameter bound as its box shows it: 50.0 as "50", none as empty."""
    return "" if number is None else f"{number:g}"


def main() -> None:
    """The Space: the store and the benchmark's problems from the environment (space/README.md lists it)."""
    store_path = Path(setting(DB_ENV, DEFAULT_DB))
    restore_and_schedule(store_path)
    store = Store(store_path)
    reference = load_reference(setting(DATA_ENV, DEFAULT_DATA))
    serve_app(store, reference)


def serve_app(store: Store, reference: Benchmark, port: int | None = None, queue: str | None = None) -> None:
    """Serve the board; Gradio refuses uploads over the ingest limit before they reach us.

    Where it listens is Gradio's own choice unless `port` is given: GRADIO_SERVER_NAME (default
    127.0.0.1) and GRADIO_SERVER_PORT (default 7860).
    """
    board = build_app(store, reference, queue=open_queue(queue) if queue else None)
    board.launch(server_port=port, max_file_size=MAX_UPLOAD_BYTES)
