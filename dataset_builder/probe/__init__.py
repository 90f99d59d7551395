"""The heuristic probe's sets: which procedure a model follows is asked with these. Cost models, the probe sets
(HDS and traps), prefix banks, contrastive first steps, worked solutions and the traces config."""
