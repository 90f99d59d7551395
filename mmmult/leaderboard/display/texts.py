"""Words shown in the Space: title, about, how to submit, citation; the rules they state are formatted from
the constants that enforce them."""

from dataset_builder.citation import citation_markdown
from mmmult.leaderboard.intake.upload import MAX_UPLOAD_BYTES
from mmmult.leaderboard.submissions import RATE_LIMIT
from mmmult.statistics.findings import (
    BOOTSTRAP_REPS,
    HIGH_LOAD,
    NEAR_PERFECT,
    NEAR_ZERO,
    NOT_ESTIMABLE,
    NOT_REPRODUCED,
    PAPER_HEURISTIC,
    R2_THRESHOLD,
    REPRODUCED,
)

TITLE = "mmmult leaderboard: exact multiplication across text, images and speech"

SIGN_IN = (
    f"Sign in with your Hugging Face account to submit: the account is the submitter, at most {RATE_LIMIT} "
    "accepted submissions an hour."
)
LOCAL_IDENTITY = (
    "This board runs without Hugging Face sign-in, so the *Submitter* name below is taken as given; "
    f"the hourly limit ({RATE_LIMIT} accepted submissions) counts per name. On the Hub the board asks you to sign in."
)

TABLE_NOTE = (
    "**Score**: accuracy over every config of the chosen modality and representation, with its 95% interval; "
    "a model is scored and ranked only where it ran every config (*Configs*). Ranks tie where intervals "
    "overlap. The table ranks one *Regime* at a time (worked: the steps may be written out; direct: the product "
    "alone), never both pooled; *Median response* shows whether a direct run worked anyway. It ranks one *Split* "
    "at a time too: test (every test problem) or mini (the full build's 150-problem mini split, where the published "
    "runs of real models on a CPU are), never pooled: the mini split weighs the C bands equally, test does not. "
    "Cells marked † are self-reported (no samples were uploaded). Every number is defined in this "
    "Space's README, *What the numbers mean*."
)
LPM_NOTE = (
    "The paper's linear probability models (OLS of correctness; robust standard errors, clustered by problem "
    "over all configs): R² on C alone, and the coefficients on total digits, total non-zero digits and C:"
)
GEE_NOTE = (
    "Does the gap between channels grow with load? A logistic GEE clustered by problem, correct ~ C x "
    "(modality + representation): each term is the change in a channel's log-odds per 100 of C against text "
    "numerals, with its 95% interval (negative: that channel falls faster):"
)

REQUESTS_NOTE = (
    "Evaluation requests (Submit, *Request an evaluation*) and what became of them: *pending* until a worker "
    "takes one, *running*, then *done* (ingested with the same checks as an upload, labelled *evaluated by the "
    "board*) or *failed* with the last lines of its log. A refused or failed request can be asked again."
)
PROCEDURES_NOTE = (
    "Which procedure does a model follow: columnar multiplication (OT), distributive decomposition (DD) or "
    "rounding and compensation (RC)? Runs of the `mmmult_probe` tasks on the heuristic-disagreement set: "
    "*prefers* is the share of items whose four prefixes of a heuristic have the lowest mean loss per byte; "
    "*detects* the share of items built for a heuristic that prefer it; *matches* agreement with the cost "
    "models' cheapest heuristic; *delta* a heuristic's loss minus the neutral prefix's (negative: likelier). "
    "Shares with Wilson 95% intervals, deltas with mean ± 1.96 SE; each model's latest re-scored run:"
)
STEPS_NOTE = (
    "First steps (`mmmult_steps`): how often each heuristic's correct first step is likelier than its wrong "
    "versions (same words, other numbers), and the mean loss gap (wrong minus correct):"
)
TRACES_NOTE = (
    "Worked answers (`mmmult_hds`, `mmmult_traps`): exact accuracy, the procedure the words follow (by cue "
    "words; *unknown* without any), and among wrong answers the share of each error shape:"
)
PAPER_NOTE = (
    "For reference, the loss probe as arXiv:2604.18203 reports it for two models (HDS test, 144 items). Its "
    "losses are per token and its text runs also scored the end-of-turn token, so its deltas are not on this "
    "board's per-byte scale; the shares compare:"
)

FINDINGS_NOTE = (
    "The paper's findings (arXiv:2604.18203), each set against every model's runs on this board, computed from the "
    "stored runs: this board's measure with its 95% interval, and a verdict reached only where the interval settles "
    f"it: *{REPRODUCED}*, *{NOT_REPRODUCED}*, or *{NOT_ESTIMABLE}*. The *why* column names the rule or the reason. "
    "The first three claims read the chosen regime's runs (a model's row on the Leaderboard), a row per split "
    "(test, mini) where a model has runs of both, never pooled.\n\n"
    f"- **Accuracy near zero past C {HIGH_LOAD}**: accuracy on the items with C > {HIGH_LOAD}, every config of the "
    "run pooled (Wilson's interval widened for clustering by problem). Reproduced when its upper bound is below "
    f"{NEAR_ZERO:.0%}, not reproduced when its lower bound is above {NEAR_ZERO:.0%}.\n"
    "- **C explains accuracy**: the paper's R² of the linear probability model of correctness on C over the same "
    f"items, with a percentile bootstrap interval over problems ({BOOTSTRAP_REPS:,} resamples, seeded). Reproduced "
    f"when its lower bound is above {R2_THRESHOLD}, not reproduced when its upper bound is below {R2_THRESHOLD}.\n"
    "- **Perception near perfect while computation fails**, per channel: the share of problems whose two operands the "
    "`mmmult_perceive` tasks read exactly, and the multiplication accuracy, over the channel's configs (clustered "
    f"Wilson). Reproduced when perception's lower bound is at least {NEAR_PERFECT:.0%} and multiplication's upper "
    f"bound is below perception's lower bound; not reproduced when perception's upper bound is below "
    f"{NEAR_PERFECT:.0%} or multiplication's lower bound reaches perception's.\n"
    f"- **The probe prefers decomposition ({PAPER_HEURISTIC})**, per channel and normalisation of the losses (per "
    "byte; per token where the run logged token counts): each heuristic's share of the items it has the lowest loss "
    f"on (Wilson). Reproduced when {PAPER_HEURISTIC}'s lower bound is above every other heuristic's upper bound, not "
    f"reproduced when another heuristic's lower bound is above {PAPER_HEURISTIC}'s upper bound.\n"
    "- **Heuristic adapters**: their weight cosines and their effect on accuracy come from `mmmult adapters compare`, "
    "which runs outside the board; the store holds no adapter run, and each model's row says so."
)

FRESH_NOTE = (
    "Fresh draws (a contamination check): the problems are generated from a seed, so a run on a fresh "
    "draw (`mmmult build --seed S`, then the seed in the submit form) answers new problems of the same "
    "design. Accuracy on the published problems minus accuracy on the fresh ones, per config, with "
    "Newcombe's interval for two independent samples; a gap well above zero hints at training on the "
    "published test set:"
)

INTRO = (
    "Each row is a model evaluated with lm-evaluation-harness on the mmmult tasks. Every submitted sample is "
    "re-scored here with the benchmark's own answer extraction (*re-scored from samples*); runs that uploaded "
    "results.json alone are *self-reported* and hidden unless you include them. C is the arithmetic load: "
    "(total digits) x (non-zero digits) of the two operands; C50 is the load at which fitted accuracy crosses 50%."
)

ABOUT = (
    """
## What mmmult measures

The same multiplication problem reaches the model as typed numerals, typed number words, a
rendered image (numerals or words) or speech (words, or digit by digit). Every problem carries its
arithmetic load **C = (digits of a + digits of b) x (non-zero digits of a + non-zero digits of b)**:
47 x 36 gives 4 x 4 = 16; 8004004 x 500 gives 10 x 4 = 40. Accuracy falls sharply as C grows, while
models read the numbers almost perfectly: the matched-perception tasks (`mmmult_perceive`) separate
reading from computing.

## What you see

- **Leaderboard**: one row per model (its latest submission re-scored from samples; tick *Every
  submission* for all, *Include self-reported* for results-only uploads). The score of a scope is
  the accuracy over all of its configs; rank ties follow overlapping intervals. Filter by name,
  family, parameter count, open or proprietary weights, modality and representation; sort; choose
  columns; download the view as CSV. The page URL carries the whole view, and `?model=NAME` opens
  that model's analysis.
- **Accuracy vs C**: every model of the board, binned accuracy at its items' mean C with 95%
  intervals (clustered by problem where configs are pooled) and its own logistic fit, drawn over
  the C range of its data.
- **Model analysis**: one model in every config; perception beside accuracy and P(correct | both
  operands read) against C; paired gaps between configs (with Holm's correction); the predictor
  comparison; the paper's linear probability models; whether channel gaps grow with load; and a
  paired comparison with any other model.
- **Findings**: the paper's claims (accuracy near zero past C 100, C explaining accuracy, perception
  intact while computation fails, the heuristic the probe prefers, the adapters), each with every
  model's measurement, its 95% interval and a verdict by a stated rule.

Every number is defined in this Space's README (*What the numbers mean*), and checked by
simulation with a known truth (`benchmarks/statistics.py` in the repository).

## How to run it

```bash
./run build                                   # the dataset, into ./mmmult-data
.venv/bin/mmmult eval --model hf --model_args pretrained=ORG/MODEL --tasks mmmult,mmmult_perceive \\
    --apply_chat_template --log_samples --output_path results
```

## How to submit

Upload the `results_*.json` and all `samples_*.jsonl` files of one run (or one .zip of the output
folder, at most """
    + f"{MAX_UPLOAD_BYTES // 2**20}"
    + """ MB), name the model and its family, and submit. The submission gets a status and
a validation log naming any problem by file, line and field. A run without `--limit`, on the
published dataset, with unmodified files, is *re-scored from samples*.

## Citation

"""
    + citation_markdown()
    + "\n"
)
