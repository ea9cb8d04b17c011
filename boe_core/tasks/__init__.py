"""Task definitions (puzzle generators, verifiers, token layouts, metrics) used by the shipped models."""
