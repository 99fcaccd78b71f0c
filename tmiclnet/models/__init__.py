"""TMI-CLNet, its baselines and ablations: `catalogue()` lists them, `build(name, **config)` makes
one.

`model_config(profile, **data)` turns a profile into build() arguments, so training code writes
`build(name, **model_config(run.profile, rad_features=F, rad_families=groups, use_ct_tokens=True))`.
"""

from __future__ import annotations

from tmiclnet.batch import MODALITIES
from tmiclnet.config import Profile
from tmiclnet.models.catalogue import (
    CONFIG_KEYS,
    build,
    catalogue,
    catalogue_names,
    ct_only_name,
    modalities_of,
)

__all__ = [
    "MODALITIES",
    "build",
    "catalogue",
    "catalogue_names",
    "ct_only_name",
    "modalities_of",
    "model_config",
]


def model_config(profile: Profile, **overrides) -> dict:
    """build() arguments taken from a Profile (sizes, text model, CT encoder), then `overrides`.

    Args:
        profile: the profile whose model sizes, CT encoder and text encoder settings are used.
        **overrides: what the data decide (rad_features, rad_families, text_dim, use_ct_tokens,
            ct_token_dim) or any other key of `CONFIG_KEYS`.
    """
    cfg = {
        "ct_depth": profile.ct_depth,
        "ct_widen": profile.ct_widen,
        "ct_conv1_stride": profile.ct_conv1_stride,
        "ct_conv1_size": profile.ct_conv1_size,
        "dim": profile.fusion_dim,
        "ct_channels_last": profile.ct_channels_last,
        "ct_norm": str(profile.ct_norm),
        "rad_hidden": tuple(profile.rad_hidden),
        "head": profile.released_head,
        "text_model": profile.text_model,
        "text_finetune": profile.text_finetune,
        "use_text_tokens": not profile.text_finetune,
    }
    unknown = set(overrides) - CONFIG_KEYS
    if unknown:
        raise TypeError(
            f"model_config: unknown keys {sorted(unknown)}; valid: {sorted(CONFIG_KEYS)}"
        )
    return {**cfg, **overrides}
