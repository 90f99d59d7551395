"""Statistics: fits, intervals and tests (analysis), the per-step error (step_error), the Procedures view's
numbers (procedures); every interval is checked by simulation."""
