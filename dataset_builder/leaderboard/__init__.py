"""The leaderboard the Space runs: ingest, store, summaries, analysis, the board's table, views and the app."""
