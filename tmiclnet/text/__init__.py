"""Clinical text, in one place: load a language model offline, tokenise and embed notes once,
turn word pieces into line tokens, and assemble what a model reads of a cohort's notes.

Modules: :mod:`~tmiclnet.text.model` (find, load and identify a model),
:mod:`~tmiclnet.text.embeddings` (the frozen-token cache), :mod:`~tmiclnet.text.lines` (one token
per note line with its number), :mod:`~tmiclnet.text.inputs` (a cohort's text inputs under a
profile). The notes themselves are written by `tmiclnet.data.notes`, which stays in the data layer.
"""

from tmiclnet.text import lines
from tmiclnet.text.embeddings import (
    TextEmbeddings,
    cache_key,
    default_cache_dir,
    embed,
    mean_pool,
)
from tmiclnet.text.inputs import frozen_text_tokens, text_inputs
from tmiclnet.text.model import (
    ALIASES,
    DEFAULT_MODEL,
    TextModelNotFound,
    load,
    load_tokenizer,
    model_hash,
    resolve,
    token_counts,
    tokenize,
)

__all__ = [
    "ALIASES",
    "DEFAULT_MODEL",
    "TextEmbeddings",
    "TextModelNotFound",
    "cache_key",
    "default_cache_dir",
    "embed",
    "frozen_text_tokens",
    "lines",
    "load",
    "load_tokenizer",
    "mean_pool",
    "model_hash",
    "resolve",
    "text_inputs",
    "token_counts",
    "tokenize",
]
