"""Renderers: the stimulus sentence as text, as a PNG image, or as speech."""
