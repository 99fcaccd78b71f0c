"""Clinical notes: one realistic registration note per patient, from the text fields only.

Values carry units and reference-range flags (H/L); a missing value is said in words. Stage,
hepatomegaly and ascites are the image's findings and are never written here (a test checks).
The wording varies a little between patients (seeded by id) so that a model cannot key on layout.

This writer stays in the data layer, apart from the text package (`tmiclnet.text`, which reads
notes): data must not import from the layers above it, and a cohort's notes are data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

# field -> (label, unit, low, high, decimals); None bounds mean "no limit on that side"
LABS: dict[str, tuple[str, str, float | None, float | None, int]] = {
    "bili": ("Total bilirubin", "mg/dL", 0.1, 1.2, 1),
    "albumin": ("Albumin", "g/dL", 3.5, 5.0, 2),
    "protime": ("Prothrombin time", "s", 10.0, 13.0, 1),
    "alk.phos": ("Alkaline phosphatase", "U/L", 44.0, 147.0, 0),
    "ast": ("AST (SGOT)", "U/mL", 10.0, 40.0, 1),
    "platelet": ("Platelets", "x10^3/uL", 150.0, 400.0, 0),
    "copper": ("Urine copper", "ug/day", 20.0, 50.0, 0),
    "chol": ("Serum cholesterol", "mg/dL", None, 200.0, 0),
    "trig": ("Triglycerides", "mg/dL", None, 150.0, 0),
}
MISSING_PHRASES = ("not measured", "not available", "not recorded", "result pending, not reported")
HEADERS = (
    "HEPATOLOGY CLINIC - REGISTRATION VISIT",
    "Hepatology outpatient note",
    "PBC clinic: initial assessment",
)
EDEMA = {
    0.0: "No peripheral oedema.",
    0.5: "Peripheral oedema, controlled with diuretics.",
    1.0: "Peripheral oedema despite diuretic therapy.",
}
ARM = {1.0: "enrolled in the trial, D-penicillamine arm", 2.0: "enrolled in the trial, placebo arm"}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def flag(value: float, low: float | None, high: float | None) -> str:
    """'H' above the reference range, 'L' below it, '' inside."""
    if high is not None and value > high:
        return "H"
    if low is not None and value < low:
        return "L"
    return ""


def _reference(low: float | None, high: float | None) -> str:
    if low is None:
        return f"<{high:g}"
    return f"{low:g}-{high:g}"


def lab_line(field: str, value, rng: np.random.Generator) -> str:
    """'Albumin 2.60 g/dL (ref 3.5-5) L', or the value's absence in words."""
    label, unit, low, high, decimals = LABS[field]
    if _missing(value):
        return f"- {label}: {MISSING_PHRASES[rng.integers(len(MISSING_PHRASES))]}."
    text = f"{float(value):.{decimals}f}"
    mark = flag(float(value), low, high)
    return f"- {label} {text} {unit} (ref {_reference(low, high)}){' ' + mark if mark else ''}"


def _history(row: Mapping, rng: np.random.Generator) -> list[str]:
    sex = {"f": "woman", "m": "man"}.get(str(row.get("sex")), "patient")
    age = "age not recorded" if _missing(row.get("age")) else f"{int(row['age'])}-year-old"
    arm = ARM.get(row.get("trt"), "not randomised (followed outside the trial)")
    lines = [f"{age} {sex} with primary biliary cholangitis; {arm}."]
    spiders = row.get("spiders")
    if _missing(spiders):
        lines.append("Skin: spider angiomata not assessed.")
    else:
        lines.append("Skin: spider angiomata present." if spiders else "Skin: no spider angiomata.")
    lines.append(EDEMA.get(row.get("edema"), "Oedema not assessed."))
    return lines


def write_note(row: Mapping, seed: int) -> str:
    """The note of one patient from a mapping of the text fields (PBC names and units)."""
    rng = np.random.default_rng(seed)
    order = list(LABS)
    if rng.random() < 0.5:  # some clinicians list the liver panel after the other tests
        order = order[3:] + order[:3]
    lines = [HEADERS[rng.integers(len(HEADERS))], *_history(row, rng), "Laboratory results:"]
    lines += [lab_line(f, row.get(f), rng) for f in order]
    return "\n".join(lines) + "\n"
