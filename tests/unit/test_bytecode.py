"""The build environment's bytecode cache (manywheel.inner.bytecode): a distribution installed
without bytecode, as a frontend's isolated environment installs them, gets checked-hash .pyc files
compiled once and reused by the next environment; Python itself judges them: each case imports
the module in a fresh interpreter (``-v`` says where its code object came from)."""
from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

from manywheel.inner.bytecode import BytecodeCache, fill, prime

ROOTS = ["demo-pkg"]
MODULES = {
    "demo_pkg/__init__.py": "from .mod import VALUE, where\n",
    "demo_pkg/mod.py": "VALUE = 1\n\n\ndef where():\n    return where.__code__.co_filename\n",
    "demo_pkg/broken.py": "def f(:\n",  # does not compile: left to Python, which never imports it here
}


def install(site: Path, *, with_bytecode: bool = False, modules: dict[str, str] = MODULES, name: str = "demo_pkg",
            requires: tuple[str, ...] = ()) -> Path:
    """``name`` 1.0 as an installer writes it: the files, METADATA and a RECORD with their sha256."""
    lines = []
    for rel, text in modules.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        lines.append(f"{rel},sha256={digest},{len(text)}")
        if with_bytecode:
            lines.append(f"{Path(importlib.util.cache_from_source(rel)).as_posix()},,")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
                                   + "".join(f"Requires-Dist: {r}\n" for r in requires) + "\nRequires-Dist: body\n")
    lines.append(f"{name}-1.0.dist-info/RECORD,,")
    (info / "RECORD").write_text("\n".join(lines) + "\n")
    return site


def import_value(site: Path) -> tuple[str, str]:
    """demo_pkg.VALUE and the file its code says it came from, as a fresh interpreter imports it
    from ``site``, and its -v trace."""
    env = dict(os.environ, PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-v", "-c", "import demo_pkg; print(demo_pkg.VALUE, demo_pkg.where())"],
                          env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip(), proc.stderr


def pyc(site: Path, rel: str) -> Path:
    return Path(importlib.util.cache_from_source(str(site / rel)))


def cached_once(tmp_path: Path) -> Path:
    """A cache holding demo_pkg's bytecode, compiled for a first environment; returns the cache."""
    cache = tmp_path / "cache"
    primed = prime([install(tmp_path / "one")], cache, ROOTS)
    assert primed.cache is not None
    fill(primed.missing, primed.cache)
    return cache


def test_compiled_once_then_the_next_environment_imports_the_cached_bytecode(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = install(tmp_path / "one")
    primed = prime([first], cache, ROOTS)
    assert (primed.written, len(primed.missing), primed.distributions) == (0, 3, ["demo_pkg-1.0"])
    assert primed.cache is not None
    assert fill(primed.missing, primed.cache)[0] == 2  # broken.py does not compile
    assert pyc(first, "demo_pkg/mod.py").is_file() and not pyc(first, "demo_pkg/broken.py").exists()

    second = install(tmp_path / "two")
    primed = prime([second], cache, ROOTS)
    assert (primed.written, [m.source.name for m in primed.missing]) == (2, ["broken.py"])
    data = pyc(second, "demo_pkg/mod.py").read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b11  # PEP 552: hash-based, checked against the source
    value, trace = import_value(second)
    assert value == f"1 {second / 'demo_pkg' / 'mod.py'}"  # tracebacks name this environment's file
    assert f"code object from '{pyc(second, 'demo_pkg/mod.py')}'" in trace
    assert prime([second], cache, ROOTS).written == 0  # it has bytecode now: left alone


def test_a_source_changed_after_the_bytecode_was_written_is_compiled_anew(tmp_path: Path) -> None:
    cache = cached_once(tmp_path)
    site = install(tmp_path / "two")
    assert prime([site], cache, ROOTS).written == 2
    (site / "demo_pkg/mod.py").write_text(MODULES["demo_pkg/mod.py"].replace("1", "2"))  # same size
    value, trace = import_value(site)
    assert value.split()[0] == "2"
    assert f"code object from '{pyc(site, 'demo_pkg/mod.py')}'" not in trace


def test_a_file_that_no_longer_matches_its_record_is_not_cached(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    site = install(tmp_path / "one")
    primed = prime([site], cache, ROOTS)
    (site / "demo_pkg/mod.py").write_text(MODULES["demo_pkg/mod.py"].replace("1", "3"))
    assert primed.cache is not None
    assert fill(primed.missing, primed.cache)[0] == 1  # __init__.py only
    assert not pyc(site, "demo_pkg/mod.py").exists()
    assert prime([install(tmp_path / "two")], cache, ROOTS).written == 1


def test_distributions_installed_with_bytecode_are_left_as_they_are(tmp_path: Path) -> None:
    site = install(tmp_path / "site", with_bytecode=True)
    primed = prime([site], tmp_path / "cache", ROOTS)
    assert (primed.written, primed.missing, primed.distributions) == (0, [], [])
    assert not (site / "demo_pkg" / "__pycache__").exists()


def test_turned_off_it_writes_nothing_and_logs_nothing(tmp_path: Path) -> None:
    site = install(tmp_path / "site")
    lines: list[str] = []
    cache = BytecodeCache(False, tmp_path / "cache", ["demo_pkg"], ["demo-pkg"], lines.append, verbose=True)
    cache.fill()
    assert lines == [] and not (tmp_path / "cache").exists()
    assert not (site / "demo_pkg" / "__pycache__").exists()


def test_it_finds_the_environment_of_the_named_modules_and_says_what_it_did(tmp_path: Path,
                                                                             monkeypatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.syspath_prepend(str(install(tmp_path / "one")))
    lines: list[str] = []
    first = BytecodeCache(True, cache, ["demo_pkg"], ["demo_pkg>=1"], lines.append, verbose=True)
    first.fill()
    assert len(lines) == 1 and lines[0].startswith("bytecode: compiled 2 modules of the build environment once")
    shutil.rmtree(tmp_path / "one")
    monkeypatch.syspath_prepend(str(install(tmp_path / "two")))
    lines.clear()
    BytecodeCache(True, cache, ["demo_pkg:backend"], ["Demo.Pkg ; python_version>'3'"], lines.append, verbose=True).fill()
    assert len(lines) == 1 and lines[0].startswith("bytecode: 2 modules of demo_pkg-1.0 from the cache in ")


def test_only_the_build_requirements_and_what_they_require_are_touched(tmp_path: Path) -> None:
    site = install(tmp_path / "site", name="builder", modules={"builder/__init__.py": "X = 1\n"},
                   requires=("demo-pkg>=1; python_version >= '3'", "absent_dist"))
    install(site)
    install(site, name="other", modules={"other/__init__.py": "Y = 1\n"})
    install(site, name="body", modules={"body/__init__.py": "Z = 1\n"})  # named only in builder's description
    primed = prime([site], tmp_path / "cache", ["Builder"])
    assert primed.distributions == ["builder-1.0", "demo_pkg-1.0"]
    assert sorted(m.source.name for m in primed.missing) == ["__init__.py", "__init__.py", "broken.py", "mod.py"]


def test_a_module_python_compiled_itself_is_left_and_the_others_are_given_theirs(tmp_path: Path) -> None:
    # setuptools' _distutils_hack, its RECORD's first module, is imported at every start by a .pth file
    cache = cached_once(tmp_path)
    site = install(tmp_path / "two")
    own = Path(py_compile.compile(str(site / "demo_pkg/__init__.py"), doraise=True) or "")
    before = own.read_bytes()
    primed = prime([site], cache, ROOTS)
    assert (primed.written, primed.distributions) == (1, ["demo_pkg-1.0"])
    assert own.read_bytes() == before
    assert f"code object from '{pyc(site, 'demo_pkg/mod.py')}'" in import_value(site)[1]


def test_a_module_python_compiled_itself_is_still_cached_for_the_next_environment(tmp_path: Path) -> None:
    # without PYTHONDONTWRITEBYTECODE, Python writes the bytecode of what a hook imported before priming
    cache = tmp_path / "cache"
    site = install(tmp_path / "one")
    own = Path(py_compile.compile(str(site / "demo_pkg/__init__.py"), doraise=True) or "")
    before = own.read_bytes()
    primed = prime([site], cache, ROOTS)
    assert sorted((m.source.name, m.target is None) for m in primed.missing) == [
        ("__init__.py", True), ("broken.py", False), ("mod.py", False)]
    assert primed.cache is not None
    assert fill(primed.missing, primed.cache)[0] == 2
    assert own.read_bytes() == before
    assert prime([install(tmp_path / "two")], cache, ROOTS).written == 2
