"""The papermill runner: execute the book's notebooks in order, then build the book.

`python -m tmiclnet book run --profile quick` executes every notebook in `_toc.yml` order into
`_build/executed/<profile>/`, skipping a notebook whose source, parameters and inputs are
unchanged since its last successful run. `... book build` then renders those executed copies with
Jupyter Book (`execute_notebooks: off`), so the book shows exactly what ran.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tmiclnet.book import calibrate as book_calibrate
from tmiclnet.book import clean as book_clean
from tmiclnet.book import findings
from tmiclnet.book import report as book_report
from tmiclnet.book.keys import data_fingerprint, package_fingerprint, run_key, source_fingerprint
from tmiclnet.config import cache_root, default_data_dir, get_profile, project_root

BOOK_FILES = ("_config.yml", "_toc.yml", "book")


class NotebookFailed(RuntimeError):
    """A notebook raised: the message names the notebook and the failing cell."""


def toc_notebooks(root: Path) -> list[Path]:
    """The notebooks listed in `_toc.yml`, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for key in ("root", "parts", "chapters", "sections"):
                value = node.get(key)
                if isinstance(value, str):
                    files.append(value)
                elif isinstance(value, list):
                    for child in value:
                        walk(child)

    walk(toc)
    paths = [root / (f if f.endswith(".ipynb") else f + ".ipynb") for f in files]
    return [p for p in paths if p.exists()]


def execute(nb_path: Path, out_path: Path, parameters: dict, cwd: Path) -> None:
    """Run one notebook with papermill; write the executed copy atomically."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.stem + ".partial.ipynb")
    try:
        pm.execute_notebook(
            str(nb_path),
            str(tmp),
            parameters=parameters,
            cwd=str(cwd),
            kernel_name="python3",
            progress_bar={"desc": nb_path.stem, "leave": False},
            report_mode=False,
        )
    except PapermillExecutionError as err:
        failed = out_path.with_name(out_path.stem + ".failed.ipynb")
        os.replace(tmp, failed)
        first_line = err.source.strip().splitlines()[0] if err.source.strip() else ""
        cell = _source_cell_number(nb_path, err.source)
        raise NotebookFailed(
            f"{nb_path} failed in cell {cell} ({first_line!r}): "
            f"{err.ename}: {err.evalue}\n"
            f"  the executed copy with the traceback is {failed}"
        ) from None
    _hide_injected_parameters(tmp)
    os.replace(tmp, out_path)


def _hide_injected_parameters(path: Path) -> None:
    """Papermill's injected cell is bookkeeping, not content: tag it so the book leaves it out."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def _source_cell_number(nb_path: Path, source: str) -> str:
    """The failing cell's position in the source notebook (1-based, as a reader counts them)."""
    cells = json.loads(nb_path.read_text())["cells"]
    for i, cell in enumerate(cells, start=1):
        if "".join(cell["source"]).strip() == source.strip():
            return str(i)
    return "?"


def kernel_environment() -> None:
    """Settings the notebooks' kernels inherit: offline hub, no progress bars on pages."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["TQDM_DISABLE"] = "1"
    os.environ.setdefault("PYTHONWARNINGS", "ignore")


def run(
    profile: str,
    only: list[str] | None = None,
    force: bool = False,
    root: Path | None = None,
    out_dir: Path | None = None,
    extra: dict | None = None,
) -> Path:
    """Execute the book's notebooks (or `only` those named) and return the executed folder."""
    root = root or project_root()
    get_profile(profile)  # fail early on a bad name
    out_dir = out_dir or root / "_build" / "executed" / profile
    parameters = {"profile": profile, **(extra or {})}
    notebooks = toc_notebooks(root)
    if only:
        wanted = {Path(n).stem for n in only}
        unknown = wanted - {p.stem for p in notebooks}
        if unknown:
            raise SystemExit(
                f"not in _toc.yml: {sorted(unknown)}; known: {[p.stem for p in notebooks]}"
            )
    kernel_environment()
    data = (
        default_data_dir(profile) if "data_dir" not in parameters else Path(parameters["data_dir"])
    )
    previous = run_key(package_fingerprint(), json.dumps(parameters, sort_keys=True).encode())
    host = book_report.machine(str(parameters.get("device", "auto")))
    speed = book_calibrate.calibrate()  # before the notebooks: the machine as they find it
    print(f"  calibration {book_calibrate.describe(speed)}")
    entries: list[dict] = []
    for nb_path in notebooks:
        key = run_key(previous.encode(), source_fingerprint(nb_path), data_fingerprint(data))
        previous = key
        out_path = out_dir / nb_path.name
        stamp = out_path.with_suffix(".key")
        if only and nb_path.stem not in wanted:
            continue
        if not force and out_path.exists() and stamp.exists() and stamp.read_text() == key:
            print(f"  unchanged  {nb_path.relative_to(root)}")
            rec = book_report.read_record(out_path, key)
            entries.append({"notebook": nb_path.stem, "cached": True, "record": rec})
            continue
        start = time.perf_counter()
        stamp.unlink(missing_ok=True)
        book_report.record_path(out_path).unlink(missing_ok=True)
        execute(nb_path, out_path, parameters, cwd=nb_path.parent)
        wall = time.perf_counter() - start
        rec = book_report.write_record(out_path, key, profile, wall, host, parameters)
        stamp.write_text(key)
        entries.append({"notebook": nb_path.stem, "cached": False, "record": rec})
        print(f"  executed   {nb_path.relative_to(root)} in {wall:.0f} s")
    book_report.write_runs(out_dir, profile, entries, calibration=speed)
    return out_dir


def stage(root: Path, executed: Path, stage_dir: Path, data_root: Path | None = None) -> Path:
    """A copy of the book's sources in which notebooks/ holds the executed copies, as pages show
    them: without test markers and machine paths (`tmiclnet.book.clean`); the executed copies
    themselves keep their markers for nbval. `data_root` is the folder of the profiles' data
    folders (default: `$TMICLNET_DATA` or data/generated)."""
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    stage_dir.mkdir(parents=True)
    for name in BOOK_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, stage_dir / name)
        elif src.exists():
            shutil.copy2(src, stage_dir / name)
    vendor_mathjax(stage_dir / "book" / "_static" / "mathjax")
    (stage_dir / "notebooks").mkdir()
    data_root = data_root or default_data_dir("quick").parent
    intro = stage_dir / "book" / "intro.md"  # its box of answers, from this profile's numbers
    if intro.exists():
        boxed = findings.box(data_root / executed.name, executed.name)
        intro.write_text(findings.insert(intro.read_text(), boxed))
    pairs = book_clean.machine_paths(root, data_root, cache_root())
    for nb_path in toc_notebooks(root):
        nb = json.loads((executed / nb_path.name).read_text())
        page = json.dumps(book_clean.clean_notebook(nb, pairs), indent=1, ensure_ascii=False)
        (stage_dir / "notebooks" / nb_path.name).write_text(page + "\n")
    if (root / book_report.REPORT_PAGE).exists():
        raise SystemExit(f"{root / book_report.REPORT_PAGE}: the build writes this page; remove it")
    book_report.write_report_page(stage_dir, executed)
    return stage_dir


MATHJAX_PARTS = ("tex-chtml.js", "output/chtml/fonts", "ui", "a11y", "input/tex/extensions")


def vendor_mathjax(dest: Path) -> None:
    """Serve MathJax from the book itself (the PyPI wheel django-static-mathjax ships MathJax 3),
    so formulas render for a reader with no internet; Sphinx would otherwise load it from a CDN."""
    from importlib.resources import files

    es5 = Path(str(files("mathjax"))) / "static" / "mathjax" / "es5"
    for part in MATHJAX_PARTS:
        src, out = es5 / part, dest / part
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out, dirs_exist_ok=True)
        else:
            shutil.copy2(src, out)


def build(
    profile: str, root: Path | None = None, output: Path | None = None, force: bool = False
) -> Path:
    """Execute (what changed), then render the book; return the path of index.html."""
    root = root or project_root()
    executed = run(profile, root=root, force=force)
    staged = stage(root, executed, root / "_build" / "stage" / profile)
    output = output or (root if profile == "cpu" else root / "_build" / profile)
    cmd = [
        "jupyter-book",
        "build",
        str(staged),
        "--path-output",
        str(output),
        "-W",
        "-n",
        "--keep-going",
    ]
    print("  " + " ".join(cmd))
    jb = Path(sys.executable).with_name("jupyter-book")
    # autodoc (book/api.md) imports the package: document the tree being built, not another copy
    path = [str(root), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    done = subprocess.run([str(jb) if jb.exists() else cmd[0], *cmd[1:]], cwd=root, env=env)
    if done.returncode != 0:
        raise SystemExit(f"jupyter-book build failed (exit {done.returncode}); see the log above")
    index = output / "_build" / "html" / "index.html"
    print(f"\nThe book is at {index}")
    return index
