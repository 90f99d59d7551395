"""Running models: `mmmult eval` (lm-eval with our tasks), the reference system, repaired lm-eval model classes."""

from ..errors import UserError

REFERENCE_MODEL = "mmmult-reference"
"""The name under which `mmmult eval` registers the reference system with lm-eval."""


class EvalSetupError(UserError):
    """lm-eval cannot start with what was asked; the message says what to do."""
