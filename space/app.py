"""The mmmult leaderboard Space: wiring only; the work lives in ingest, store, leaderboard, views."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import gradio as gr
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from ingest import load_reference  # noqa: E402
from leaderboard import COLUMNS, board, items  # noqa: E402
from store import Store  # noqa: E402
from submission import submit  # noqa: E402
from texts import ABOUT, INTRO, TITLE  # noqa: E402
from views import accuracy_vs_c, filter_table, paired_gaps, predictor_table  # noqa: E402

DB_ENV, DATA_ENV = "MMMULT_SPACE_DB", "MMMULT_DATA"


def paired_gaps_empty() -> pd.DataFrame:
    return paired_gaps(pd.DataFrame(columns=["submission_id", "kind", "problem_id", "config", "correct"]), -1)


def predictor_table_empty() -> pd.DataFrame:
    return predictor_table(pd.DataFrame(columns=["submission_id", "kind"]), -1)


def build_app(store: Store, reference: dict) -> gr.Blocks:
    def current(every: bool) -> pd.DataFrame:
        return board(store, reference, every_submission=every)

    def refresh(search: str, families: list[str], openness: str, every: bool):  # noqa: ANN202
        table = current(every)
        shown = filter_table(table, search, families, openness)
        csv = Path(tempfile.mkdtemp()) / "mmmult-leaderboard.csv"
        shown.to_csv(csv, index=False)
        choices = sorted(table["family"].dropna().unique())
        return shown, gr.update(choices=choices), str(csv)

    def plot(modality: str, representation: str, every: bool):  # noqa: ANN202
        table = current(every)
        detail = items(store, reference, [int(i) for i in table["submission_id"]])
        return accuracy_vs_c(detail, table, modality, representation)

    def analyse(model: str | None):  # noqa: ANN202
        table = current(False)
        choices = list(table["model"])
        row = table[table["model"] == model]
        if row.empty:
            return gr.update(choices=choices), paired_gaps_empty(), predictor_table_empty()
        sid = int(row["submission_id"].iloc[0])
        detail = items(store, reference, [sid])
        return gr.update(choices=choices), paired_gaps(detail, sid), predictor_table(detail, sid)

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\n\n{INTRO}")
        with gr.Tab("Leaderboard"):
            with gr.Row():
                search = gr.Textbox(label="Search models", elem_id="search")
                families = gr.Dropdown(label="Family", multiselect=True, choices=[], elem_id="families")
                openness = gr.Radio(["all", "open", "proprietary"], value="all", label="Weights")
                every = gr.Checkbox(label="Every submission", value=False)
            table = gr.Dataframe(value=pd.DataFrame(columns=COLUMNS), interactive=False, elem_id="board")
            download = gr.DownloadButton("Download CSV", elem_id="download")
        with gr.Tab("Accuracy vs C"):
            with gr.Row():
                modality = gr.Dropdown(["text", "image", "audio"], value="text", label="Modality")
                representation = gr.Dropdown(["numerals", "words", "digits"], value="numerals", label="Representation")
            figure = gr.Plot(elem_id="curve")
        with gr.Tab("Model analysis"):
            chosen = gr.Dropdown(label="Model", choices=[], elem_id="chosen")
            gr.Markdown("Paired configs on the same problems (McNemar's test on the discordant pairs):")
            gaps = gr.Dataframe(interactive=False, elem_id="gaps")
            gr.Markdown("How well each load measure alone predicts correctness (logistic fits; lower AIC is better):")
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

        filters = [search, families, openness, every]
        outputs = [table, families, download]
        for control in filters:
            control.change(refresh, filters, outputs)
        demo.load(refresh, filters, outputs)
        for control in (modality, representation, every):
            control.change(plot, [modality, representation, every], figure)
        demo.load(plot, [modality, representation, every], figure)
        chosen.change(analyse, chosen, [chosen, gaps, predictors])
        demo.load(analyse, chosen, [chosen, gaps, predictors])

        def on_submit(paths, model, family, params, open_weights, submitter, link, *current_filters):  # noqa: ANN001, ANN202
            message = submit(store, reference, [str(p) for p in paths or []], model, family, params, open_weights,
                             submitter, link)  # fmt: skip
            return (message, *refresh(*current_filters), plot("text", "numerals", current_filters[-1]))

        send.click(
            on_submit,
            [files, model, family, params, open_weights, submitter, link, *filters],
            [status, *outputs, figure],
            api_name="submit",
        )
    return demo


def main() -> None:
    store = Store(os.environ.get(DB_ENV, "space-data/board.sqlite"))
    reference = load_reference(os.environ.get(DATA_ENV, "mmmult-data"))
    build_app(store, reference).launch(server_name="127.0.0.1", server_port=7860, max_file_size="50mb")


if __name__ == "__main__":
    main()
