"""The evaluation queue: requests (request.py), kept in a folder (folder.py) or a Hub dataset repo (hub.py),
run by workers (worker.py) and shown on the board's Requests page (page.py)."""
