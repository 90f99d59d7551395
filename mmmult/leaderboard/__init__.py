"""The leaderboard the Space runs, by stage: intake (an upload checked and re-scored), storage (the store and
its summaries), statistics (fits and intervals), display (the table, views and the app)."""
