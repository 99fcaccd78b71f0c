"""Clinical text, in one place: load a language model offline, tokenise and embed notes once,
turn word pieces into line tokens, and assemble what a model reads of a cohort's notes.

Modules: :mod:`~tmiclnet.text.model` (find, load and identify a model),
:mod:`~tmiclnet.text.embeddings` (the frozen-token cache), :mod:`~tmiclnet.text.lines` (one token
per note line with its value and field), :mod:`~tmiclnet.text.values` (each field's value
standardised on a fold's training patients), :mod:`~tmiclnet.text.inputs` (a cohort's text inputs
under a profile). The notes themselves are written by `tmiclnet.data.notes`, which stays in the
data layer.
"""

from tmiclnet.text import lines, values
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
from tmiclnet.text.values import FieldScale, fold_text

__all__ = [
    "ALIASES",
    "DEFAULT_MODEL",
    "FieldScale",
    "TextEmbeddings",
    "TextModelNotFound",
    "cache_key",
    "default_cache_dir",
    "embed",
    "fold_text",
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
    "values",
]
