"""Media: the stimulus drawn (image), spoken (speech) and stored (codec), and read back (readers)."""
