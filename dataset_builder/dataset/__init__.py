"""Building the dataset: the pipeline, the `datasets` builder, rows, features, card, versions, push, verify."""
