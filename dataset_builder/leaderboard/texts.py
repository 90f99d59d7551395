"""Words shown in the Space: title, about, how to submit, citation."""

TITLE = "mmmult leaderboard: exact multiplication across text, images and speech"

INTRO = (
    "Each row is a model evaluated with lm-evaluation-harness on the mmmult tasks. Every submitted "
    "sample is re-scored here with the benchmark's own answer extraction; rows marked *verified* come "
    "from re-scored samples, *self-reported* rows from results.json alone. C is the arithmetic load: "
    "(total digits) x (non-zero digits) of the two operands; C50 is the load at which the fitted "
    "accuracy crosses 50%."
)

ABOUT = """
## What mmmult measures

The same multiplication problem reaches the model as typed numerals, typed number words, a
rendered image (numerals or words) or speech (words, or digit by digit). Every problem carries its
arithmetic load **C = (digits of a + digits of b) x (non-zero digits of a + non-zero digits of b)**:
47 x 36 gives 4 x 4 = 16; 8004004 x 500 gives 10 x 4 = 40. Accuracy falls sharply as C grows, while
models read the numbers almost perfectly: the matched-perception tasks (`mmmult_perceive`) separate
reading from computing.

## What you see

- **Leaderboard**: one row per model (its latest verified submission; tick *Every submission* for
  all). Filter by name, family, parameter count, open or proprietary weights, modality and
  representation (the accuracy, perception and fit columns then cover those configs only), choose
  the columns, sort by any column, download the view as CSV. The page URL carries the filters, so a
  view can be shared by copying it.
- **Accuracy vs C**: per model family, binned accuracy with Wilson 95% intervals and the fitted
  logistic curve, for any modality and representation.
- **Model analysis**: one model in every config; its perception accuracy beside its accuracy, and
  the accuracy on problems it read correctly, P(correct product | both operands read), against C:
  where that stays high while accuracy falls, failure is computation, not perception. Then paired
  gaps between configs on the same problems (McNemar) and how well C, digit counts and step counts
  each predict correctness.

## How to run it

```bash
./run build                                   # the dataset, into ./mmmult-data
.venv/bin/mmmult eval --model hf --model_args pretrained=ORG/MODEL --tasks mmmult,mmmult_perceive \\
    --apply_chat_template --log_samples --output_path results
```

## How to submit

Upload the `results_*.json` and all `samples_*.jsonl` files of one run (or one .zip of the output
folder, at most 50 MB), name the model and its family, and submit. The submission gets a status and
a validation log: a run without `--limit`, on the published dataset, with unmodified files, is
*verified*.

## Citation

```bibtex
@misc{balter2026multiplication,
  title         = {Multiplication in Multimodal LLMs: Computation with Text, Image, and Audio Inputs},
  author        = {Balter, Samuel G. and Jerzak, Ethan and Jerzak, Connor T.},
  year          = {2026},
  eprint        = {2604.18203},
  archivePrefix = {arXiv},
  primaryClass  = {cs.CL}
}
```
"""
