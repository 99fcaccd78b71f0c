"""Benchmarks, one module each, reached through `python -m tmiclnet bench NAME`.

Speed targets live here, never in timed tests.
"""
