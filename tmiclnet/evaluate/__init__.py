"""Evaluation from saved results: metrics, classical references, figures, robustness,
interpretation.

Everything here reads the files the trainer writes (`<data_dir>/results/<cohort>/<model>/fold<k>/`)
and never trains a network, so the evaluation pages run in seconds from saved results.
"""
