"""Scoring the heuristic probe's answers: the loss probe's preferences, contrastive first steps and the
procedure a worked answer follows (its trace class)."""
