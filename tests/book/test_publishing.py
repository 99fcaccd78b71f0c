"""Publishing: the workflows, the repository and launch buttons, the notebooks' install cell.

The workflows cannot run here. Their structure is checked below; their full syntax is checked
against GitHub's schema with check-jsonschema (README, "Publishing"), which is not a pinned
dependency, so that check is not part of `make test`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
PAGES_ACTIONS = (
    "actions/checkout",
    "actions/configure-pages",
    "actions/upload-pages-artifact",
    "actions/deploy-pages",
)


def workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def steps(doc: dict) -> list[dict]:
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def actions(doc: dict) -> list[str]:
    return [s["uses"].split("@")[0] for s in steps(doc) if "uses" in s]


def readme_commands() -> set[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return {line.split("#")[0].strip() for block in blocks for line in block.splitlines()}


@pytest.mark.parametrize("name", ["book.yml", "test.yml"])
def test_workflow_has_the_keys_github_requires(name: str) -> None:
    doc = workflow(name)
    assert doc["on"] and doc["jobs"], name
    for job_name, job in doc["jobs"].items():
        assert "runs-on" in job and job.get("steps"), f"{name}: job {job_name}"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{name}: step {step}"
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


def test_book_workflow_builds_with_the_readme_command_and_deploys_to_pages() -> None:
    doc = workflow("book.yml")
    runs = [s["run"] for s in steps(doc) if "run" in s]
    assert runs == ["make book"] and "make book" in readme_commands()
    assert set(PAGES_ACTIONS) <= set(actions(doc))
    upload = next(s for s in steps(doc) if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "_build/html"  # where `make book` (cpu profile) puts it
    assert doc["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    deploy = doc["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"


def test_test_workflow_runs_the_readme_test_command_on_pull_requests() -> None:
    doc = workflow("test.yml")
    assert "pull_request" in doc["on"]
    assert [s["run"] for s in steps(doc) if "run" in s] == ["make test"]
    assert "make test" in readme_commands()


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def test_repository_and_launch_buttons_are_configured() -> None:
    cfg = config()
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", cfg["repository"]["url"])
    assert cfg["html"]["use_repository_button"] is True
    assert cfg["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert cfg["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


def test_readme_names_the_site_and_the_badges_of_this_repository() -> None:
    url = config()["repository"]["url"]
    owner, repo = url.rsplit("/", 2)[-2:]
    readme = (ROOT / "README.md").read_text()
    assert f"https://{owner}.github.io/{repo}/" in readme
    for badge in (f"{url}/actions/workflows/book.yml/badge.svg", "LICENSE", "CITATION.cff"):
        assert badge in readme, badge


def install_cells() -> dict[str, dict]:
    cells = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        cells[path.name] = code[0]
    return cells


def test_every_notebook_opens_with_the_same_hidden_install_cell() -> None:
    cells = install_cells()
    sources = {name: "".join(c["source"]) for name, c in cells.items()}
    assert len(set(sources.values())) == 1, "the install cells differ"
    source = next(iter(sources.values()))
    assert "import tmiclnet" in source and config()["repository"]["url"] in source
    for name, cell in cells.items():
        assert cell["metadata"].get("tags") == ["remove-input"], name


def run_install_cell(monkeypatch, tmp_path: Path, importable: bool) -> list[tuple]:
    """Execute the install cell as IPython would, recording the shell and magic calls it makes."""
    from IPython.core.inputtransformer2 import TransformerManager

    calls: list[tuple] = []

    class Shell:
        def system(self, cmd: str) -> None:
            calls.append(("system", cmd))

        def run_line_magic(self, name: str, line: str) -> None:
            calls.append((name, line))

    source = "".join(next(iter(install_cells().values()))["source"])
    code = TransformerManager().transform_cell(source)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "chdir", lambda path: calls.append(("chdir", path)))
    if not importable:
        monkeypatch.setitem(sys.modules, "tmiclnet", None)  # `import tmiclnet` raises ImportError
    exec(code, {"get_ipython": Shell})
    return calls


def test_install_cell_does_nothing_where_the_package_is_installed(monkeypatch, tmp_path) -> None:
    assert run_install_cell(monkeypatch, tmp_path, importable=True) == []


def test_install_cell_fetches_and_installs_where_it_is_missing(monkeypatch, tmp_path) -> None:
    url = config()["repository"]["url"]
    calls = run_install_cell(monkeypatch, tmp_path, importable=False)
    assert calls == [
        ("system", f"git clone --depth 1 {url}"),
        ("pip", "install --quiet ./tmiclnet-book"),
        ("chdir", "tmiclnet-book"),
    ]
