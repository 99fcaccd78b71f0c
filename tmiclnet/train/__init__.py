"""Leak-free cross-validated training of the model catalogue, on CPU, GPU or several (DDP)."""
