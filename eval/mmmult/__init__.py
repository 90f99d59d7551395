"""The mmmult lm-eval tasks (YAML + utils.py), installed as package data of mmmult.harness."""
