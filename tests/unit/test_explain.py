"""Where an offending reference comes from (the link log and the objects it names), and what a
pinned build says about an unversioned reference."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from manywheel._wrapper import linklog
from manywheel.check.elf import read_elf_file
from manywheel.check.report import render_violations
from manywheel.check.verify import Constraint, Verdict, judge
from manywheel.explain import describe_missing, find_origins
from manywheel.policy import find_policy, load_policies
from tests.common import run

POLICIES = load_policies("x86_64")
TARGET = find_policy("manylinux_2_17", "x86_64")

RNG = "#include <sys/random.h>\nint rng(char *d){ return (int)getrandom(d, 4, 0); }\n"
OTHER = "#include <string.h>\nint other(const char *s){ return (int)strlen(s); }\n"
THREAD_ATEXIT = ("extern int __cxa_thread_atexit_impl(void (*)(void *), void *, void *);\n"
                 "int tl(void){ return __cxa_thread_atexit_impl(0, 0, 0); }\n")


@dataclass(frozen=True)
class Build:
    """A tiny setuptools-like build: sources, objects under build/temp, the linked module, its link log."""

    root: Path
    so: Path
    objects: dict[str, Path]
    links: list[linklog.LinkEntry]


def compile_object(source: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    run(["gcc", "-c", "-fPIC", "-O1", "-o", str(out), str(source)])
    return out


def make_build(root: Path, sources: dict[str, str], module: str) -> Build:
    """Compile each source to build/temp/<name>.o, link them into build/lib/pkg/<module>, log the link."""
    (root / "src").mkdir(parents=True)
    objects = {}
    for name, text in sources.items():
        src = root / "src" / f"{name}.c"
        src.write_text(text)
        objects[name] = compile_object(src, root / "build" / "temp" / f"{name}.o")
    so = root / "build" / "lib" / "pkg" / module
    so.parent.mkdir(parents=True)
    run(["gcc", "-shared", "-o", str(so), *map(str, objects.values())])
    state = root / "toolchain"
    state.mkdir()
    linklog.append(str(state), {"output": str(so), "inputs": [str(o) for o in objects.values()],
                                "cwd": str(root), "bundled": [], "static": []})
    return Build(root, so, objects, linklog.read(linklog.path_in(str(state))))


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return make_build(tmp_path_factory.mktemp("explain"), {"rng": RNG, "other": OTHER}, "_rng.so")


def verdict_of(path: Path, name: str) -> Verdict:
    return judge([read_elf_file(path, name)], POLICIES, "x86_64")


def test_the_link_log_reads_back_what_was_appended(build: Build) -> None:
    [entry] = build.links
    assert (entry["output"], entry["inputs"], entry["cwd"], entry["bundled"]) == (
        str(build.so), [str(build.objects["rng"]), str(build.objects["other"])], str(build.root), [])


def test_the_object_and_source_behind_a_symbol_are_named(build: Build) -> None:
    v = verdict_of(build.so, "pkg/_rng.so")
    origins = find_origins(v.blocking(TARGET), build.links, {str(build.root / "build"): "build"})
    # other.o references strlen, not getrandom: only rng.o is named
    assert origins == {("pkg/_rng.so", "getrandom"): ["rng.c (build/temp/rng.o)"]}


def test_aliases_shorten_paths_and_without_one_paths_are_relative(build: Build,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    blocking = verdict_of(build.so, "pkg/_rng.so").blocking(TARGET)
    aliased = find_origins(blocking, build.links, {str(build.root / "build" / "temp") + "/": "objs"})
    assert aliased[("pkg/_rng.so", "getrandom")] == ["rng.c (objs/rng.o)"]
    monkeypatch.chdir(build.root / "build")
    assert find_origins(blocking, build.links)[("pkg/_rng.so", "getrandom")] == ["rng.c (temp/rng.o)"]


def test_a_member_of_an_archive_is_named_with_its_archive(tmp_path: Path) -> None:
    src = tmp_path / "rng.c"
    src.write_text(RNG)
    obj = compile_object(src, tmp_path / "rng.o")
    archive = tmp_path / "librng.a"
    run(["ar", "rcs", str(archive), str(obj)])
    so = tmp_path / "_mod.so"
    run(["gcc", "-shared", "-o", str(so), "-Wl,--whole-archive", str(archive), "-Wl,--no-whole-archive"])
    links: list[linklog.LinkEntry] = [{"output": str(so), "inputs": [str(archive)], "cwd": str(tmp_path),
                                       "bundled": [], "static": []}]
    origins = find_origins(verdict_of(so, "pkg/_mod.so").blocking(TARGET), links, {str(tmp_path): "t"})
    assert origins == {("pkg/_mod.so", "getrandom"): ["rng.c (t/librng.a(rng.o))"]}


def test_other_outputs_unreadable_inputs_and_symbolless_facts_are_passed_over(build: Build, tmp_path: Path,
                                                                             compile_so: Callable[..., Path]) -> None:
    blocking = verdict_of(build.so, "pkg/_rng.so").blocking(TARGET)
    rng_o = str(build.objects["rng"])
    not_elf = tmp_path / "notes.o"
    not_elf.write_text("not an object\n")
    links: list[linklog.LinkEntry] = [
        {"output": str(tmp_path / "_elsewhere.so"), "inputs": [rng_o], "cwd": "/", "bundled": [], "static": []},
        {"output": str(tmp_path / "_rng.so"), "inputs": [str(tmp_path / "missing.o"), str(not_elf), rng_o],
         "cwd": "/", "bundled": [], "static": []},
    ]
    assert find_origins(blocking, links, {str(build.root): "b"}) == {
        ("pkg/_rng.so", "getrandom"): ["rng.c (b/build/temp/rng.o)"]}
    assert find_origins(blocking, [], {}) == {}
    stack = verdict_of(compile_so(OTHER, "-Wl,-z,execstack"), "pkg/_rng.so").blocking(TARGET)
    assert [c.kind for c in stack] == ["exec-stack"]
    assert find_origins(stack, build.links, {}) == {}  # no symbol, nothing to look for


def test_each_object_is_named_once_however_many_rules_the_symbol_breaks(tmp_path: Path) -> None:
    b = make_build(tmp_path, {"tl": THREAD_ATEXIT}, "_tl.so")
    blocking = verdict_of(b.so, "pkg/_tl.so").blocking(TARGET)
    assert sorted(c.kind for c in blocking) == ["blacklist", "symbol-version"]
    origins = find_origins(blocking, b.links, {str(tmp_path / "build"): "build"})
    assert origins == {("pkg/_tl.so", "__cxa_thread_atexit_impl"): ["tl.c (build/temp/tl.o)"]}


@pytest.fixture(scope="module")
def unversioned(compile_so: Callable[..., Path]) -> Verdict:
    """-nostdlib: nothing resolves the references at link time, so none gets a version (as when
    a pinned link finds no version <= the target). getentropy is libc's from 2.25, shm_open is
    librt's (which the file does not load), mw_no_such_function is nobody's."""
    so = compile_so("extern int getentropy(void *, unsigned long);\n"
                    "extern int shm_open(const char *, int, int);\n"
                    "extern int mw_no_such_function(void);\n"
                    "int f(void *b){ return getentropy(b, 8) + shm_open(\"/x\", 0, 0) + mw_no_such_function(); }\n",
                    "-nostdlib")
    return verdict_of(so, "pkg/_u.so")


def test_unversioned_references_are_real_constraints(unversioned: Verdict) -> None:
    facts = {c.symbol: (c.kind, c.library, c.version, c.oldest.name if c.oldest else None)
             for c in unversioned.constraints}
    assert facts == {"getentropy": ("unversioned", "libc.so.6", "GLIBC_2.25", "manylinux_2_26"),
                     "shm_open": ("unversioned", "librt.so.1", None, None),
                     "mw_no_such_function": ("unversioned", None, None, None)}


def test_describe_missing_says_each_case(unversioned: Verdict) -> None:
    notes = describe_missing(unversioned.blocking(TARGET), "GLIBC_2.17")
    assert notes == {
        "getentropy": ("no version <= GLIBC_2.17 exists (GLIBC_2.25 in libc.so.6 is the oldest) and no shim covers "
                       "it; oldest target that accepts it: manylinux_2_26"),
        "shm_open": "glibc defines it in librt.so.1, which the file does not load: link that library",
        "mw_no_such_function": ("no glibc library defines it: an unversioned reference that fails to load on every "
                                "system (a missing library, or a typo)"),
    }
    report = render_violations(unversioned, TARGET, notes=notes).splitlines()
    assert f"    getentropy (unversioned): {notes['getentropy']}" in report
    assert f"    shm_open (unversioned): {notes['shm_open']}" in report


def test_describe_missing_without_an_accepting_policy_and_for_other_kinds(build: Build) -> None:
    newer = Constraint("unversioned", "pkg/a.so", "mw_future (unversioned)", "binds to mw_future", None,
                       symbol="mw_future", version="GLIBC_2.99", library="libc.so.6")
    assert describe_missing([newer], "GLIBC_2.28") == {"mw_future": (
        "no version <= GLIBC_2.28 exists (GLIBC_2.99 in libc.so.6 is the oldest) and no shim covers it; "
        "oldest target that accepts it: none known")}
    versioned = verdict_of(build.so, "pkg/_rng.so").blocking(TARGET)
    assert [c.kind for c in versioned] == ["symbol-version"]
    assert describe_missing(versioned, "GLIBC_2.17") == {}  # getrandom@GLIBC_2.25 already says its version
