"""Running models: `mmmult eval` (lm-eval with our tasks), the reference system, repaired lm-eval model classes."""

REFERENCE_MODEL = "mmmult-reference"
"""The name under which `mmmult eval` registers the reference system with lm-eval."""
