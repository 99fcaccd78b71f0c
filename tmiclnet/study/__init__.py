"""Studies: the experiments the book's chapters run across many settings."""
