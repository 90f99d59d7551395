"""Storage: the SQLite store (store), its summaries per scope (summary), statuses (status), and its copy in
a Hub dataset repo (persistence)."""
