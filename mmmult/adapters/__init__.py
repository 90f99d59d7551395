"""Heuristic LoRA adapters: one per heuristic, trained on the traces config, compared with the base model.

`mmmult adapters train` (train.py) and `mmmult adapters compare` (compare.py); base.py loads the base
model and the traces. Needs the adapters extra (PEFT, transformers, torch).
"""

from dataset_builder.errors import UserError


class AdapterError(UserError):
    """Adapters cannot be trained or compared with what was given; the message names it and what to do."""
