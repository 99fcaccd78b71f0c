"""tmiclnet: the small library behind the TMI-CLNet book.

The package reads as its pipeline, each layer importing only the layers below it (the contract in
pyproject.toml, checked by `make lint` and tests/test_architecture.py):

    cli          python -m tmiclnet <command>: the one way in
    bench, book  benchmarks; the runner, its keys, the execution report, page and link checks
    study        the fusion and leakage studies
    evaluate     metrics, references, reports, robustness, interpretation: reads, never trains
    train        the trainer, one fold, the schedules (train_folds), cross-validation, repeats
    results      the results store and its typed done record
    models       the catalogue, encoders, IMA, TCAF, TMFF, heads
    inputs       what a fold reads: splits, features, tensors, label permutations
    radiomics, text
    data         cohorts, schema, validation, rendering, notes
    config       the profiles (modes as enums, every setting a declared field)
    keys, batch, provenance, device, style, errors   the foundation

Notebooks import this package; nothing here imports a notebook.
"""

__version__ = "0.1.0"
