"""Running models: `mmmult eval` (lm-eval with our tasks), the reference system, repaired lm-eval model classes."""

from ..errors import UserError
from ..eval_queue import REFERENCE_MODEL as REFERENCE_MODEL  # the name `mmmult eval` registers it under


class EvalSetupError(UserError):
    """lm-eval cannot start with what was asked; the message says what to do."""
