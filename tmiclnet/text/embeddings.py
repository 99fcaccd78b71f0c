"""The frozen-token cache: a frozen encoder's states of a set of notes, computed once per content.

A frozen encoder gives the same states every time, so :func:`embed` computes them once and
caches them on disk under `<cache root>/text` (:func:`tmiclnet.config.cache_root`), keyed by the
model's files, the token budget and the notes themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from tmiclnet import keys
from tmiclnet.batch import rows_of
from tmiclnet.config import cache_root
from tmiclnet.provenance import atomic_torch_save
from tmiclnet.text.model import DEFAULT_MODEL, load, model_hash, resolve, tokenize


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the token states a note really has (padding excluded): (N, L, H) -> (N, H).

    Args:
        states: (N, L, H) token states.
        mask: (N, L) True (or 1) where a real token is.
    """
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
        """The rows of `ids`, in that order (a KeyError names the first missing id).

        Args:
            ids: the ids wanted, each one of `self.ids`.
        """
        rows = rows_of(self.ids, ids, "embedding")
        return TextEmbeddings(
            list(ids),
            self.tokens[rows],
            self.mask[rows],
            self.pooled[rows],
            self.model,
            self.max_tokens,
            self.key,
        )


def cache_key(model_sha: str, max_tokens: int, notes: dict[str, str]) -> str:
    """What the embeddings depend on: model files, token budget, each (id, note) in order, and the
    code that loads, tokenises and pools (`tmiclnet.keys.TEXT_CODE`).

    Args:
        model_sha: the model's identity (:func:`tmiclnet.text.model_hash`).
        max_tokens: the token budget per note.
        notes: id -> note, in the order the rows are stored.
    """
    payload = json.dumps(
        {
            "code": keys.code_hash(keys.TEXT_CODE),
            "model": model_sha,
            "max_tokens": int(max_tokens),
            "notes": [[str(k), v] for k, v in notes.items()],
        },
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def default_cache_dir() -> Path:
    """`<cache root>/text`: $TMICLNET_CACHE/text, else data/cache/text (never committed)."""
    return cache_root() / "text"


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
        notes: id -> note string; the rows of the result follow this order.
        model_name: an alias, a model folder or a cached hub name (see :func:`resolve`).
        max_tokens: the token budget per note (longer notes are truncated).
        cache_dir: where the states are cached; None = :func:`default_cache_dir`.
        batch_size: notes per forward pass of the encoder.
        use_cache: False computes afresh and writes nothing.
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
        atomic_torch_save(path, {"tokens": tokens, "mask": mask, "pooled": pooled})
    return TextEmbeddings(ids, tokens, mask, pooled, str(folder), int(max_tokens), key)
