"""The Python ABI verdict on real compiled modules: the Stable ABI record, abi3 imports and
versions, suffixes, free-threaded builds and the GIL declaration (check/pyabi.py)."""
from __future__ import annotations

import glob
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest

from manywheel.check.elf import ElfFacts, read_elf_file
from manywheel.check.pyabi import (FREE_THREADED_ONLY, PythonAbiVerdict, WheelAbiTag, judge_python_abi,
                                   render_abi_violations, render_python_abi)
from manywheel.check.stable_abi import PyVersion, StableAbiDataError, load_stable_abi, parse_stable_abi
from tests.common import REPO, skip_missing

ABI = load_stable_abi()
# One module source; the macros pick what it calls.
MODULE = r"""
#include <Python.h>
static PyObject *f(PyObject *self, PyObject *arg) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(arg, &n);   /* Stable ABI from 3.10 */
    if (!s) return NULL;
#ifdef DICTPTR
    PyObject **d = _PyObject_GetDictPtr(arg);           /* never in the Stable ABI */
    (void)d;
#endif
    Py_INCREF(arg);
    Py_DECREF(arg);
    return PyLong_FromSsize_t(n);
}
static PyMethodDef methods[] = {{"f", f, METH_O, NULL}, {NULL, NULL, 0, NULL}};
#ifdef MULTIPHASE
static PyModuleDef_Slot slots[] = {{Py_mod_gil, Py_MOD_GIL_NOT_USED}, {0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "m", NULL, 0, methods, slots};
PyMODINIT_FUNC PyInit_m(void) { return PyModuleDef_Init(&def); }
#else
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "m", NULL, -1, methods};
PyMODINIT_FUNC PyInit_m(void) {
    PyObject *m = PyModule_Create(&def);
#ifdef SETGIL
    if (m) PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
    return m;
}
#endif
"""


def _include(version: str) -> str | None:
    """The include directory of a host CPython ``version`` (pyenv's, or on PATH)."""
    if sysconfig.get_python_version() == version:
        return sysconfig.get_paths()["include"]
    candidates = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/include/python{version}")))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="module")
def module_so(compile_so: Callable[..., Path]) -> Callable[..., Path]:
    """A real extension module, compiled with the real gcc against real CPython headers."""
    def make(name: str, *macros: str, version: str | None = None) -> Path:
        include = _include(version or sysconfig.get_python_version())
        if include is None or not Path(include, "Python.h").is_file():
            skip_missing(f"the headers of CPython {version} (Python.h) are not installed",
                         "pyenv install the version")
        return compile_so(MODULE, f"-I{include}", *(f"-D{m}" for m in macros), name=name)
    return make


@pytest.fixture(scope="module")
def module(module_so: Callable[..., Path]) -> Callable[..., ElfFacts]:
    """The facts of such a module, as if it were pkg/<name> in a wheel."""
    def make(name: str, *macros: str, version: str | None = None) -> ElfFacts:
        return read_elf_file(module_so(name, *macros, version=version), f"pkg/{name}")
    return make


def judge(facts: ElfFacts, wheel: str | None) -> PythonAbiVerdict:
    return judge_python_abi([facts], wheel, ABI)


# --- the record


def test_the_record_names_its_source_and_holds_the_stable_abi() -> None:
    assert ABI.source.startswith("CPython 3.13.15 Misc/stable_abi.toml, from Debian sid's python3.13")
    assert ABI.cpython == "3.13.15"
    by_name = ABI.symbols
    assert by_name["PyUnicode_AsUTF8AndSize"].added == PyVersion(3, 10)
    assert by_name["PyArg_ParseTuple"].added == PyVersion(3, 2)
    assert by_name["_Py_IncRef"].abi_only and by_name["_Py_IncRef"].added == PyVersion(3, 10)
    assert by_name["PyExc_TypeError"].kind == "data"
    assert "_PyObject_GetDictPtr" not in by_name
    assert "PyUnicode_AsUTF8" not in by_name  # added to the Limited API in a 3.13 alpha, then reverted
    windows = [i for i in by_name.values() if i.ifdef == "MS_WINDOWS"]
    assert windows and not any(i.on_linux for i in windows)
    assert ABI.abi3t is None
    assert not FREE_THREADED_ONLY & set(by_name)
    names = [(i.name, i.kind) for i in ABI.items]
    assert names == sorted(names)


@pytest.mark.parametrize(("raw", "problem"), [
    (b"{", "not JSON"),
    (b'{"format": "other"}', "format is 'other'"),
    (b'{"format": "manywheel-stable-abi/1", "source": "x"}', "'items' (a list) is missing"),
    (b'{"format": "manywheel-stable-abi/1", "source": "x", "items": [["f", "function", "3.x", false, null]]}',
     "not a CPython version: '3.x'"),
    (b'{"format": "manywheel-stable-abi/1", "source": "x", "items": [["f", "function", null, false, null]]}',
     "has no 'added' version"),
    (b'{"format": "manywheel-stable-abi/1", "source": "x", "items": [["f", "gadget", "3.2", false, null]]}',
     "is not [name, kind, added, abi_only, ifdef]"),
])
def test_a_damaged_record_is_named_with_its_problem(raw: bytes, problem: str) -> None:
    with pytest.raises(StableAbiDataError) as e:
        parse_stable_abi(raw, "stable_abi.json")
    assert problem in e.value.message
    assert "tools/stable-abi.py" in (e.value.hint or "")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stable_abi_tool", REPO / "tools" / "stable-abi.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_the_generator_is_deterministic_and_stops_on_keys_it_does_not_know(tmp_path: Path) -> None:
    tool = _generator()
    toml = (b"[function.PyB]\n    added = '3.10'\n[data.PyA_Type]\n    added = '3.2'\n    abi_only = true\n"
            b"[function.PyW]\n    added = '3.7'\n    ifdef = 'MS_WINDOWS'\n[feature_macro.MS_WINDOWS]\n    doc = 'x'\n")
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    tool.write_record(tool.make_record(toml, "CPython 9.9.9 test"), out1)
    tool.write_record(tool.make_record(toml, "CPython 9.9.9 test"), out2)
    assert out1.read_bytes() == out2.read_bytes()
    record = parse_stable_abi(out1.read_bytes(), str(out1))
    assert [(i.name, str(i.added), i.abi_only, i.ifdef) for i in record.items] == [
        ("MS_WINDOWS", "None", False, None), ("PyA_Type", "3.2", True, None), ("PyB", "3.10", False, None),
        ("PyW", "3.7", False, "MS_WINDOWS")]
    with pytest.raises(tool.GenerateError, match="abi3t"):
        tool.make_record(b"[function.PyC]\n    added = '3.15'\n    abi3t = false\n", "x")


def test_the_packaged_record_is_what_the_generator_writes(tmp_path: Path) -> None:
    """Rewriting the packaged record from its own items gives the same bytes: it was written by the tool."""
    tool = _generator()
    doc = json.loads((REPO / "src" / "manywheel" / "check" / "stable_abi.json").read_text())
    tool.write_record(doc, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == (REPO / "src" / "manywheel" / "check" / "stable_abi.json").read_bytes()


# --- abi3


def test_an_abi3_module_meets_the_newest_version_of_its_imports(module: Callable[..., ElfFacts]) -> None:
    facts = module("good.abi3.so", "Py_LIMITED_API=0x030a0000")
    v = judge(facts, "x-1.0-cp310-abi3-manylinux_2_17_x86_64.whl")
    assert v.ok, render_abi_violations(v)
    (m,) = v.modules
    assert m.is_module and m.suffix == "abi3" and m.outside == ()
    assert m.stable_tag == "cp310-abi3"
    assert m.newest == ("PyUnicode_AsUTF8AndSize", PyVersion(3, 10))
    assert "meets cp310-abi3" in render_python_abi(v)


def test_an_import_newer_than_the_tag_is_refused(module: Callable[..., ElfFacts]) -> None:
    facts = module("new.abi3.so", "Py_LIMITED_API=0x030a0000")
    v = judge(facts, "x-1.0-cp39-abi3-manylinux_2_17_x86_64.whl")
    assert [(x.kind, x.subject) for x in v.violations] == [("abi3-version", "PyUnicode_AsUTF8AndSize")]
    report = render_abi_violations(v)
    assert "in the Stable ABI from CPython 3.10, newer than the cp39-abi3 the tag claims" in report
    assert "pkg/new.abi3.so" in report


def test_an_import_outside_the_stable_abi_is_refused(module: Callable[..., ElfFacts]) -> None:
    facts = module("dict.abi3.so", "DICTPTR")
    v = judge(facts, "x-1.0-cp312-abi3-manylinux_2_17_x86_64.whl")
    assert ("stable-abi", "_PyObject_GetDictPtr") in {(x.kind, x.subject) for x in v.violations}
    assert v.modules[0].stable_tag is None
    assert "no abi3 tag" in render_python_abi(v)
    # Judged without a wheel, by its suffix alone, it is refused all the same.
    assert not judge(facts, None).ok


def test_a_version_specific_module_in_an_abi3_wheel_is_refused(module: Callable[..., ElfFacts]) -> None:
    facts = module("m.cpython-311-x86_64-linux-gnu.so", "Py_LIMITED_API=0x030a0000")
    v = judge(facts, "x-1.0-cp310-abi3-manylinux_2_17_x86_64.whl")
    assert [x.kind for x in v.violations] == ["suffix"]
    assert "an abi3 module is named <name>.abi3.so" in v.violations[0].reason


def test_an_abi3_claim_below_3_2_is_refused(module: Callable[..., ElfFacts]) -> None:
    v = judge(module("old.abi3.so", "Py_LIMITED_API=0x030a0000"), "x-1.0-cp31-abi3-manylinux_2_17_x86_64.whl")
    assert "the Stable ABI begins with CPython 3.2" in render_abi_violations(v)


def test_a_bare_so_is_accepted_in_an_abi3_wheel(module: Callable[..., ElfFacts]) -> None:
    v = judge(module("bare.so", "Py_LIMITED_API=0x030a0000"), "x-1.0-cp310-abi3-manylinux_2_17_x86_64.whl")
    assert v.ok and v.modules[0].suffix == "so"


# --- free-threaded builds


def test_a_free_threaded_module_imports_what_only_a_free_threaded_cpython_exports(
        module: Callable[..., ElfFacts]) -> None:
    facts = module("m.cpython-313t-x86_64-linux-gnu.so", "Py_GIL_DISABLED=1", version="3.13")
    v = judge(facts, "x-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl")
    assert v.ok, render_abi_violations(v)
    (m,) = v.modules
    assert set(m.free_threaded) == {"_Py_DecRefShared", "_Py_MergeZeroLocalRefcount"}
    assert m.gil is not None and m.gil.startswith("not declared")  # single-phase, no PyUnstable_Module_SetGIL
    assert "importing it re-enables the GIL" in render_python_abi(v)


def test_a_free_threaded_module_in_a_gil_enabled_wheel_is_refused(module: Callable[..., ElfFacts]) -> None:
    named_right = module("a.cpython-313t-x86_64-linux-gnu.so", "Py_GIL_DISABLED=1", version="3.13")
    v = judge(named_right, "x-1.0-cp313-cp313-manylinux_2_17_x86_64.whl")
    assert [x.kind for x in v.violations] == ["suffix", "free-threaded"]
    assert "a free-threaded module in a GIL-enabled wheel" in v.violations[0].reason
    # Named for the GIL-enabled build, its symbols still say what it is.
    named_wrong = module("b.cpython-313-x86_64-linux-gnu.so", "Py_GIL_DISABLED=1", version="3.13")
    for wheel in ("x-1.0-cp313-cp313-manylinux_2_17_x86_64.whl", None):
        v = judge(named_wrong, wheel)
        assert [x.kind for x in v.violations] == ["free-threaded"]
        assert "_Py_DecRefShared" in v.violations[0].subject


def test_a_gil_enabled_module_in_a_free_threaded_wheel_is_refused(module: Callable[..., ElfFacts]) -> None:
    facts = module("c.cpython-313-x86_64-linux-gnu.so", version="3.13")
    v = judge(facts, "x-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl")
    assert [x.kind for x in v.violations] == ["suffix"]
    assert "a GIL-enabled module in a free-threaded wheel" in v.violations[0].reason
    assert not v.modules[0].free_threaded
    abi3 = module("d.abi3.so", "Py_LIMITED_API=0x030a0000")
    v = judge(abi3, "x-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl")
    assert "free-threaded CPython has no Stable ABI before abi3t" in render_abi_violations(v)


def test_the_gil_declaration_as_far_as_the_file_shows_it(module: Callable[..., ElfFacts]) -> None:
    wheel = "x-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl"
    setgil = judge(module("e.cpython-313t-x86_64-linux-gnu.so", "Py_GIL_DISABLED=1", "SETGIL", version="3.13"), wheel)
    assert setgil.modules[0].gil is not None and setgil.modules[0].gil.startswith("declared at import")
    multi = judge(module("f.cpython-313t-x86_64-linux-gnu.so", "Py_GIL_DISABLED=1", "MULTIPHASE", version="3.13"),
                  wheel)
    assert multi.modules[0].gil is not None and multi.modules[0].gil.startswith("cannot be proven")
    # A GIL-enabled wheel says nothing of the GIL.
    assert judge(module("g.cpython-313-x86_64-linux-gnu.so", version="3.13"),
                 "x-1.0-cp313-cp313-manylinux_2_17_x86_64.whl").modules[0].gil is None


def test_tags_are_read_from_the_wheel_name() -> None:
    tag = WheelAbiTag.from_wheel_name("x-1.0-1-cp39.cp310-abi3-manylinux_2_17_x86_64.whl")
    assert tag is not None and tag.floor == PyVersion(3, 9) and tag.stable
    ft = WheelAbiTag.from_wheel_name("x-1.0-cp314-cp314t-manylinux_2_17_aarch64.whl")
    assert ft is not None and ft.builds == ((PyVersion(3, 14), True),) and not ft.stable
    both = WheelAbiTag.from_wheel_name("x-1.0-cp315-abi3.abi3t-manylinux_2_17_x86_64.whl")
    assert both is not None and both.abis == ("abi3", "abi3t")
    assert WheelAbiTag.from_wheel_name("not-a-wheel.tar.gz") is None


def test_manywheel_check_shows_and_refuses(module_so: Callable[..., Path]) -> None:
    """The verdict in `manywheel check`'s output and exit status, on a file judged by its suffix."""
    so = module_so("h.abi3.so", "DICTPTR")
    proc = subprocess.run([sys.executable, "-m", "manywheel", "check", str(so)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "h.abi3.so (module, .abi3.so): no abi3 tag" in proc.stdout
    assert "_PyObject_GetDictPtr: not in the Stable ABI" in proc.stdout
    good = module_so("i.abi3.so", "Py_LIMITED_API=0x030a0000")
    proc = subprocess.run([sys.executable, "-m", "manywheel", "check", "--json", str(good)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (result,) = json.loads(proc.stdout)
    assert result["python_abi"]["modules"][0]["stable_abi_tag"] == "cp310-abi3"
