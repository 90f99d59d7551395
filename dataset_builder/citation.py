"""The paper the benchmark follows, as the dataset card, the Space's About page and the task README cite it."""

BIBTEX = """@misc{balter2026multiplication,
  title         = {Multiplication in Multimodal LLMs: Computation with Text, Image, and Audio Inputs},
  author        = {Balter, Samuel G. and Jerzak, Ethan and Jerzak, Connor T.},
  year          = {2026},
  eprint        = {2604.18203},
  archivePrefix = {arXiv},
  primaryClass  = {cs.CL}
}"""
CITATION_MARKER = "<!-- citation -->"
"""Where the dataset card's template takes the citation (dataset/card.py writes it there)."""


def citation_markdown() -> str:
    """The citation as a Markdown BibTeX block."""
    return f"```bibtex\n{BIBTEX}\n```"
