"""`manywheel wheels`' cheap half: selectors, shards, the options' sources ([tool.manywheel.wheels],
[tool.cibuildwheel], the command line), interpreter discovery on this machine, test roots from
their markers, the plan, and each bad input (one message, exit 2, before any build)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

from manywheel.errors import ManywheelError
from manywheel.matrix.config import read_config
from manywheel.matrix.identifiers import (Identifier, PythonVersion, Shard, check_selector, parse_python, parse_shard,
                                          universe)
from manywheel.matrix.interpreters import SearchPlaces, find_interpreters
from manywheel.matrix.plan import select
from manywheel.matrix.roots import place_of_test, roots_of
from manywheel.matrix.testing import platform_tags
from manywheel.settings import read_settings
from tests.common import REPO, run, skip_missing
from tests.realworld.steps import find_python

PROJECT = '''[build-system]
requires = ["manywheel"]
build-backend = "manywheel.backend"

[project]
name = "demo"
version = "1.0"
requires-python = ">=3.9"
'''


def wheels(*args: str, cwd: Path | None = None, path: str | None = None) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    if path is not None:
        env["PATH"] = path
    proc = run([sys.executable, "-m", "manywheel", "wheels", *args], cwd=cwd, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def project(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "pyproject.toml").write_text(PROJECT + extra)
    return tmp_path / "demo"


def idents(text: str) -> list[str]:
    sel = parse_python([text])
    return sorted(str(i) for i in universe() if sel.selects(i) and i.arch == "x86_64")


# ------------------------------------------------------------ selectors


@pytest.mark.parametrize("spec, expected", [
    ("3.9-3.11", ["cp310-manylinux_x86_64", "cp311-manylinux_x86_64", "cp39-manylinux_x86_64"]),
    ("3.11,3.14t", ["cp311-manylinux_x86_64", "cp314t-manylinux_x86_64"]),
    ("cp39-*", ["cp39-manylinux_x86_64"]),
    ("cp313t", ["cp313t-manylinux_x86_64"]),
    ("cp311-manylinux_aarch64", []),  # names another architecture
])
def test_python_items_select_versions_and_identifiers(spec: str, expected: list[str]) -> None:
    assert idents(spec) == expected


def test_an_identifier_names_its_architecture() -> None:
    assert parse_python(["cp311-manylinux_aarch64"]).named_arches() == ["aarch64"]


@pytest.mark.parametrize("spec, message", [
    ("3.99", "unknown Python version '3.99': manywheel builds for CPython 3.8 to 3.15"),
    ("3.12t", "free-threaded builds exist from 3.13"),
    ("3.13-3.9", "is an empty range"),
    ("pp39-*", "'pp39-*' is neither a Python version"),
    ("cp39-manylinux_sparc", "'cp39-manylinux_sparc' matches no identifier manywheel could build"),
])
def test_bad_python_items(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        parse_python([spec])
    assert message in str(info.value)


def test_selectors_of_other_platforms_are_known_and_misspelled_ones_are_not() -> None:
    assert check_selector("cp3*-manylinux_x86_64", "build") is True
    assert check_selector("pp*", "skip") is False  # cibuildwheel's PyPy: nothing to build, no error
    assert check_selector("*-musllinux_*", "skip") is False
    for bad in ("cp39-manylinx_x86_64", "py3*", "cp39 manylinux", ""):
        with pytest.raises(ValueError):
            check_selector(bad, "skip")


# ------------------------------------------------------------ shards

CELLS = [i for i in universe() if i.arch in ("x86_64", "aarch64", "ppc64le") and not i.python.free_threaded]


@pytest.mark.parametrize("parts", [1, 2, 3, 5, 7, len(CELLS), len(CELLS) + 3])
def test_shards_are_deterministic_complete_and_disjoint(parts: int) -> None:
    taken = [Shard(k, parts).take(CELLS) for k in range(1, parts + 1)]
    flat = [str(i) for part in taken for i in part]
    assert sorted(flat) == sorted(str(i) for i in CELLS) and len(flat) == len(set(flat))
    assert [Shard(k, parts).take(list(reversed(CELLS))) for k in range(1, parts + 1)] == taken
    sizes = [len(p) for p in taken]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("text", ["3/2", "0/2", "1/0", "2", "a/b", "-1/3"])
def test_bad_shards(text: str) -> None:
    with pytest.raises(ValueError):
        parse_shard(text)


# ------------------------------------------------------------ options and their sources

CIBW = {"tool": {"cibuildwheel": {
    "build": "cp39-* cp311-*", "skip": "pp* *-musllinux_*", "test-command": ["pytest {project}/tests", "echo done"],
    "test-requires": "pytest", "before-build": "make", "manylinux-x86_64-image": "manylinux2014",
    "linux": {"archs": ["x86_64", "aarch64"], "repair-wheel-command": "", "test-extras": "test"},
    "macos": {"archs": ["arm64"]}}}}


def test_cibuildwheel_keys_are_read_and_the_rest_listed() -> None:
    config = read_config(CIBW, {})
    assert config.items("build") == ("cp39-*", "cp311-*")
    assert config.text("test-command") == "pytest {project}/tests && echo done"
    assert config.items("arch") == ("x86_64", "aarch64")
    assert config.cibw_used == ("archs", "build", "skip", "test-command", "test-extras", "test-requires")
    assert config.cibw_unsupported == ("before-build", "manylinux-x86_64-image", "repair-wheel-command")
    chosen, notes = select(config)
    assert [str(i) for i in chosen] == ["cp39-manylinux_x86_64", "cp311-manylinux_x86_64",
                                        "cp39-manylinux_aarch64", "cp311-manylinux_aarch64"]


def test_manywheel_table_and_command_line_win() -> None:
    data = {"tool": {**CIBW["tool"], "manywheel": {"wheels": {"test-command": "python -c 1", "arch": "aarch64"}}}}
    config = read_config(data, {"arch": "ppc64le", "python": None})
    assert config.text("test-command") == "python -c 1" and config.sources["test-command"] == "[tool.manywheel.wheels]"
    assert config.items("arch") == ("ppc64le",) and config.sources["arch"] == "--arch"
    assert "test-command" not in config.cibw_used and "archs" not in config.cibw_used


def test_unknown_keys_of_the_manywheel_table_are_errors() -> None:
    with pytest.raises(ManywheelError) as info:
        read_config({"tool": {"manywheel": {"wheels": {"test-comand": "x", "jobs": "two"}}}}, {})
    text = info.value.render()
    assert "unknown key 'test-comand' in [tool.manywheel.wheels]" in text and "did you mean 'test-command'?" in text
    assert "[tool.manywheel.wheels] jobs: expected an integer >= 0, got 'two'" in text


def test_the_wheels_table_is_not_a_build_setting(tmp_path: Path) -> None:
    data = {"tool": {"manywheel": {"target": "manylinux_2_28", "wheels": {"python": "3.11"}}}}
    assert read_settings(tmp_path, None, {}, pyproject=data).target == "manylinux_2_28"


# ------------------------------------------------------------ interpreters and roots


def test_interpreters_found_here() -> None:
    if find_python("3.9") is None:
        skip_missing("no CPython 3.9 with `build` (pyenv)")
    places = SearchPlaces.from_environ(os.environ)
    found = find_interpreters([PythonVersion(3, 9), PythonVersion(3, 15, True)], places)
    interp = found[PythonVersion(3, 9)].interpreter
    assert interp is not None and interp.version[:2] == (3, 9) and interp.has_build and not interp.free_threaded
    missing = found[PythonVersion(3, 15, True)]
    assert missing.interpreter is None and missing.reason.startswith("no interpreter found; looked in PATH, pyenv (")


def test_the_pythons_manywheels_tools_built_are_searched_last(tmp_path: Path) -> None:
    """tools/rootpython.sh's build Pythons (in the cache) come after PATH, pyenv and uv."""
    real = find_python("3.9")
    if real is None:
        skip_missing("no CPython 3.9 with `build` (pyenv)")
    built = tmp_path / "cache" / "manywheel" / "rootpython" / "build-python" / "3.9.2" / "bin"
    built.mkdir(parents=True)
    (built / "python3.9").symlink_to(real)
    places = SearchPlaces.from_environ({"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"),
                                        "PATH": ""})
    assert places.candidates(PythonVersion(3, 9)) == [str(built / "python3.9")]
    found = find_interpreters([PythonVersion(3, 9), PythonVersion(3, 8)], places)
    interpreter = found[PythonVersion(3, 9)].interpreter
    assert interpreter is not None and interpreter.path == str(built / "python3.9")
    assert found[PythonVersion(3, 8)].reason.endswith(
        f"uv ({tmp_path}/.local/share/uv/python), manywheel's tools ({tmp_path}/cache/manywheel/rootpython/build-python)")


def test_an_interpreter_without_build_is_named(tmp_path: Path) -> None:
    """Every pyenv Python here that lacks `build` is reported as such, with the fix."""
    places = SearchPlaces.from_environ(os.environ)
    lacking = [v for v in (PythonVersion(3, m) for m in range(8, 14))
               if any(True for _ in places.candidates(v)) and find_python(f"3.{v.minor}") is None]
    if not lacking:
        pytest.skip("every Python found here has `build`")
    found = find_interpreters(lacking[:1], places)[lacking[0]]
    assert found.interpreter is None and found.reason.endswith("has no 'build' package: pip install build")


def _marker(path: Path, text: str) -> None:
    path.mkdir(parents=True)
    (path / ".manywheel-complete").write_text(text)


def test_roots_from_their_markers(tmp_path: Path) -> None:
    _marker(tmp_path / "cross-roots" / "aarch64", "format=1\narch=aarch64\nsuite=bullseye\nglibc=2.31\n"
            "python=/usr/bin/python3.9\n")
    _marker(tmp_path / "cross-roots" / "s390x", "format=0\n")  # another format: not complete
    path_env = os.environ.get("PATH", "")
    place = place_of_test(tmp_path, "aarch64", PythonVersion(3, 9), euid=1000, path_env=path_env)
    if place.root is None:
        assert "qemu-aarch64-static is not installed" in place.reason
    else:
        assert place.python == "/usr/bin/python3.9" and place.emulator.endswith("qemu-aarch64-static")
    assert "no Python 3.11 in the aarch64 roots" in place_of_test(tmp_path, "aarch64", PythonVersion(3, 11), euid=1000, path_env=path_env).reason
    assert "no free-threaded Python 3.13t" in place_of_test(tmp_path, "aarch64", PythonVersion(3, 13, True), euid=1000, path_env=path_env).reason
    assert place_of_test(tmp_path, "s390x", PythonVersion(3, 9), euid=1000, path_env=path_env).reason == (
        f"no s390x root at {tmp_path}/cross-roots/s390x (manywheel's tools/crossroot.sh s390x makes it)")
    _marker(tmp_path / "bullseye-root", "format=1\nsuite=bullseye\n")
    assert place_of_test(tmp_path, "x86_64", PythonVersion(3, 9), euid=1000, path_env=path_env).reason.endswith("needs chroot, so root")


def test_each_version_is_tested_in_the_oldest_root_that_has_it(tmp_path: Path) -> None:
    """Roots of several suites per architecture (crossroot.sh --suite) and Pythons built for a
    root (rootpython.sh's markers): each version goes to the oldest glibc that has it."""
    cross = tmp_path / "cross-roots"
    _marker(cross / "ppc64le", "format=1\narch=ppc64le\nsuite=bookworm\nglibc=2.36\npython=/usr/bin/python3.11\n")
    (cross / "ppc64le" / ".manywheel-python3.9-complete").write_text("format=1\npython=/usr/local/bin/python3.9\n")
    (cross / "ppc64le" / ".manywheel-python3.13-complete").write_text("format=0\npython=/usr/local/bin/python3.13\n")
    _marker(cross / "ppc64le-trixie", "format=1\narch=ppc64le\nsuite=trixie\nglibc=2.41\npython=/usr/bin/python3.13\n")
    _marker(cross / "ppc64-trixie", "format=1\narch=ppc64\nsuite=trixie\nglibc=2.41\npython=/usr/bin/python3.13\n")
    roots = roots_of(tmp_path, "ppc64le")
    assert [(r.suite, r.glibc, dict(r.pythons)) for r in roots] == [
        ("bookworm", (2, 36), {(3, 11): "/usr/bin/python3.11", (3, 9): "/usr/local/bin/python3.9"}),
        ("trixie", (2, 41), {(3, 13): "/usr/bin/python3.13"})]
    assert all(r.emulated for r in roots)
    _marker(cross / "x86_64-trixie", "format=1\narch=x86_64\nsuite=trixie\nglibc=2.41\npython=/usr/bin/python3.13\n")
    _marker(tmp_path / "bullseye-root", "format=1\nsuite=bullseye\n")
    (tmp_path / "bullseye-root" / ".manywheel-python311-complete").write_text("format=1\npython=/usr/local/bin/python3.11\n")
    x86 = roots_of(tmp_path, "x86_64")
    assert [(r.suite, sorted(r.pythons), r.emulated) for r in x86] == [
        ("bullseye", [(3, 9), (3, 11)], False), ("trixie", [(3, 13)], False)]
    place = place_of_test(tmp_path, "x86_64", PythonVersion(3, 13), euid=0, path_env="")
    assert place.root is not None and place.root.suite == "trixie" and place.python == "/usr/bin/python3.13"
    assert place_of_test(tmp_path, "x86_64", PythonVersion(3, 12), euid=0, path_env="").reason == (
        f"no Python 3.12 in the x86_64 roots (bullseye x86_64 root (glibc 2.31) at {tmp_path}/bullseye-root has 3.9, "
        f"3.11; trixie x86_64 root (glibc 2.41) at {cross}/x86_64-trixie has 3.13)")


def test_platform_tags_for_pip() -> None:
    tags = platform_tags("aarch64", (2, 31))
    assert tags[0] == "manylinux_2_31_aarch64" and "manylinux2014_aarch64" in tags and tags[-2:] == ["manylinux_2_5_aarch64", "manylinux1_aarch64"]


# ------------------------------------------------------------ the plan and bad input, as a user runs it


def test_the_plan_says_what_serves_each_wheel_and_which_cibuildwheel_keys_were_read(tmp_path: Path) -> None:
    demo = project(tmp_path, '\n[tool.cibuildwheel]\ntest-command = "python -c 1"\nbefore-all = "x"\n'
                             'skip = "pp*"\n')
    code, out = wheels(str(demo), "--python", "3.8-3.9,3.15t", "--arch", "x86_64", "--plan",
                       "--roots", str(tmp_path / "roots"))
    assert code == 0, out
    assert "  read from [tool.cibuildwheel]: skip, test-command\n" in out
    assert "  not supported, ignored from [tool.cibuildwheel]: before-all\n" in out
    assert "left out by requires-python '>=3.9': cp38" in out
    assert "  cp315t: no interpreter found; looked in PATH, pyenv (" in out
    assert f"not run: no x86_64 root at {tmp_path}/roots/bullseye-root" in out or "cp39: no" in out
    assert "cp315t-manylinux_x86_64  not built: no usable cp315t interpreter" in out


def test_shards_in_the_plan(tmp_path: Path) -> None:
    demo = project(tmp_path)
    code, out = wheels(str(demo), "--python", "3.9-3.14", "--arch", "x86_64", "--shard", "2/4", "--plan", "--no-test")
    assert code == 0, out
    assert "shard 2/4: 2 of 6 wheels" in out
    assert [line.split()[0] for line in out.splitlines() if line.startswith("  cp3") and "-manylinux_" in line] == \
        ["cp310-manylinux_x86_64", "cp314-manylinux_x86_64"]


BAD_INPUT = [
    (["--python", "3.99"], "manywheel: error: unknown Python version '3.99'"),
    (["--python", "3.9", "--shard", "3/2"], "manywheel: error: --shard '3/2': K must be 1 to N"),
    (["--arch", "sparc"], "manywheel: error: unknown architecture 'sparc'"),
    (["--python", "cp39-manylinx_x86_64"], "matches no identifier manywheel could build"),
    (["--jobs", "0"], "manywheel: error: --jobs 0: give 1 or more"),
]


@pytest.mark.parametrize("args, message", BAD_INPUT, ids=["version", "shard", "arch", "selector", "jobs"])
def test_bad_input_is_one_message_before_any_build(tmp_path: Path, args: list[str], message: str) -> None:
    code, out = wheels(str(project(tmp_path)), *args, "--out", str(tmp_path / "out"))
    assert code == 2 and message in out, out
    assert "Traceback" not in out and not (tmp_path / "out").exists()


def test_an_unknown_selector_in_the_cibuildwheel_table(tmp_path: Path) -> None:
    demo = project(tmp_path, '\n[tool.cibuildwheel]\nskip = "cp3?-manylinux_x86-64"\n')
    code, out = wheels(str(demo), "--plan")
    assert code == 2 and "manywheel: error: [tool.cibuildwheel] skip: skip: 'cp3?-manylinux_x86-64' matches no " \
        "identifier" in out, out


def test_an_architecture_without_its_cross_compiler_names_the_packages(tmp_path: Path) -> None:
    code, out = wheels(str(project(tmp_path)), "--arch", "x86_64,aarch64,s390x", "--plan", path=str(tmp_path))
    assert code == 2, out
    assert "manywheel: error: no cross compiler for aarch64: aarch64-linux-gnu-gcc not on PATH; s390x: " in out
    assert "hint: install it (Debian: apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu " \
        "gcc-s390x-linux-gnu g++-s390x-linux-gnu)" in out


def test_a_project_without_manywheel_is_told_to_adopt(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\n'
                                             'build-backend = "setuptools.build_meta"\n')
    code, out = wheels(str(tmp_path), "--plan")
    assert code == 2 and "builds with setuptools.build_meta, not manywheel" in out
    assert f"hint: switch it with `manywheel adopt {tmp_path}`" in out


def test_the_readme_section_names_every_option_and_cibuildwheel_key() -> None:
    from manywheel.cli import _parser
    from manywheel.matrix.config import CIBW_KEYS, KEYS

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Building the whole matrix"):]
    section = section[:section.index("\n## ")]
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    options = [o for a in sub.choices["wheels"]._actions for o in a.option_strings if o.startswith("--")]
    missing = [o for o in options if o != "--help" and f"`{o}" not in section]
    missing += [k for k in (*CIBW_KEYS, *KEYS, "archs") if f"`{k}`" not in section]
    assert missing == []
