"""The heuristic probe: which procedure a model follows. Cost models, the probe sets, prefix banks,
contrastive steps and trace classifiers."""
