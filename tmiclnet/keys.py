"""What a saved result or cache entry is keyed by: its configuration and the code that shapes it.

Code is keyed by *what it does*: each listed module is parsed and unparsed with its docstrings
dropped (comments never reach the syntax tree), so a docstring, a comment or a reformatting
leaves every saved result valid, while a changed number, operation or name invalidates it. The
lists are explicit and hold only code that shapes numbers: display, reports, benchmarks, the
command line and the book never enter a key, so editing them retrains nothing.

- `RESULT_CODE`: a trained fold (`tmiclnet.train.fold.fold_key`, and evaluation's check that a
  saved fold was made by the current code, `tmiclnet.results.unusable`);
- `TEXT_CODE`: the frozen text-embedding cache (`tmiclnet.text.embeddings.cache_key`);
- `RADIOMICS_CODE`: the per-case radiomics cache (`tmiclnet.radiomics.cache.case_key`);
- `CT_CODE`: the cached CT volumes (`tmiclnet.inputs.features.ct_volumes`).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent

# Everything that shapes what a network learns or predicts: the models, the trainer (with the CT
# augmentation it applies) and how a fold's job is built and its CT tokens made, what a fold
# reads (splits, features, tensors, permutations), the text line tokens and their value channels
# (each field's statistics fitted per fold: text/values.py), the radiomics scaling,
# the batch contract, the device's seeding, the validation threshold, the results store that
# writes the predictions, and these keys. Not here: how jobs are scheduled (the same jobs and
# seeds either way, tests/train/test_schedule.py), repeats (their seeds come from
# inputs/folds.py), reports and history tables (train/curves.py), benchmarks, the command line,
# evaluation and the book.
RESULT_CODE = (
    "models/__init__.py", "models/baselines.py", "models/catalogue.py", "models/encoders.py",
    "models/cox.py", "models/heads.py", "models/ima.py", "models/losses.py", "models/tcaf.py",
    "models/tmiclnet.py",
    "train/checkpoint.py", "train/crossfit.py", "train/ct_tokens.py", "train/cv.py",
    "train/ddp.py", "train/fold.py", "train/jobs.py", "train/trainer.py", "data/augment.py",
    "inputs/features.py", "inputs/folds.py", "inputs/permute.py", "inputs/survival.py",
    "inputs/tensors.py",
    "text/inputs.py", "text/lines.py", "text/values.py",
    "radiomics/families.py", "radiomics/preprocess.py",
    "batch.py", "device.py", "results.py", "threshold.py", "keys.py",
)  # fmt: skip
# The frozen token states of a note: how the model is found and loaded, tokenised and pooled.
TEXT_CODE = ("text/embeddings.py", "text/model.py", "keys.py")
# One case's features: the worker that calls pyradiomics and the entry it writes.
RADIOMICS_CODE = ("radiomics/worker.py", "radiomics/cache.py", "keys.py")
# A CT volume as the networks read it: the transforms and the grid of mixed-spacing cohorts.
CT_CODE = ("data/dataset.py", "data/grid.py", "data/facts.py", "keys.py")


def config_hash(config: dict) -> str:
    """sha256 of the canonical JSON of everything that determines a fold's result."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """The tree with the docstring of the module, and of every class and function, removed."""
    for node in ast.walk(tree):
        scoped = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        body = getattr(node, "body", None)
        if isinstance(node, scoped) and body:
            first = body[0]
            doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if doc and isinstance(first.value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def source_form(text: str) -> str:
    """What a module does, in a canonical text: parsed, docstrings dropped, unparsed.

    Args:
        text: a Python module's source.
    """
    return ast.unparse(_without_docstrings(ast.parse(text)))


@functools.lru_cache(maxsize=32)
def code_hash(modules: tuple[str, ...] = RESULT_CODE, package: Path = PACKAGE_DIR) -> str:
    """sha256 of what the listed modules do (`source_form`), path by path.

    A saved result made by other code is retrained (and set apart by evaluation), since a
    checkpoint may no longer load into, or mean the same as, the current model.

    Args:
        modules: paths relative to the package, in a fixed order (`RESULT_CODE` by default).
        package: the package folder (a test passes an edited copy).
    """
    h = hashlib.sha256()
    for rel in modules:
        h.update(rel.encode())
        h.update(source_form((Path(package) / rel).read_text()).encode())
    return h.hexdigest()
