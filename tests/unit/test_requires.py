"""setuptools' get_requires answer given without running setup.py, and setuptools asked for when absent
(manywheel.inner.requires). Each case runs in a fresh interpreter without site-packages (-S) whose
sys.path holds manywheel's source and a directory with the setuptools distribution record of the
version under test (or none), so the answer does not depend on what this machine has installed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from manywheel.inner.requires import SETUPTOOLS, lacks_setuptools, mentions_setup_requires

SRC = Path(__file__).resolve().parents[2] / "src"


def answer(tmp_path: Path, project: Path, setuptools: str | None, backend: str = "setuptools.build_meta",
           backend_path: tuple[str, ...] = ()) -> list[Any] | None:
    """known_requires' answer, [requires, why] or None, in that interpreter."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    if setuptools is not None:
        record = site / f"setuptools-{setuptools}.dist-info"
        record.mkdir()
        (record / "METADATA").write_text(f"Metadata-Version: 2.1\nName: setuptools\nVersion: {setuptools}\n")
    code = ("import json; from pathlib import Path; from manywheel.inner.requires import known_requires; "
            f"print(json.dumps(known_requires({backend!r}, {list(backend_path)!r}, Path({str(project)!r}))))")
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": f"{SRC}:{site}", "PATH": "/usr/bin:/bin"})
    result: list[Any] | None = json.loads(proc.stdout)
    return result


def project_with(tmp_path: Path, files: dict[str, str]) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[build-system]\nrequires = ["manywheel"]\n')
    for name, text in files.items():
        (project / name).write_text(text)
    return project


def test_no_setup_requires_anywhere_is_an_empty_answer(tmp_path: Path) -> None:
    project = project_with(tmp_path, {"setup.py": "from setuptools import setup\nsetup()\n"})
    assert answer(tmp_path, project, "84.2.1") == [
        [], "no setup_requires in setup.py, setup.cfg or the project's other top-level .py files"]


@pytest.mark.parametrize("name,text", [
    ("setup.py", 'from setuptools import setup\nsetup(setup_requires=["cffi"])\n'),
    ("setup.cfg", "[options]\nsetup_requires = cffi\n"),
    ("_build_args.py", 'ARGS = {"setup_requires": ["cffi"]}\n'),  # what setup.py may import its arguments from
])
def test_a_file_that_mentions_setup_requires_leaves_the_answer_to_setuptools(tmp_path: Path, name: str,
                                                                               text: str) -> None:
    project = project_with(tmp_path, {name: text})
    assert mentions_setup_requires(project) == project / name
    assert answer(tmp_path, project, "84.2.1") is None


def test_setuptools_before_70_1_answers_itself(tmp_path: Path) -> None:
    # It adds `wheel` to every get_requires_for_build_wheel answer.
    assert answer(tmp_path, project_with(tmp_path, {}), "70.0.0") is None


def test_setuptools_absent_is_asked_for(tmp_path: Path) -> None:
    shown = answer(tmp_path, project_with(tmp_path, {"setup.cfg": "[options]\nsetup_requires = cffi\n"}), None)
    assert shown is not None and shown[0] == [SETUPTOOLS]
    assert shown[1].startswith("the inner backend setuptools.build_meta needs setuptools, which this build environment lacks")


@pytest.mark.parametrize("backend,backend_path", [("mesonpy", ()), ("scikit_build_core.build", ()),
                                                  ("setuptools.build_meta", ("_backend",))])
def test_other_backends_are_always_asked(tmp_path: Path, backend: str, backend_path: tuple[str, ...]) -> None:
    assert answer(tmp_path, project_with(tmp_path, {}), "84.2.1", backend, backend_path) is None


def test_lacks_setuptools_tells_a_missing_setuptools_from_other_import_errors() -> None:
    assert lacks_setuptools(ModuleNotFoundError("No module named 'setuptools'", name="setuptools"))
    assert lacks_setuptools(ModuleNotFoundError("x", name="setuptools.command"))
    assert not lacks_setuptools(ModuleNotFoundError("x", name="setuptools_scm"))
    assert not lacks_setuptools(ImportError("cannot import name 'x'", name="setuptools"))
    assert not lacks_setuptools(None)
