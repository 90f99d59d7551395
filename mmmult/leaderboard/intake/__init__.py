"""Intake: an upload read safely (upload), checked (schema, names), re-scored (ingest, probe) and submitted
(submission)."""
