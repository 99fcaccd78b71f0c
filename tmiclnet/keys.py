"""What a saved result is keyed by: the hash of its configuration and of the code that made it.

Training writes both into every fold's done.json (`tmiclnet.train.fold`); a fold is reused only
under the same config hash, and evaluation sets apart results made by other code
(`tmiclnet.results.unusable`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path


def config_hash(config: dict) -> str:
    """sha256 of the canonical JSON of everything that determines a fold's result."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


PACKAGE_DIR = Path(__file__).resolve().parent
# Everything in the package that shapes what a network learns or predicts: the models, training,
# the text inputs (line tokens), the radiomics scaling, the batch contract, the results store and
# these keys. The CT transforms and the radiomics extraction are covered by the inputs' content
# keys instead.
CODE_PATHS = ("models", "train", "text", "radiomics/preprocess.py", "radiomics/families.py",
              "batch.py", "results.py", "keys.py", "device.py")  # fmt: skip


@functools.lru_cache(maxsize=4)
def code_hash(package: Path = PACKAGE_DIR) -> str:
    """sha256 of the source that trains, feeds and defines the models (`CODE_PATHS`): a change
    there retrains, since a saved checkpoint may no longer load into (or mean the same as) the
    current model, and marks saved results as outdated for evaluation."""
    h = hashlib.sha256()
    for entry in CODE_PATHS:
        target = package / entry
        for path in sorted(target.rglob("*.py")) if target.is_dir() else [target]:
            h.update(path.relative_to(package).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()
