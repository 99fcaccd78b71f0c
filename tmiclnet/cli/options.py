"""Command-line options checked before any work starts: empty or malformed values are refused.

Each parser returns the value the command needs or raises `UsageError` naming the option, so
`train --model ""` or `--folds abc` stops at once with one line instead of running (or crashing)
later.
"""

from __future__ import annotations

from tmiclnet.errors import UsageError


def profile_names() -> list[str]:
    """The profiles an option may name (for argparse `choices`)."""
    from tmiclnet.config import PROFILES

    return sorted(PROFILES)


def models(spec: str) -> list[str]:
    """`--model`: 'all' or comma-separated catalogue names, each one known.

    Args:
        spec: the option's value.
    """
    from tmiclnet.models import catalogue

    known = [str(n) for n in catalogue()["name"]]
    if spec.strip() == "all":
        return known
    names = [m.strip() for m in spec.split(",") if m.strip()]
    if not names:
        raise UsageError(f"--model {spec!r}: no model named; give catalogue names or 'all'")
    unknown = [m for m in names if m not in known]
    if unknown:
        raise UsageError(f"--model: unknown model(s) {unknown}; the catalogue has {known}")
    return names


def folds(spec: str, n_folds: int) -> list[int] | None:
    """`--folds`: comma-separated fold indices below the profile's fold count ('' = every fold).

    Args:
        spec: the option's value.
        n_folds: how many folds the profile has.
    """
    if not spec.strip():
        return None
    return indices("--folds", spec, n_folds, "fold", "fold indices such as 0,1")


def indices(option: str, spec: str, n: int, noun: str, expected: str) -> list[int]:
    """Comma-separated indices below `n`, sorted and unique; a UsageError naming the option.

    Args:
        option: the option's name, e.g. `--folds`.
        spec: its value (not empty).
        n: how many there are (indices 0 .. n - 1).
        noun: what one index names ("fold", "repeat").
        expected: what the option takes, for the message.
    """
    parts = [p.strip() for p in spec.split(",")]
    if not all(p.isdigit() for p in parts):
        raise UsageError(f"{option} {spec!r}: expected {expected}")
    out = sorted({int(p) for p in parts})
    if out[-1] >= n:
        raise UsageError(f"{option} {spec!r}: the profile has {noun}s 0..{n - 1}")
    return out


def device(name: str) -> str:
    """`--device`: a device torch knows and this machine has ('auto' picks one).

    Args:
        name: the option's value.
    """
    from tmiclnet.device import pick_device

    try:
        pick_device(name)
    except (RuntimeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"--device {name!r}: {reason}") from None
    return name


def positive(name: str, value: int) -> int:
    """A count option that must be at least 1."""
    if value < 1:
        raise UsageError(f"{name} {value}: must be at least 1")
    return value
