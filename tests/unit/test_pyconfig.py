"""The target's pyconfig.h from the host's, as a pure function of predefined macros written out
by hand (the real cross compilers are in tests/integration/test_pyconfig_debian.py)."""
from __future__ import annotations

import platform
import re
import sysconfig
from pathlib import Path

import pytest

from manywheel.errors import ToolchainError
from manywheel.toolchain.compiler import Compiler, parse_macro_dump
from manywheel.toolchain.pyconfig import RULES, target_pyconfig

# Trimmed autoheader output: every architecture-dependent entry of 3.9 to 3.13 as pyenv's
# x86_64 CPython 3.13 has it, the WORDS_BIGENDIAN block, and lines that are not ours.
HOST = """\
#ifndef Py_PYCONFIG_H
#define Py_PYCONFIG_H
#define ALIGNOF_LONG 8
#define ALIGNOF_MAX_ALIGN_T 16
#define ALIGNOF_SIZE_T 8
/* #undef DOUBLE_IS_ARM_MIXED_ENDIAN_IEEE754 */
/* #undef DOUBLE_IS_BIG_ENDIAN_IEEE754 */
#define DOUBLE_IS_LITTLE_ENDIAN_IEEE754 1
/* #undef FLOAT_WORDS_BIGENDIAN */
#define HAVE_GCC_ASM_FOR_X64 1
#define HAVE_GCC_ASM_FOR_X87 1
#define HAVE_GCC_UINT128_T 1
/* #undef HAVE_LARGEFILE_SUPPORT */
/* #undef HAVE_USABLE_WCHAR_T */
#define HAVE___UINT128_T 1
#define PY_HAVE_PERF_TRAMPOLINE 1
#define PY_SUPPORT_TIER 1
#define Py_ENABLE_SHARED 1
#define SIZEOF_DOUBLE 8
#define SIZEOF_FLOAT 4
#define SIZEOF_FPOS_T 16
#define SIZEOF_INT 4
#define SIZEOF_LONG 8
#define SIZEOF_LONG_DOUBLE 16
#define SIZEOF_LONG_LONG 8
#define SIZEOF_OFF_T 8
#define SIZEOF_PTHREAD_T 8
#define SIZEOF_SHORT 2
#define SIZEOF_SIZE_T 8
#define SIZEOF_TIME_T 8
#define SIZEOF_UINTPTR_T 8
#define SIZEOF_VOID_P 8
#define SIZEOF_WCHAR_T 4
/* #undef WITH_DTRACE */
#if defined AC_APPLE_UNIVERSAL_BUILD
# if defined __BIG_ENDIAN__
#  define WORDS_BIGENDIAN 1
# endif
#else
# ifndef WORDS_BIGENDIAN
/* #  undef WORDS_BIGENDIAN */
# endif
#endif
/* #undef X87_DOUBLE_ROUNDING */
#define _FILE_OFFSET_BITS 64
#endif /*Py_PYCONFIG_H*/
"""

# What gcc -dM -E prints for x86_64-linux-gnu (the part manywheel reads, and a little more).
X86_64 = {
    "__linux__": "1", "__gnu_linux__": "1", "__x86_64__": "1", "__LP64__": "1", "__SIZEOF_SHORT__": "2",
    "__SIZEOF_INT__": "4", "__SIZEOF_LONG__": "8", "__SIZEOF_LONG_LONG__": "8", "__SIZEOF_POINTER__": "8",
    "__SIZEOF_SIZE_T__": "8", "__SIZEOF_FLOAT__": "4", "__SIZEOF_DOUBLE__": "8", "__SIZEOF_LONG_DOUBLE__": "16",
    "__SIZEOF_WCHAR_T__": "4", "__SIZEOF_INT128__": "16", "__ORDER_LITTLE_ENDIAN__": "1234",
    "__ORDER_BIG_ENDIAN__": "4321", "__BYTE_ORDER__": "__ORDER_LITTLE_ENDIAN__",
    "__FLOAT_WORD_ORDER__": "__ORDER_LITTLE_ENDIAN__", "__BIGGEST_ALIGNMENT__": "16", "__FLT_EVAL_METHOD__": "0",
    "__WCHAR_MAX__": "0x7fffffff", "__WCHAR_MIN__": "(-__WCHAR_MAX__ - 1)", "__SSE2_MATH__": "1",
}


def like_x86_64(*drop: str, **changes: str) -> dict[str, str]:
    return {k: v for k, v in {**X86_64, **changes}.items() if k not in drop}


_64BIT_GONE = ("__x86_64__", "__LP64__", "__SIZEOF_INT128__", "__SSE2_MATH__")
ILP32 = {"__SIZEOF_LONG__": "4", "__SIZEOF_POINTER__": "4", "__SIZEOF_SIZE_T__": "4"}
ARCHES = {
    "x86_64": X86_64,
    "aarch64": like_x86_64("__x86_64__", "__SSE2_MATH__", __aarch64__="1", __ARM_ARCH="8", __WCHAR_MIN__="0U",
                           __WCHAR_MAX__="0xffffffffU"),
    "armv7l": like_x86_64(*_64BIT_GONE, **ILP32, __arm__="1", __ARM_ARCH="7", __ARM_PCS_VFP="1",
                          __SIZEOF_LONG_DOUBLE__="8", __BIGGEST_ALIGNMENT__="8", __WCHAR_MIN__="0U"),
    "ppc64le": like_x86_64("__x86_64__", "__SSE2_MATH__", __powerpc64__="1"),
    "s390x": like_x86_64("__x86_64__", "__SSE2_MATH__", __s390x__="1", __BYTE_ORDER__="__ORDER_BIG_ENDIAN__",
                         __FLOAT_WORD_ORDER__="__ORDER_BIG_ENDIAN__", __BIGGEST_ALIGNMENT__="8"),
    "i686": like_x86_64(*_64BIT_GONE, **ILP32, __i386__="1", __SIZEOF_LONG_DOUBLE__="12",
                        __FLT_EVAL_METHOD__="2"),
}

# Each target's values where they differ from x86_64's: Debian's pyconfig.h for arm64, armhf,
# ppc64el, s390x and i386 (3.11 and 3.13), except PY_SUPPORT_TIER for armv7l (Debian's
# armhf says 0: it configures with the triplet arm-linux-gnueabihf, which PEP 11's table
# does not name; a native armv7l build, like manylinux's, says armv7l-...-gnueabihf: 3).
ILP32_VALUES = {"ALIGNOF_LONG": "4", "ALIGNOF_SIZE_T": "4", "HAVE_GCC_ASM_FOR_X64": None,
                "HAVE_GCC_UINT128_T": None, "HAVE___UINT128_T": None, "HAVE_LARGEFILE_SUPPORT": "1",
                "PY_HAVE_PERF_TRAMPOLINE": None, "SIZEOF_LONG": "4", "SIZEOF_PTHREAD_T": "4", "SIZEOF_SIZE_T": "4",
                "SIZEOF_TIME_T": "4", "SIZEOF_UINTPTR_T": "4", "SIZEOF_VOID_P": "4"}
NOT_X86 = {"HAVE_GCC_ASM_FOR_X64": None, "HAVE_GCC_ASM_FOR_X87": None}
EXPECTED: dict[str, dict[str, str | None]] = {
    "x86_64": {},
    "aarch64": {**NOT_X86, "HAVE_USABLE_WCHAR_T": "1", "PY_SUPPORT_TIER": "2"},
    "armv7l": {**ILP32_VALUES, **NOT_X86, "ALIGNOF_MAX_ALIGN_T": "8", "HAVE_USABLE_WCHAR_T": "1",
               "PY_SUPPORT_TIER": "3", "SIZEOF_LONG_DOUBLE": "8"},
    "ppc64le": {**NOT_X86, "PY_HAVE_PERF_TRAMPOLINE": None, "PY_SUPPORT_TIER": "2"},
    "s390x": {**NOT_X86, "ALIGNOF_MAX_ALIGN_T": "8", "DOUBLE_IS_BIG_ENDIAN_IEEE754": "1",
              "DOUBLE_IS_LITTLE_ENDIAN_IEEE754": None, "FLOAT_WORDS_BIGENDIAN": "1", "PY_HAVE_PERF_TRAMPOLINE": None,
              "PY_SUPPORT_TIER": "3", "WORDS_BIGENDIAN": "1"},
    "i686": {**ILP32_VALUES, "PY_SUPPORT_TIER": "0", "SIZEOF_LONG_DOUBLE": "12", "X87_DOUBLE_ROUNDING": "1"},
}
_ENTRY = re.compile(r"^\s*(?:#\s*define\s+(\w+)(?:\s+(.*?))?|/\*\s*#\s*undef\s+(\w+)\s*\*/)\s*$")


def states(text: str) -> dict[str, str | None]:
    """Each entry's value (None: undefined); the last mention wins, which skips the
    AC_APPLE_UNIVERSAL_BUILD branch (it comes first)."""
    found: dict[str, str | None] = {}
    for line in text.splitlines():
        m = _ENTRY.match(line)
        if m:
            found[m[1] or m[3]] = (m[2] or "") if m[1] else None
    return found


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_each_architecture_gets_its_values(arch: str) -> None:
    assert states(target_pyconfig(HOST, ARCHES[arch])) == {**states(HOST), **EXPECTED[arch]}


def test_only_changed_lines_change_and_keep_their_form() -> None:
    text = HOST.replace("\n", "\r\n")
    out = target_pyconfig(text, ARCHES["s390x"])
    changed = [(a, b) for a, b in zip(text.splitlines(keepends=True), out.splitlines(keepends=True)) if a != b]
    assert len(out.splitlines()) == len(text.splitlines()) and len(changed) == len(EXPECTED["s390x"])
    assert ("/* #  undef WORDS_BIGENDIAN */\r\n", "#  define WORDS_BIGENDIAN 1\r\n") in changed
    assert ("#define HAVE_GCC_ASM_FOR_X64 1\r\n", "/* #undef HAVE_GCC_ASM_FOR_X64 */\r\n") in changed
    # The macOS universal-build branch stays as it is.
    assert "# if defined __BIG_ENDIAN__\r\n#  define WORDS_BIGENDIAN 1\r\n" in target_pyconfig(text, X86_64)


def test_native_target_gives_back_the_host_file_unchanged() -> None:
    assert target_pyconfig(HOST, X86_64) == HOST


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the hand-written macros are x86_64's; the host is not")
def test_native_target_gives_back_the_running_interpreters_pyconfig() -> None:
    path = Path(sysconfig.get_config_h_filename())
    text = path.read_text()
    if "SIZEOF_VOID_P" not in text:
        pytest.skip(f"{path} is a distribution's wrapper, not configure's pyconfig.h")
    assert target_pyconfig(text, X86_64) == text


def test_entries_another_version_lacks_are_not_added() -> None:
    old = "".join(line for line in HOST.splitlines(keepends=True)
                  if not re.search(r"ALIGNOF_|PY_SUPPORT_TIER|PY_HAVE_PERF|HAVE___UINT128_T", line))
    out = target_pyconfig(old, ARCHES["armv7l"])
    assert not re.search(r"ALIGNOF_|PY_SUPPORT_TIER|PY_HAVE_PERF|HAVE___UINT128_T", out)
    assert states(out)["SIZEOF_LONG"] == "4"


@pytest.mark.parametrize("changes, expected", [
    # -D_TIME_BITS=64 (with _FILE_OFFSET_BITS=64): glibc's 64-bit time_t on a 32-bit target.
    ({"_TIME_BITS": "64", "_FILE_OFFSET_BITS": "64"}, {"SIZEOF_TIME_T": "8"}),
    # An older ARM: not armv7l, so PEP 11 names it nowhere.
    ({"__ARM_ARCH": "6"}, {"PY_SUPPORT_TIER": "0"}),
])
def test_armv7l_variants(changes: dict[str, str], expected: dict[str, str]) -> None:
    out = states(target_pyconfig(HOST, {**ARCHES["armv7l"], **changes}))
    assert {name: out[name] for name in expected} == expected


@pytest.mark.parametrize("changes, drop, expected", [
    # -mavx raises __BIGGEST_ALIGNMENT__ (vector types); max_align_t stays 16.
    ({"__BIGGEST_ALIGNMENT__": "32"}, (), {"ALIGNOF_MAX_ALIGN_T": "16"}),
    ({"__clang__": "1"}, (), {"PY_SUPPORT_TIER": "2", "PY_HAVE_PERF_TRAMPOLINE": "1"}),
    # x32: x86_64 instructions, 32-bit long and pointers (x86_64-linux-gnux32, in no table).
    ({**ILP32, "__ILP32__": "1"}, ("__LP64__",), {"PY_SUPPORT_TIER": "0", "PY_HAVE_PERF_TRAMPOLINE": None,
                                                 "HAVE_GCC_ASM_FOR_X64": "1", "SIZEOF_TIME_T": "8"}),
    # musl (GCC defines __gnu_linux__ for glibc only): not *-linux-gnu.
    ({}, ("__gnu_linux__",), {"PY_SUPPORT_TIER": "0", "PY_HAVE_PERF_TRAMPOLINE": None}),
    # An x87-only i386 build has double rounding; one with -mfpmath=sse has not.
    ({"__FLT_EVAL_METHOD__": "2"}, (), {"X87_DOUBLE_ROUNDING": "1"}),
    # An old ARM FPA target: little-endian words, big-endian word order inside a double.
    ({"__FLOAT_WORD_ORDER__": "__ORDER_BIG_ENDIAN__"}, (),
     {"DOUBLE_IS_ARM_MIXED_ENDIAN_IEEE754": "1", "DOUBLE_IS_LITTLE_ENDIAN_IEEE754": None, "WORDS_BIGENDIAN": None}),
])
def test_x86_64_variants(changes: dict[str, str], drop: tuple[str, ...], expected: dict[str, str | None]) -> None:
    out = states(target_pyconfig(HOST, like_x86_64(*drop, **changes)))
    assert {name: out[name] for name in expected} == expected


def test_every_rule_is_exercised_by_the_host_fixture() -> None:
    assert set(RULES) <= set(states(HOST))


@pytest.mark.parametrize("text", [
    '#if defined(__x86_64__)\n#  include <x86_64-linux-gnu/python3.11/pyconfig.h>\n#endif\n',  # Debian's wrapper
    "",
])
def test_a_file_that_configure_did_not_write_is_refused(text: str) -> None:
    with pytest.raises(ToolchainError) as e:
        target_pyconfig(text, X86_64, origin="/usr/include/python3.11/pyconfig.h")
    rendered = e.value.render()
    assert ("manywheel: error: /usr/include/python3.11/pyconfig.h does not mention SIZEOF_LONG, SIZEOF_VOID_P, "
            "SIZEOF_SIZE_T: it is not a pyconfig.h written by CPython's configure") in rendered
    assert "hint: use the pyconfig.h of the interpreter's own include directory" in rendered


def test_missing_and_unreadable_macros_are_reported_together() -> None:
    macros = like_x86_64("__SIZEOF_LONG__", "__BYTE_ORDER__", "__linux__", __SIZEOF_POINTER__="eight")
    with pytest.raises(ToolchainError) as e:
        target_pyconfig(HOST, macros)
    assert e.value.message == (
        "cannot tell the target's C ABI from the compiler's predefined macros: __SIZEOF_LONG__ is missing; "
        "__BYTE_ORDER__ is missing; __linux__ is missing (the compiler does not target Linux); "
        "__SIZEOF_POINTER__ is 'eight', not an integer")
    assert e.value.hint and "gcc or clang" in e.value.hint


def test_parse_macro_dump() -> None:
    dump = ("#define __SIZEOF_LONG__ 8\n#define __WCHAR_MIN__ (-__WCHAR_MAX__ - 1)\n#define __linux__ 1\n"
            "#define __has_include(STR) __has_include__(STR)\n#define _REENTRANT\n")
    assert parse_macro_dump(dump) == {"__SIZEOF_LONG__": "8", "__WCHAR_MIN__": "(-__WCHAR_MAX__ - 1)",
                                      "__linux__": "1", "_REENTRANT": ""}


def test_compiler_macros_of_the_host_compiler() -> None:
    import shutil
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    macros = Compiler(["gcc", "-D_TIME_BITS=64"], {"PATH": "/usr/bin:/bin"}).macros()
    assert macros["__SIZEOF_POINTER__"] in ("4", "8") and macros["_TIME_BITS"] == "64"


@pytest.mark.parametrize("cc, message", [
    (["sh", "-c", "echo 'cc1: error: bad target' >&2; exit 3", "sh"],
     r"sh -c .* -dM -E -x c /dev/null failed with exit code 3:\ncc1: error: bad target"),
    (["no-such-cross-gcc"], r"cannot run no-such-cross-gcc -dM -E -x c /dev/null: .*No such file"),
    (["true"], r"true -dM -E -x c /dev/null printed no predefined macros"),
])
def test_compiler_macros_failures_name_the_command(cc: list[str], message: str) -> None:
    with pytest.raises(ToolchainError, match=message) as e:
        Compiler(cc, {"PATH": "/usr/bin:/bin"}).macros()
    assert e.value.hint and "aarch64-linux-gnu-gcc" in e.value.hint
