"""mmmult: running and ranking models on the dataset that dataset_builder makes.

The stages, each importing only those before it: the core and the dataset (dataset_builder), then `harness`
(`mmmult eval` and the models it runs), `probe_scoring`, `adapters`, then `queue` (evaluation requests), then
`leaderboard` (the Space), then `cli` (the `mmmult` command).
"""
