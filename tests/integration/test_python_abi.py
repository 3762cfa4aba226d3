"""The Python ABI tag, verified (issue #26): real abi3 builds, a wrong one refused, and
`manywheel check` against abi3audit on real PyPI wheels.

The real wheels (tests/data/abi3-wheels.json: names, versions, sha256) are downloaded from
PyPI once into the cache tests/integration/test_real_wheels.py uses ($MWTEST_REAL_WHEELS).
abi3audit (tests/requirements.txt) is the independent judge. Each tool's time is printed
(``-s`` shows it; an assertion message carries it too); nothing asserts a time.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.common import PROJECTS, REPO, copy_project, import_or_skip, run, skip_missing
from tests.integration.helpers import only_wheel, python_build
from tests.integration.test_real_wheels import _download

pytestmark = pytest.mark.slow
ABI3_WHEELS: list[dict[str, Any]] = json.loads((REPO / "tests" / "data" / "abi3-wheels.json").read_text())["wheels"]


def test_the_abi3_project_builds_as_cp39_abi3_and_its_module_imports(tmp_path: Path, build_env: dict[str, str]) -> None:
    out = tmp_path / "dist"
    proc = python_build(copy_project(PROJECTS / "abi3", tmp_path), out, build_env)
    wheel = only_wheel(out)
    assert "-cp39-abi3-" in wheel.name
    log = proc.stdout + proc.stderr
    assert "Python ABI (tag cp39-abi3; Stable ABI record of CPython 3.13.15):" in log
    assert "mw_abi3/_core.abi3.so (module, .abi3.so): meets cp3" in log
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    probe = run([sys.executable, "-c", "import mw_abi3; print(mw_abi3.dot([1, 2], [3, 4]))"], cwd=site)
    assert probe.stdout.strip() == "11.0"


def test_a_wrong_abi3_project_is_refused_naming_the_symbol_and_the_source(tmp_path: Path,
                                                                         build_env: dict[str, str]) -> None:
    out = tmp_path / "dist"
    proc = python_build(copy_project(PROJECTS / "abi3_wrong", tmp_path), out, build_env, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log
    assert "violation of the Python ABI tag cp39-abi3 in 1 file" in log
    assert "mw_abi3_wrong/_core.abi3.so:" in log
    assert "PyUnicode_AsUTF8: not in the Stable ABI (CPython 3.13.15's Stable ABI record)" in log
    assert "referenced from text.c (build/temp." in log and "/csrc/text.o)" in log
    assert "hint: define Py_LIMITED_API" in log
    assert "Traceback" not in log
    assert not out.exists() or not list(out.glob("*.whl"))


def _abi3audit(wheel: Path) -> tuple[dict[str, dict[str, Any]], float]:
    """abi3audit's per-module result (by file name) and its time."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "abi3audit", "--report", str(wheel)], capture_output=True,
                          text=True, timeout=600)
    elapsed = time.monotonic() - started
    text = proc.stdout
    report = json.loads(text[text.index("{"):text.rindex("}") + 1])
    results = {}
    for spec in report["specs"].values():
        for module in spec.get("wheel", []):
            results[module["name"]] = module["result"]
    return results, elapsed


def _manywheel(wheel: Path) -> tuple[dict[str, dict[str, Any]], float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "manywheel", "check", "--json", str(wheel)], capture_output=True,
                          text=True, timeout=600)
    elapsed = time.monotonic() - started
    assert proc.returncode in (0, 1), proc.stderr
    python_abi = json.loads(proc.stdout)[0]["python_abi"]
    return {m["file"].rsplit("/", 1)[-1]: m for m in python_abi["modules"] if m["module"]}, elapsed


def _agree(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """How the two verdicts on one module differ (empty: they agree).

    abi3audit's ``computed`` is the newer of the tag's version and what the imports need;
    its ``non_abi3_symbols`` and ``future_abi3_objects`` are what manywheel calls outside the
    Stable ABI and newer than the tag."""
    problems = []
    if sorted(ours["outside_stable_abi"]) != sorted(theirs["non_abi3_symbols"]):
        problems.append(f"outside: {ours['outside_stable_abi']} vs {theirs['non_abi3_symbols']}")
    if ours["stable_abi_tag"] is not None:
        needed = _version(ours["stable_abi_tag"])
        baseline, computed = _version(theirs["baseline"]), _version(theirs["computed"])
        if max(needed, baseline) != computed:
            problems.append(f"version: {ours['stable_abi_tag']} (tag {theirs['baseline']}) vs computed {theirs['computed']}")
    return problems


def _version(text: str) -> tuple[int, int]:
    """(3, 10) from "3.10" or "cp310-abi3"."""
    m = re.fullmatch(r"(?:cp(\d)(\d+)-abi3|(\d+)\.(\d+))", text)
    assert m, text
    return (int(m[1]), int(m[2])) if m[1] else (int(m[3]), int(m[4]))


def test_the_list_has_six_projects_and_two_architectures() -> None:
    assert len({w["project"] for w in ABI3_WHEELS}) >= 6
    assert {w["arch"] for w in ABI3_WHEELS} >= {"x86_64", "aarch64"}


@pytest.mark.parametrize("entry", ABI3_WHEELS, ids=[w["project"] + "-" + w["arch"] for w in ABI3_WHEELS])
def test_manywheel_check_agrees_with_abi3audit(entry: dict[str, Any]) -> None:
    import_or_skip("abi3audit", "abi3audit is not installed (pip install -r tests/requirements.txt)")
    wheel = _download(entry)
    theirs, their_time = _abi3audit(wheel)
    ours, our_time = _manywheel(wheel)
    note = (f"{entry['file']}: manywheel check {our_time:.2f} s, abi3audit {their_time:.2f} s; "
            f"manywheel {[(n, m['stable_abi_tag']) for n, m in ours.items()]}, "
            f"abi3audit {[(n, r['computed']) for n, r in theirs.items()]}")
    print(note)
    assert sorted(ours) == sorted(theirs), note
    for name, result in theirs.items():
        assert _agree(ours[name], result) == [], note
    assert {n: m["stable_abi_tag"] for n, m in ours.items()} == entry["modules"], note


def test_manywheel_check_agrees_with_abi3audit_on_wrong_modules(tmp_path: Path) -> None:
    """Real modules compiled with the real gcc that break a cp39-abi3 claim, in a wheel made here:
    both tools name the same symbols."""
    import_or_skip("abi3audit", "abi3audit is not installed (pip install -r tests/requirements.txt)")
    import sysconfig

    source = ("#include <Python.h>\n"
              "PyObject *f(PyObject *o) { Py_ssize_t n; const char *s = PyUnicode_AsUTF8AndSize(o, &n);\n"
              "  PyObject **d = _PyObject_GetDictPtr(o); (void)d; (void)s; return PyLong_FromSsize_t(n); }\n"
              "PyMODINIT_FUNC PyInit_bad(void) { return NULL; }\n")
    (tmp_path / "bad.c").write_text(source)
    so = tmp_path / "bad.abi3.so"
    try:
        run(["gcc", "-shared", "-fPIC", "-O1", f"-I{sysconfig.get_paths()['include']}", "-o", str(so),
             str(tmp_path / "bad.c")])
    except FileNotFoundError:
        skip_missing("gcc is not installed")
    wheel = tmp_path / "bad-1.0-cp39-abi3-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(so, "bad/bad.abi3.so")
        zf.writestr("bad-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: bad\nVersion: 1.0\n")
        zf.writestr("bad-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp39-abi3-manylinux_2_17_x86_64\n")
        zf.writestr("bad-1.0.dist-info/RECORD", "")
    theirs, their_time = _abi3audit(wheel)
    ours, our_time = _manywheel(wheel)
    note = f"{wheel.name}: manywheel check {our_time:.2f} s, abi3audit {their_time:.2f} s"
    print(note)
    assert ours["bad.abi3.so"]["outside_stable_abi"] == ["_PyObject_GetDictPtr"] == theirs["bad.abi3.so"]["non_abi3_symbols"], note
    future = theirs["bad.abi3.so"]["future_abi3_objects"]
    assert "PyUnicode_AsUTF8AndSize" in json.dumps(future), (note, future)
