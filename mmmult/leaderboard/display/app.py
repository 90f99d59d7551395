"""The leaderboard's Gradio app: wiring only; the work lives in rescore, store, board, analysis, filters,
formatting, plots and model_tables.

`main()` is what the Space's app.py runs: settings from the environment, and Gradio's own
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT decide where it listens (a Hub Space sets 0.0.0.0).
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from dataset_builder.configs import MODALITIES, REPRESENTATIONS, STIMULUS_CONFIGS
from dataset_builder.problems import BASE, PROBLEM_SETS
from dataset_builder.settings import (
    DATA_ENV,
    DB_ENV,
    DEFAULT_DATA,
    DEFAULT_DB,
    DEFAULT_RESULTS,
    EXTENDED_DATA_ENV,
    OAUTH_ENV,
    QUEUE_ENV,
    RESULTS_ENV,
    setting,
)
from dataset_builder.tasks import REGIMES, WORKED
from mmmult.leaderboard.display.board import Board
from mmmult.leaderboard.display.columns import CHOOSABLE_COLUMNS, DEFAULT_COLUMNS, LABELS, SORTABLE, default_columns
from mmmult.leaderboard.display.filters import OPENNESS, URL_KEYS, URL_SYNC_JS, Filters, filter_table, why_no_rows
from mmmult.leaderboard.display.findings import findings_table
from mmmult.leaderboard.display.formatting import csv_frame, display, rounded, shown_columns
from mmmult.leaderboard.display.model_tables import (
    COMPARISON_COLUMNS,
    fresh_draw_table,
    informative_model,
    interactions_table,
    lpm_table,
    model_comparison,
    paired_gaps,
    perception_table,
    predictor_table,
    provenance_table,
    regime_table,
    why_empty,
)
from mmmult.leaderboard.display.plots import (
    accuracy_vs_c,
    gap_figure,
    model_across_configs,
    perception_vs_c,
    predictor_figure,
)
from mmmult.leaderboard.display.requests import RequestForm, ingest_finished, request_evaluation, requests_page
from mmmult.leaderboard.display.texts import (
    ABOUT,
    FINDINGS_NOTE,
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
from mmmult.leaderboard.intake.benchmark import Benchmark, load_reference
from mmmult.leaderboard.intake.names import NAME_RULE
from mmmult.leaderboard.intake.rescore import SPLITS, TEST
from mmmult.leaderboard.intake.upload import MAX_UPLOAD_BYTES
from mmmult.leaderboard.published import load_published
from mmmult.leaderboard.storage.persistence import restore_and_schedule
from mmmult.leaderboard.storage.store import Store
from mmmult.leaderboard.storage.summary import ALL, scope_configs, scope_name
from mmmult.leaderboard.submissions import Form, submit
from mmmult.queue.hub_repo import open_queue
from mmmult.queue.request import (
    API_MODEL_TYPES,
    CHANNEL_TASKS,
    MODEL_TYPES,
    PRECISIONS,
    ApiModel,
    Queue,
    QueueError,
    load_api_models,
)
from mmmult.statistics.procedures import PAPER_FIGURES, preference_table, steps_table, traces_table


def write_csv(frame: pd.DataFrame, folder: Path) -> Path:
    """The view as CSV, named by its content: the same view is written once, however often it is asked for."""
    data = frame.to_csv(index=False).encode()
    path = folder / f"mmmult-leaderboard-{hashlib.sha256(data).hexdigest()[:12]}.csv"
    if not path.exists():
        path.write_bytes(data)
    return path


def view(board: Board, filters: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table as the page shows it and the same rows and columns for download (full precision, guarded)."""
    table = board.table(filters.every, filters.modality, filters.representation, filters.self_reported,
                        filters.regime, filters.differing, filters.problem_set, filters.split)  # fmt: skip
    rows = filter_table(table, filters)
    columns = default_columns(filters.problem_set, filters.columns)
    shown = shown_columns(columns, filters.modality, filters.representation, board.reference.configs,
                          filters.problem_set)  # fmt: skip
    return display(rows)[[LABELS[c] for c in shown]], csv_frame(rows[shown])


def _why_no_rows(filters: Filters) -> dict:
    """The line under the table where the view can hold no row (filters.why_no_rows), hidden otherwise."""
    text = why_no_rows(filters)
    return gr.update(value=text, visible=bool(text))


def submit_as(
    store: Store, benchmark: Benchmark, paths: list[str], form: Form, profile: gr.OAuthProfile | None, oauth: bool
) -> str:
    """Submit as the signed-in account on the Hub; locally, as the name the form gives."""
    if oauth and profile is None:
        return "rejected: sign in with Hugging Face (the button above) to submit"
    return submit(store, benchmark, paths, form, account=profile.username if oauth and profile else None)


ANALYSIS_TABLES = ("regimes", "perception", "gaps", "predictors", "lpm", "interactions", "comparison", "draws",
                   "provenance")  # fmt: skip
"""The model page's tables; each has a one-line note beside it (`{table}_why`) that the page shows instead of
the table when it is empty."""
ANALYSIS_OUTPUTS = ("chosen", "chosen_config", "other", "across", "decomposition", "gap_plot", "predictor_plot",
                    *ANALYSIS_TABLES, *(f"{table}_why" for table in ANALYSIS_TABLES))  # fmt: skip
"""The model page's components, in the order Handlers.analyse fills them."""
DIGITS = {"gaps": 4, "lpm": 4, "interactions": 4, "comparison": 4, "draws": 4}
"""Decimals of the model page's tables where 3 would hide a difference (p-values, coefficients)."""
URL_STATE = ("search", "families", "weights", "regime", "problem_set", "split", "modality", "representation",
             "min_params", "max_params", "every", "self_reported", "differing", "sort", "descending", "columns",
             "linked")  # fmt: skip
"""The controls the page URL keeps, in URL_KEYS order. `linked` holds the model a visitor picked on the model page
(or a link named), so that the URL opens that model's page."""


class Handlers:
    """What the page's events do: each method reads the store through the board and returns the components' new
    values; build_app wires them to the layout."""

    def __init__(
        self, store: Store, reference: Benchmark, queue: Queue, api_models: Mapping[str, ApiModel], oauth: bool
    ) -> None:
        self.store, self.reference, self.queue, self.api_models, self.oauth = store, reference, queue, api_models, oauth
        self.board = Board(store, reference)
        self.downloads = Path(tempfile.mkdtemp(prefix="mmmult-csv-"))

    def refresh(self, *values: object) -> tuple[pd.DataFrame, str, dict]:
        """The table for the view, its CSV and the line that says why the view can hold no row; the values come in
        URL_KEYS order (URL_SYNC_JS writes them to the URL)."""
        filters = Filters.of(values)
        page, csv = view(self.board, filters)
        return page, str(write_csv(csv, self.downloads)), _why_no_rows(filters)

    def family_choices(self, chosen: list[str] | None) -> dict:
        """The family filter's choices: every family on the board, and the ones chosen (from a link)."""
        every = (self.board.table(self_reported=True, regime=r, differing=True, problem_set=s, split=split)
                 for r in REGIMES for s in PROBLEM_SETS for split in SPLITS)  # fmt: skip
        families = {f for table in every for f in table["family"].dropna()}
        return gr.update(choices=sorted(families | set(chosen or ())))

    def on_load(self, request: gr.Request) -> list:
        """The whole page for its URL in one call: the controls, the table, and a linked model's page.
        Runs the workers have finished since the last visit are ingested first (a queue that cannot be read
        leaves the board as it is; the Requests tab says why)."""
        with contextlib.suppress(QueueError):
            ingest_finished(self.queue, self.store, self.reference)
        filters = Filters.from_query(request.query_params.multi_items())
        controls = dict(zip(URL_KEYS, filters.controls(), strict=True))
        controls["family"] = self.family_choices(list(filters.family)) | {"value": list(filters.family)}
        page, csv = view(self.board, filters)
        shown = self.board.table(self_reported=True, regime=filters.regime, differing=True, split=filters.split)
        linked = filters.model in set(shown["model"])
        analysis = (list(self.analyse(filters.model, None, None, filters.regime, filters.split)) if linked
                    else [gr.skip()] * len(ANALYSIS_OUTPUTS))  # fmt: skip
        tab = gr.Tabs(selected="model") if linked else gr.skip()  # a link to a model opens its page
        return [*controls.values(), page, str(write_csv(csv, self.downloads)), _why_no_rows(filters), *analysis, tab]

    def curve(  # noqa: ANN201
        self, modality: str, representation: str, every: bool, self_reported: bool, regime: str = WORKED,
        problem_set: str = BASE, split: str = TEST,
    ):  # fmt: skip
        """Every model's accuracy against C in one scope, regime, problem set and split, on that set's range of C."""
        regime = regime if regime in REGIMES else WORKED
        problem_set = problem_set if problem_set in PROBLEM_SETS else BASE
        split = split if split in SPLITS else TEST
        table = self.board.table(every, modality, representation, self_reported, regime, problem_set=problem_set,
                                 split=split)  # fmt: skip
        scope = scope_name(modality, representation, problem_set)
        ids = list(table["submission_id"])
        configs = ", ".join(scope_configs(modality, representation, problem_set))
        title = f"{configs or f'no config is {modality} {representation}'} ({regime} regime, {split} split)"
        bins, fits = self.board.bins(ids, scope, regime), self.board.fits(ids, scope, regime)
        return accuracy_vs_c(bins, fits, table, title, PROBLEM_SETS[problem_set].max_c)

    def analyse(
        self, model: str | None, config: str | None, other: str | None, regime: str = WORKED, split: str = TEST
    ) -> tuple:
        """The chosen model's analyses in one regime and split, in ANALYSIS_OUTPUTS order, beside a table of both
        regimes' headline figures; with no model (or one not on the board in that regime and split), the most
        informative one (informative_model). An empty table is hidden and its note says why."""
        board = self.board
        regime = regime if regime in REGIMES else WORKED
        split = split if split in SPLITS else TEST
        table = board.table(self_reported=True, regime=regime, differing=True, split=split)
        models = list(table["model"])
        if model not in models:
            model = informative_model(table)
        sid = int(table.loc[table["model"] == model, "submission_id"].iloc[0]) if model else -1
        cells, items = board.cells([sid], regime=regime), board.items(sid)
        detail = items[items["regime"].eq(regime) | items["kind"].ne("multiply")]
        configs = [c for c in STIMULUS_CONFIGS if c in set(cells["config"])]
        config = config if config in configs else (configs[0] if configs else None)
        name = model or "no model on the board yet"
        others = [m for m in models if m != model]
        other = other if other in others else None
        comparison = pd.DataFrame(columns=COMPARISON_COLUMNS)
        if other:
            other_sid = int(table.loc[table["model"] == other, "submission_id"].iloc[0])
            others_items = board.items(other_sid)
            comparison = model_comparison(detail, others_items[others_items["regime"] == regime])
        tables = {"regimes": regime_table(self._regime_fits(model or "", split)), "perception": perception_table(cells),
                  "gaps": paired_gaps(detail),
                  "predictors": predictor_table(detail), "lpm": lpm_table(detail),
                  "interactions": interactions_table(detail), "comparison": comparison,
                  "draws": fresh_draw_table(board.draws(model or "", regime)),
                  "provenance": provenance_table(self.store.provenance(sid) if model else None)}  # fmt: skip
        why = {key: "" if len(frame) else why_empty(key, detail) for key, frame in tables.items()}
        outputs = {
            "chosen": gr.update(choices=models, value=model),
            "chosen_config": gr.update(choices=configs, value=config),
            "other": gr.update(choices=others, value=other),
            "across": model_across_configs(cells, f"{name} ({regime} regime)"),
            "decomposition": perception_vs_c(cells, name, config or ""),
            "gap_plot": gap_figure(tables["gaps"], name),
            "predictor_plot": predictor_figure(tables["predictors"], name, why["predictors"]),
            **{
                key: gr.update(value=rounded(frame, DIGITS.get(key, 3)), visible=bool(len(frame)))
                for key, frame in tables.items()
            },
            **{f"{key}_why": gr.update(value=text, visible=bool(text)) for key, text in why.items()},
        }
        return tuple(outputs[key] for key in ANALYSIS_OUTPUTS)

    def _regime_fits(self, model: str, split: str = TEST) -> pd.DataFrame:
        """The model's row of each regime it ran on the split (its latest re-scored run of it): the stored fits over
        all its configs, side by side."""
        rows = []
        for regime in REGIMES:
            table = self.board.table(self_reported=True, regime=regime, differing=True, split=split)
            mine = table.loc[table["model"] == model, "submission_id"]
            if len(mine):
                rows.append(self.board.fits([int(mine.iloc[0])], ALL, regime))
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    def procedures(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        frame = self.board.procedures()
        return preference_table(frame), steps_table(frame), traces_table(frame)

    def findings(self, regime: str = WORKED) -> pd.DataFrame:
        """The paper's claims against every model's runs of the regime (display.findings)."""
        return findings_table(self.board, regime if regime in REGIMES else WORKED)

    def requests(self) -> pd.DataFrame:
        return requests_page(self.queue, self.store, self.reference)

    def on_request(
        self, model: str, revision: str, model_type: str, api_model: str, channels: list[str], precision: str,
        family: str, params: str, submitter: str, regimes: list[str] | None, profile: gr.OAuthProfile | None,
    ) -> str:  # fmt: skip
        """The request button; on the Hub the signed-in account asks. An API model chosen from the board's
        list is the model, with its listed type. The regimes come last, so that a caller of the API from before
        requests named them may leave them out (the worked regime)."""
        if self.oauth and profile is None:
            return "request refused: sign in with Hugging Face (the button above) to ask for an evaluation"
        if api_model in self.api_models:
            model, model_type = api_model, self.api_models[api_model].model_type
        form = RequestForm(model, model_type, channels, family, revision, precision, params, submitter, regimes)
        account = profile.username if self.oauth and profile else None
        return request_evaluation(self.queue, form, account, self.api_models)

    def on_submit(
        self, paths: list | None, model: str, family: str, params: str, open_weights: bool, submitter: str,
        link: str, seed: str, profile: gr.OAuthProfile | None,
    ) -> str:  # fmt: skip
        """The submit button; Gradio passes the signed-in profile (None locally or when signed out)."""
        form = Form(model, family, params, open_weights, submitter, link, seed)
        return submit_as(self.store, self.reference, [str(p) for p in paths or []], form, profile, self.oauth)


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
    handlers = Handlers(store, reference, queue, load_api_models() if api_models is None else api_models, oauth)
    # Gradio's own cache holds every upload and download; a long-running Space drops them after a day
    with gr.Blocks(title=TITLE, delete_cache=(3600, 86400)) as demo:
        gr.Markdown(f"# {TITLE}\n\n{INTRO}")
        ui: dict[str, Any] = {}
        with gr.Tabs() as ui["tabs"]:
            _board_tab(ui)
            _curve_tab(ui)
            _analysis_tab(ui)
            _procedures_tab(ui)
            _findings_tab(ui)
            _requests_tab(ui)
            _submit_tab(ui, oauth, handlers.api_models)
            with gr.Tab("About", id="about"):
                gr.Markdown(ABOUT)
        _wire(demo, ui, handlers)
    # Gradio runs one call of each function at a time by default: one visitor's slow analysis would queue
    # everyone's page loads behind it. Reads are independent; the store serialises its own writes.
    return demo.queue(default_concurrency_limit=8)


def _board_tab(ui: dict[str, Any]) -> None:
    with gr.Tab("Leaderboard", id="board"):
        with gr.Row():
            ui["search"] = gr.Textbox(label="Search models", elem_id="search")
            ui["families"] = gr.Dropdown(label="Family", multiselect=True, choices=[], elem_id="families")
            ui["weights"] = gr.Radio(list(OPENNESS), value="all", label="Weights", elem_id="weights")
            ui["regime"] = gr.Radio(list(REGIMES), value=WORKED, label="Regime", elem_id="regime")
            ui["problem_set"] = gr.Radio(list(PROBLEM_SETS), value=BASE, label="Problem set", elem_id="problem_set")
            ui["split"] = gr.Radio(list(SPLITS), value=TEST, label="Split", elem_id="split")
        with gr.Row():
            ui["modality"] = gr.Dropdown([ALL, *MODALITIES], value=ALL, label="Modality", elem_id="modality")
            ui["representation"] = gr.Dropdown([ALL, *REPRESENTATIONS], value=ALL, label="Representation",
                                               elem_id="representation")  # fmt: skip
            ui["min_params"] = gr.Textbox(label="Min. parameters (B)", elem_id="min_params")
            ui["max_params"] = gr.Textbox(label="Max. parameters (B)", elem_id="max_params")
        with gr.Row():
            ui["sort"] = gr.Dropdown([(LABELS[c], c) for c in SORTABLE], value="rank", label="Sort by",
                                     elem_id="sort")  # fmt: skip
            ui["descending"] = gr.Checkbox(label="Descending", value=False, elem_id="descending")
            ui["every"] = gr.Checkbox(label="Every submission", value=False, elem_id="every")
            ui["self_reported"] = gr.Checkbox(label="Include self-reported", value=False, elem_id="self_reported")
            ui["differing"] = gr.Checkbox(label="Include runs whose settings differ", value=False,
                                          elem_id="differing")  # fmt: skip
        with gr.Accordion("Columns", open=False):
            ui["columns"] = gr.CheckboxGroup([(LABELS[c], c) for c in CHOOSABLE_COLUMNS], value=DEFAULT_COLUMNS,
                                             show_label=False, elem_id="columns")  # fmt: skip
        gr.Markdown(TABLE_NOTE)
        ui["table"] = gr.Dataframe(value=pd.DataFrame(columns=["Model"]), interactive=False, elem_id="board")
        ui["table_why"] = gr.Markdown(visible=False, elem_id="table_why")
        ui["download"] = gr.DownloadButton("Download CSV", elem_id="download")


def _curve_tab(ui: dict[str, Any]) -> None:
    with gr.Tab("Accuracy vs C", id="curve") as ui["curve_tab"]:
        with gr.Row():
            ui["plot_modality"] = gr.Dropdown([ALL, *MODALITIES], value="text", label="Modality")
            ui["plot_representation"] = gr.Dropdown([ALL, *REPRESENTATIONS], value="numerals",
                                                    label="Representation")  # fmt: skip
            ui["plot_regime"] = gr.Radio(list(REGIMES), value=WORKED, label="Regime", elem_id="plot_regime")
            ui["plot_set"] = gr.Radio(list(PROBLEM_SETS), value=BASE, label="Problem set", elem_id="plot_set")
            ui["plot_split"] = gr.Radio(list(SPLITS), value=TEST, label="Split", elem_id="plot_split")
        ui["figure"] = gr.Plot(elem_id="curve")


def _analysis_tab(ui: dict[str, Any]) -> None:
    with gr.Tab("Model analysis", id="model") as ui["analysis_tab"]:
        with gr.Row():
            ui["chosen"] = gr.Dropdown(label="Model", choices=[], elem_id="chosen")
            ui["linked"] = gr.Textbox(visible=False, elem_id="linked")
            ui["chosen_config"] = gr.Dropdown([], label="Config for perception", elem_id="chosen_config")
            ui["other"] = gr.Dropdown(label="Compare with", choices=[], elem_id="other")
        gr.Markdown("Both regimes side by side, over every config the model ran in each (the figures and "
                    "tables below are those of the regime chosen on the Leaderboard tab):")  # fmt: skip
        _table(ui, "regimes")
        ui["across"] = gr.Plot(elem_id="across")
        gr.Markdown("Perception and computation: accuracy overall and given a correct or wrong reading "
                    "of both operands (from the `mmmult_perceive` tasks):")  # fmt: skip
        _table(ui, "perception")
        ui["decomposition"] = gr.Plot(elem_id="decomposition")
        gr.Markdown("Paired configs on the same problems: the gap with its paired 95% interval, McNemar's "
                    "test and Holm's adjustment over this model's pairs:")  # fmt: skip
        ui["gap_plot"] = gr.Plot(elem_id="gap_plot")
        _table(ui, "gaps")
        gr.Markdown("How well each load measure alone predicts correctness (logistic fits; AIC within 2 "
                    "of the best counts as a tie):")  # fmt: skip
        ui["predictor_plot"] = gr.Plot(elem_id="predictor_plot")
        _table(ui, "predictors")
        gr.Markdown(LPM_NOTE)
        _table(ui, "lpm")
        gr.Markdown(GEE_NOTE)
        _table(ui, "interactions")
        gr.Markdown("Against another model on the problems both answered (first minus second):")
        _table(ui, "comparison")
        gr.Markdown(FRESH_NOTE)
        _table(ui, "draws")
        gr.Markdown("How this run was made, as its lm-eval results file says (secrets removed): harness, model, "
                    "settings per task, and whether they are the ones the tasks declare:")  # fmt: skip
        _table(ui, "provenance")


def _table(ui: dict[str, Any], key: str) -> None:
    """A model page table and the line that replaces it when it is empty (Handlers.analyse fills both)."""
    ui[key] = gr.Dataframe(interactive=False, elem_id=key)
    ui[f"{key}_why"] = gr.Markdown(visible=False, elem_id=f"{key}_why")


def _procedures_tab(ui: dict[str, Any]) -> None:
    with gr.Tab("Procedures", id="procedures") as ui["procedures_tab"]:
        gr.Markdown(PROCEDURES_NOTE)
        ui["preferences"] = gr.Dataframe(interactive=False, elem_id="preferences")
        gr.Markdown(STEPS_NOTE)
        ui["step_gaps"] = gr.Dataframe(interactive=False, elem_id="step_gaps")
        gr.Markdown(TRACES_NOTE)
        ui["traces"] = gr.Dataframe(interactive=False, elem_id="traces")
        gr.Markdown(PAPER_NOTE)
        gr.Dataframe(value=PAPER_FIGURES, interactive=False, elem_id="paper_figures")


def _findings_tab(ui: dict[str, Any]) -> None:
    with gr.Tab("Findings", id="findings") as ui["findings_tab"]:
        gr.Markdown(FINDINGS_NOTE)
        ui["findings_regime"] = gr.Radio(list(REGIMES), value=WORKED, label="Regime", elem_id="findings_regime")
        ui["findings"] = gr.Dataframe(interactive=False, wrap=True, elem_id="findings")


def _requests_tab(ui: dict[str, Any]) -> None:
    with gr.Tab("Requests", id="requests") as ui["requests_tab"]:
        gr.Markdown(REQUESTS_NOTE)
        ui["requests"] = gr.Dataframe(interactive=False, elem_id="requests")


def _submit_tab(ui: dict[str, Any], oauth: bool, api_models: Mapping[str, ApiModel]) -> None:
    with gr.Tab("Submit", id="submit"):
        if oauth:
            gr.LoginButton()
            gr.Markdown(SIGN_IN)
        else:
            gr.Markdown(LOCAL_IDENTITY)
        ui["files"] = gr.File(label="results_*.json and samples_*.jsonl, or one .zip", file_count="multiple",
                              file_types=[".json", ".jsonl", ".zip"], elem_id="files")  # fmt: skip
        with gr.Row():
            ui["model"] = gr.Textbox(label="Model name", elem_id="model", info=NAME_RULE)
            ui["family"] = gr.Textbox(label="Model family (e.g. Qwen, Gemma, GPT, Llama)", elem_id="family")
            ui["params"] = gr.Textbox(label="Parameters (billions; empty if unknown)", elem_id="params")
        with gr.Row():
            ui["open_weights"] = gr.Checkbox(label="Open weights", value=True)
            ui["submitter"] = gr.Textbox(label="Submitter", elem_id="submitter", visible=not oauth)
            ui["link"] = gr.Textbox(label="Link (optional, http or https)", elem_id="link")
            ui["seed"] = gr.Textbox(label="Seed of a fresh draw (empty: the published problems)", elem_id="seed")
        ui["send"] = gr.Button("Submit", variant="primary", elem_id="send")
        ui["status"] = gr.Textbox(label="Status and validation log", interactive=False, lines=6, elem_id="status")
        with gr.Accordion("Or request an evaluation: the board's workers run the model", open=False):
            with gr.Row():
                ui["req_model"] = gr.Textbox(label="Model (Hub id USER/NAME)", elem_id="req_model")
                ui["req_revision"] = gr.Textbox(label="Revision", value="main", elem_id="req_revision")
                ui["req_type"] = gr.Dropdown([t for t in MODEL_TYPES if t not in API_MODEL_TYPES], value="hf",
                                             label="lm-eval model type", elem_id="req_type")  # fmt: skip
                ui["req_api"] = gr.Dropdown(["", *api_models], value="", label="Or an API model the board runs",
                                            visible=bool(api_models), elem_id="req_api")  # fmt: skip
            with gr.Row():
                ui["req_channels"] = gr.CheckboxGroup(list(CHANNEL_TASKS), value=["text"], label="Channels",
                                                      elem_id="req_channels")  # fmt: skip
                ui["req_regimes"] = gr.CheckboxGroup(list(REGIMES), value=[WORKED], label="Regimes",
                                                     elem_id="req_regimes")  # fmt: skip
                ui["req_precision"] = gr.Dropdown(list(PRECISIONS), value="auto", label="Precision")
                ui["req_family"] = gr.Textbox(label="Model family", elem_id="req_family")
                ui["req_params"] = gr.Textbox(label="Parameters (billions; empty if unknown)")
            ui["ask"] = gr.Button("Request", elem_id="ask")
            ui["asked"] = gr.Textbox(label="Request status", interactive=False, elem_id="asked")


def _wire(demo: gr.Blocks, ui: dict[str, Any], h: Handlers) -> None:
    """The page's events: what each control changes, and with which handler."""
    url_state = [ui[key] for key in URL_STATE]
    outputs = [ui["table"], ui["download"], ui["table_why"]]
    analysis_outputs = [ui[key] for key in ANALYSIS_OUTPUTS]
    for control in url_state[:-1]:
        control.change(h.refresh, url_state, outputs, js=URL_SYNC_JS)
    demo.load(h.on_load, None, [*url_state, *outputs, *analysis_outputs, ui["tabs"]])
    plot_inputs = [ui["plot_modality"], ui["plot_representation"], ui["every"], ui["self_reported"],
                   ui["plot_regime"], ui["plot_set"], ui["plot_split"]]  # fmt: skip
    for control in (ui["plot_modality"], ui["plot_representation"], ui["plot_regime"], ui["plot_set"],
                    ui["plot_split"]):  # fmt: skip
        control.input(h.curve, plot_inputs, ui["figure"])
    ui["curve_tab"].select(h.curve, plot_inputs, ui["figure"])  # plots are drawn when their tab opens
    choice = [ui["chosen"], ui["chosen_config"], ui["other"], ui["regime"], ui["split"]]
    ui["chosen"].input(h.analyse, choice, analysis_outputs).then(
        lambda name: name or "", ui["chosen"], ui["linked"]
    ).then(h.refresh, url_state, outputs, js=URL_SYNC_JS)
    for control in choice[1:3]:
        control.input(h.analyse, choice, analysis_outputs)
    ui["analysis_tab"].select(h.analyse, choice, analysis_outputs)
    ui["procedures_tab"].select(h.procedures, None, [ui["preferences"], ui["step_gaps"], ui["traces"]])
    ui["findings_tab"].select(h.findings, ui["findings_regime"], ui["findings"])
    ui["findings_regime"].input(h.findings, ui["findings_regime"], ui["findings"])
    ui["requests_tab"].select(h.requests, None, ui["requests"])
    request = ["req_model", "req_revision", "req_type", "req_api", "req_channels", "req_precision", "req_family",
               "req_params", "submitter", "req_regimes"]  # fmt: skip
    ui["ask"].click(h.on_request, [ui[key] for key in request], ui["asked"], api_name="request")
    submission = ["files", "model", "family", "params", "open_weights", "submitter", "link", "seed"]
    ui["send"].click(h.on_submit, [ui[key] for key in submission], ui["status"], api_name="submit").then(
        h.refresh, url_state, outputs
    ).then(h.family_choices, ui["families"], ui["families"])


def main() -> None:
    """The Space: the store and the benchmark's problems from the environment (space/README.md lists it)."""
    store_path = Path(setting(DB_ENV, DEFAULT_DB))
    restore_and_schedule(store_path)
    store = Store(store_path)
    reference = load_reference(setting(DATA_ENV, DEFAULT_DATA), setting(EXTENDED_DATA_ENV))
    for line in load_published(store, reference, Path(setting(RESULTS_ENV, DEFAULT_RESULTS))):
        print(f"published runs: {line}")
    serve_app(store, reference)


def serve_app(store: Store, reference: Benchmark, port: int | None = None, queue: str | None = None) -> None:
    """Serve the board; Gradio refuses uploads over the ingest limit before they reach us.

    Where it listens is Gradio's own choice unless `port` is given: GRADIO_SERVER_NAME (default
    127.0.0.1) and GRADIO_SERVER_PORT (default 7860).
    """
    board = build_app(store, reference, queue=open_queue(queue) if queue else None)
    board.launch(server_port=port, max_file_size=MAX_UPLOAD_BYTES)
