"""The per-case job run in joblib workers: pyradiomics on one case, its log and warnings captured.

Kept free of tmiclnet.config, pandas and torch so a worker process starts in about a second.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator

import numpy as np


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(
            dict(
                source=record.name,
                level=record.levelname,
                template=str(record.msg),
                message=record.getMessage(),
            )
        )


@contextlib.contextmanager
def _quiet_radiomics() -> Iterator[list[dict]]:
    """Route pyradiomics' log records and Python warnings into a list; one ITK thread per case."""
    import SimpleITK as sitk

    logger = logging.getLogger("radiomics")
    saved = (
        logger.level,
        [(h, h.level) for h in logger.handlers],
        logger.propagate,
        sitk.ProcessObject.GetGlobalDefaultNumberOfThreads(),
    )
    collector = _Collector()
    for h, _ in saved[1]:
        h.setLevel(logging.CRITICAL + 1)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    logger.addHandler(collector)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield collector.records
        collector.records.extend(
            dict(
                source=w.category.__name__,
                level="WARNING",
                template=str(w.message),
                message=str(w.message),
            )
            for w in caught
        )
    finally:
        logger.removeHandler(collector)
        logger.setLevel(saved[0])
        for h, level in saved[1]:
            h.setLevel(level)
        logger.propagate = saved[2]
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(saved[3])


def extract_one(image: str, mask: str, params: str) -> dict:
    """Run pyradiomics on one case (in a worker); return its features or the reason it failed."""
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    start, cpu_start = time.perf_counter(), time.process_time()
    error, values, diagnostics = None, {}, {}
    with _quiet_radiomics() as records:
        try:
            result = RadiomicsFeatureExtractor(params).execute(image, mask)
        except Exception as exc:  # pyradiomics signals bad masks with ValueError/RuntimeError
            error = f"{type(exc).__name__}: {exc} ({_mask_voxels(mask)})"
        else:
            for name, value in result.items():
                if name.startswith("diagnostics_"):
                    diagnostics[name] = str(value)
                else:
                    values[name] = float(value)
    return dict(
        features=values,
        diagnostics=diagnostics,
        warnings=records,
        error=error,
        seconds=time.perf_counter() - start,
        cpu_seconds=time.process_time() - cpu_start,
    )


def _mask_voxels(mask: str) -> str:
    try:
        import SimpleITK as sitk

        # a copy, not GetArrayViewFromImage: a view of the temporary image would read freed
        # memory once the image is collected (it made this count flaky: "2 voxels" for empty)
        arr = sitk.GetArrayFromImage(sitk.ReadImage(mask))
        return f"mask has {int(np.count_nonzero(arr == 1))} voxel(s) labelled 1"
    except Exception as exc:  # the mask itself may be unreadable
        return f"mask unreadable: {exc}"
