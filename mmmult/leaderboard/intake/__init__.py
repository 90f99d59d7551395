"""Intake: an upload read safely (upload), checked (schema, names), and re-scored (rescore, probe) against the
benchmark it was run on (benchmark); leaderboard/submissions.py submits it."""
