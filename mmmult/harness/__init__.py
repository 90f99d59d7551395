"""Running models: `mmmult eval` (lm-eval with our tasks), the reference system, repaired lm-eval model classes."""

from dataset_builder.errors import UserError


def repaired(alias: str) -> str:
    """The name a repaired lm-eval model class is registered under (lm-eval's registry keeps its own aliases
    for its own classes); `mmmult eval --model ALIAS` runs it."""
    return f"mmmult-{alias}"


class EvalSetupError(UserError):
    """lm-eval cannot start with what was asked; the message says what to do."""
