"""TMI-CLNet, its baselines and ablations: `catalogue()` lists them, `build(name, **config)` makes one.

`model_config(profile, **data)` turns a profile into build() arguments, so training code writes
`build(name, **model_config(run.profile, rad_features=F, rad_families=groups, use_ct_tokens=True))`.
"""

from __future__ import annotations

from tmiclnet.models.catalogue import CONFIG_KEYS, build, catalogue
from tmiclnet.models.tmiclnet import MODALITIES

__all__ = ["MODALITIES", "build", "catalogue", "model_config"]


def model_config(profile, **overrides) -> dict:
    """build() arguments taken from a Profile (sizes, text model, CT encoder), then `overrides`."""
    cfg = {
        "ct_depth": profile.ct_depth,
        "ct_widen": profile.ct_widen,
        "ct_conv1_stride": getattr(profile, "ct_conv1_stride", 2),
        "ct_channels_last": getattr(profile, "ct_channels_last", False),
        "rad_hidden": tuple(getattr(profile, "rad_hidden", (256, 128))),
        "head": getattr(profile, "released_head", "small"),
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
