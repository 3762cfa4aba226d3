"""The tag a build writes: the target when the files meet it, the verdict for "auto", a newer
policy when only bundled host libraries miss the target, and otherwise a ComplianceError that
names each symbol, file and source."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

import pytest

from manywheel._wrapper import linklog
from manywheel.build import Context, choose_policy, compliance_error, policy_for_bundled, warn_bundled
from manywheel.check.elf import ElfFacts, read_elf_file
from manywheel.check.verify import judge
from manywheel.errors import ComplianceError
from manywheel.policy import Policy, find_policy, load_policies
from manywheel.settings import Settings, read_settings
from tests.common import run, skip_missing

CLEAN = "#include <string.h>\nint core(char *a, char *b){ return strcmp(a, b); }\n"
MEMCPY = "#include <string.h>\nvoid copy(char *d, char *s, unsigned long n){ memcpy(d, s, n); }\n"
GETRANDOM = "#include <sys/random.h>\nint rng(char *d){ return (int)getrandom(d, 4, 0); }\n"
FFI = ("extern int ffi_prep_cif(void *, int, unsigned, void *, void *);\n"
       "int call(void *cif, void *rtype){ return ffi_prep_cif(cif, 2, 0, rtype, 0); }\n")


def policy(name: str) -> Policy:
    return find_policy(name, "x86_64")


def context(project: Path, target: str | None, settings: Settings | None = None) -> Context:
    return Context(project=project, settings=settings or Settings(), environ={}, arch="x86_64",
                   target=policy(target) if target else None, config_settings=None)


def facts(*files: tuple[Path, str]) -> list[ElfFacts]:
    return [read_elf_file(path, name) for path, name in files]


@pytest.fixture(scope="module")
def clean(compile_so: Callable[..., Path]) -> Path:
    return compile_so(CLEAN)  # meets manylinux_2_5


@pytest.fixture(scope="module")
def memcpy(compile_so: Callable[..., Path]) -> Path:
    return compile_so(MEMCPY)  # memcpy@GLIBC_2.14: meets manylinux_2_17


@pytest.fixture(scope="module")
def rng(compile_so: Callable[..., Path]) -> Path:
    return compile_so(GETRANDOM)  # getrandom@GLIBC_2.25: meets manylinux_2_26


def test_files_meeting_the_target_get_the_target(tmp_path: Path, clean: Path, memcpy: Path) -> None:
    chosen, verdict = choose_policy(context(tmp_path, "manylinux2014"),
                                    facts((clean, "pkg/_core.so"), (memcpy, "pkg/_copy.so")),
                                    tmp_path / "links.jsonl", pinned=True, aliases={})
    assert chosen == policy("manylinux_2_17")
    assert verdict.policy == policy("manylinux_2_17") and verdict.files == ("pkg/_core.so", "pkg/_copy.so")
    older = choose_policy(context(tmp_path, "manylinux_2_28"), facts((clean, "pkg/_core.so")),
                          tmp_path / "links.jsonl", pinned=True, aliases={})[0]
    assert older == policy("manylinux_2_28")  # the target, not the older policy the files also meet


def test_auto_takes_the_verdict(tmp_path: Path, clean: Path, rng: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chosen, verdict = choose_policy(context(tmp_path, None), facts((clean, "pkg/_core.so"), (rng, "pkg/_rng.so")),
                                    tmp_path / "links.jsonl", pinned=True, aliases={})
    assert chosen == verdict.policy == policy("manylinux_2_26")
    assert choose_policy(context(tmp_path, None), [], tmp_path / "links.jsonl", pinned=True, aliases={})[0] == \
        policy("manylinux_2_5")
    assert "2 ELF files verified" in capsys.readouterr().err


def test_a_symbol_newer_than_the_target_is_a_compliance_error(tmp_path: Path, clean: Path, rng: Path) -> None:
    with pytest.raises(ComplianceError) as err:
        choose_policy(context(tmp_path, "manylinux_2_17"), facts((clean, "pkg/_core.so"), (rng, "pkg/_rng.so")),
                      tmp_path / "no-links.jsonl", pinned=True, aliases={})
    text = err.value.render()
    assert text.splitlines()[:3] == [
        "manywheel: error: 1 violation of manylinux_2_17_x86_64 in 1 file; the files meet manylinux_2_26_x86_64",
        "  pkg/_rng.so:",
        "    getrandom@GLIBC_2.25 (libc.so.6): GLIBC_2.25 is allowed only from manylinux_2_26 "
        "(accepted by manylinux_2_26)",
    ]
    assert "pkg/_core.so" not in text and "referenced from" not in text  # no link log: no origins
    assert 'hint: set [tool.manywheel] target = "manylinux_2_26"' in text


def test_with_a_link_log_the_error_names_the_source(tmp_path: Path, rng: Path) -> None:
    source = tmp_path / "src" / "rng.c"
    source.parent.mkdir()
    source.write_text(GETRANDOM)
    obj = tmp_path / "build" / "temp" / "rng.o"
    obj.parent.mkdir(parents=True)
    run(["gcc", "-c", "-fPIC", "-O1", "-o", str(obj), str(source)])
    state = tmp_path / "toolchain"
    state.mkdir()
    linklog.append(str(state), {"output": str(rng), "inputs": [str(obj)], "cwd": str(tmp_path), "bundled": [],
                                "static": []})
    wheel_path = f"pkg/{rng.name}"
    with pytest.raises(ComplianceError) as err:
        choose_policy(context(tmp_path, "manylinux_2_17"), facts((rng, wheel_path)),
                      Path(linklog.path_in(str(state))), pinned=True, aliases={str(tmp_path / "build"): "build"})
    lines = err.value.render().splitlines()
    assert lines[1:4] == [f"  {wheel_path}:",
                          "    getrandom@GLIBC_2.25 (libc.so.6): GLIBC_2.25 is allowed only from manylinux_2_26 "
                          "(accepted by manylinux_2_26)",
                          "        referenced from rng.c (build/temp/rng.o)"]
    # compliance_error itself, for the same verdict, says the same
    verdict = judge(facts((rng, wheel_path)), load_policies("x86_64"), "x86_64")
    same = compliance_error(verdict, policy("manylinux_2_17"), Path(linklog.path_in(str(state))),
                            {str(tmp_path / "build"): "build"}, pinned=True)
    assert same.render() == err.value.render()


def test_a_pinned_build_explains_an_unversioned_reference(tmp_path: Path, compile_so: Callable[..., Path]) -> None:
    so = compile_so("extern int getentropy(void *, unsigned long);\nint f(void *b){ return getentropy(b, 8); }\n",
                    "-nostdlib")
    verdict = judge(facts((so, "pkg/_u.so")), load_policies("x86_64"), "x86_64")
    pinned = compliance_error(verdict, policy("manylinux_2_17"), tmp_path / "links.jsonl", {}, pinned=True).render()
    assert ("    getentropy (unversioned): no version <= GLIBC_2.17 exists (GLIBC_2.25 in libc.so.6 is the oldest) "
            "and no shim covers it; oldest target that accepts it: manylinux_2_26") in pinned.splitlines()
    unpinned = compliance_error(verdict, policy("manylinux_2_17"), tmp_path / "links.jsonl", {}, pinned=False).render()
    assert "no shim covers it" not in unpinned and "getentropy (unversioned): binds to getentropy" in unpinned


def test_a_bundled_library_alone_raises_the_tag_with_a_warning(tmp_path: Path, clean: Path, rng: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    bundled = "pkg.libs/librng-0a1b2c3d.so.1"
    chosen, verdict = choose_policy(context(tmp_path, "manylinux_2_17"),
                                    facts((clean, "pkg/_core.so"), (rng, bundled)),
                                    tmp_path / "links.jsonl", pinned=True, aliases={}, bundled=[bundled])
    assert chosen == verdict.policy == policy("manylinux_2_26")
    err = capsys.readouterr().err
    assert (f"manywheel: warning: bundled {bundled}: getrandom@GLIBC_2.25 (libc.so.6): "
            f"GLIBC_2.25 is allowed only from manylinux_2_26") in err.splitlines()
    assert "the wheel is tagged manylinux_2_26" in err and "newer than the target manylinux_2_17" in err
    assert "pkg/_core.so" not in err


def test_warn_bundled_names_each_blocking_fact(clean: Path, rng: Path, capsys: pytest.CaptureFixture[str]) -> None:
    verdict = judge(facts((rng, "pkg.libs/librng.so.1"), (clean, "pkg/_core.so")), load_policies("x86_64"), "x86_64")
    warn_bundled(verdict, policy("manylinux_2_17"), policy("manylinux_2_26"))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == ("manywheel: warning: bundled pkg.libs/librng.so.1: getrandom@GLIBC_2.25 (libc.so.6): "
                        "GLIBC_2.25 is allowed only from manylinux_2_26")
    assert lines[1].startswith("manywheel: warning: the bundled libraries above need manylinux_2_26, newer than "
                               "the target manylinux_2_17: the wheel is tagged manylinux_2_26.")
    assert len(lines) == 2


def test_policy_for_bundled_only_when_bundled_files_alone_block(clean: Path, rng: Path,
                                                                compile_so: Callable[..., Path]) -> None:
    policies = load_policies("x86_64")
    target = policy("manylinux_2_17")
    lib = "pkg.libs/librng.so.1"
    alone = judge(facts((clean, "pkg/_core.so"), (rng, lib)), policies, "x86_64")
    assert policy_for_bundled(alone, target, [lib]) == policy("manylinux_2_26")
    assert policy_for_bundled(alone, target, []) is None  # nothing bundled: an error instead
    assert policy_for_bundled(alone, policy("manylinux_2_28"), [lib]) is None  # the target is met
    # a file of the project's own needs getrandom too: bundling does not explain it
    both = judge(facts((rng, "pkg/_rng.so"), (rng, lib)), policies, "x86_64")
    assert policy_for_bundled(both, target, [lib]) is None
    # a bundled library no policy accepts: nothing to raise the tag to
    stack = judge(facts((compile_so(CLEAN, "-Wl,-z,execstack"), lib)), policies, "x86_64")
    assert policy_for_bundled(stack, target, [lib]) is None


def test_a_non_bundled_file_that_also_blocks_is_an_error(tmp_path: Path, rng: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    lib = "pkg.libs/librng.so.1"
    with pytest.raises(ComplianceError) as err:
        choose_policy(context(tmp_path, "manylinux_2_17"), facts((rng, "pkg/_rng.so"), (rng, lib)),
                      tmp_path / "links.jsonl", pinned=True, aliases={}, bundled=[lib])
    assert "2 violations of manylinux_2_17_x86_64 in 2 files" in err.value.render()
    assert "warning" not in capsys.readouterr().err


def test_an_excluded_library_does_not_block(tmp_path: Path, compile_so: Callable[..., Path]) -> None:
    found = subprocess.run(["gcc", "-print-file-name=libffi.so"], capture_output=True, text=True).stdout.strip()
    if not Path(found).is_absolute():
        skip_missing("libffi.so (package libffi-dev) is not installed: cannot link -lffi")
    so = compile_so(FFI, "-lffi")
    with pytest.raises(ComplianceError, match="NEEDED libffi.so.8"):
        choose_policy(context(tmp_path, "manylinux_2_17"), facts((so, "pkg/_ffi.so")), tmp_path / "links.jsonl",
                      pinned=True, aliases={})
    settings = read_settings(tmp_path, None, {}, {"tool": {"manywheel": {"exclude": ["ffi"]}}})
    chosen, _ = choose_policy(context(tmp_path, "manylinux_2_17", settings), facts((so, "pkg/_ffi.so")),
                              tmp_path / "links.jsonl", pinned=True, aliases={})
    assert chosen == policy("manylinux_2_17")
