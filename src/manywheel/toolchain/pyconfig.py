"""The target architecture's ``pyconfig.h`` for a cross build with the host's Python headers.

``pyconfig.h`` is configure's record of the machine CPython was built on.  A cross build
compiles against the host interpreter's headers, so the macros that depend on the
architecture (type sizes and alignments, byte order, the x87/x64 asm macros, 128-bit
integers, ...) must be re-set for the target; every other line is the host's configure
choice (``Py_ENABLE_SHARED``, ``HAVE_*`` for functions and headers, ...) and is kept.

The target's values come from the cross compiler's predefined macros
(``Compiler.macros``), so the same code serves every CPython version without
downloading anything.  Which macros depend on the architecture was measured by diffing
Debian's ``pyconfig.h`` for amd64 against arm64, armhf, ppc64el, s390x and i386
(tools/debian-pyconfig.sh; tests/integration/test_pyconfig_debian.py keeps checking it).
A few values are not predefined by compilers and follow from the glibc Linux ABI instead
(``pthread_t`` is ``unsigned long``, ``time_t`` is ``long`` unless ``_TIME_BITS=64``), or
from CPython's configure tables (``PY_SUPPORT_TIER``, ``PY_HAVE_PERF_TRAMPOLINE``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

from ..arches import TABLE
from ..errors import ToolchainError

# The two forms autoheader writes for every template entry.
_DEFINE = re.compile(r"^(?P<indent>[ \t]*)#(?P<gap>[ \t]*)define[ \t]+(?P<name>\w+)(?:[ \t]+(?P<value>.*?))?[ \t]*$")
_UNDEF = re.compile(r"^(?P<indent>[ \t]*)/\*[ \t]*#(?P<gap>[ \t]*)undef[ \t]+(?P<name>\w+)[ \t]*\*/[ \t]*$")
_CONDITIONAL = re.compile(r"^[ \t]*#[ \t]*(?P<word>if|ifdef|ifndef|elif|else|endif)\b(?P<rest>.*)$")
# Defined in every pyconfig.h configure writes (3.9 to 3.13); absent from Debian's
# multiarch wrapper (/usr/include/python3.X/pyconfig.h), which only includes the real file.
_ANCHORS = ("SIZEOF_LONG", "SIZEOF_VOID_P", "SIZEOF_SIZE_T")
_REQUIRED = ("__SIZEOF_SHORT__", "__SIZEOF_INT__", "__SIZEOF_LONG__", "__SIZEOF_LONG_LONG__",
             "__SIZEOF_POINTER__", "__SIZEOF_SIZE_T__", "__SIZEOF_FLOAT__", "__SIZEOF_DOUBLE__",
             "__SIZEOF_LONG_DOUBLE__", "__SIZEOF_WCHAR_T__", "__BYTE_ORDER__", "__BIGGEST_ALIGNMENT__")
_BIG = 4321  # __ORDER_BIG_ENDIAN__


@dataclass(frozen=True)
class TargetAbi:
    """What a compiler's predefined macros say about the target's C ABI."""

    sizeof: Mapping[str, int]  # C type ("long", "void *", "long double", ...) -> bytes
    big_endian: bool
    float_words_big_endian: bool  # the two 32-bit words of a double
    wchar_unsigned: bool
    int128: bool
    x86_64: bool
    i386: bool
    x87_excess_precision: bool  # double arithmetic in 80-bit x87 registers (FLT_EVAL_METHOD 2)
    biggest_alignment: int
    time_bits_64: bool  # -D_TIME_BITS=64: 64-bit time_t on a 32-bit glibc target
    large_files: bool  # -D_FILE_OFFSET_BITS=64, or the host pyconfig.h's own definition
    machine: str | None  # what ``uname -m`` says on the target: x86_64, aarch64, armv7l, ...
    # Linux with glibc: GCC defines __gnu_linux__ for glibc targets only (clang for any
    # Linux but Android, so a musl clang passes for glibc).
    gnu_linux: bool
    compiler: str  # "gcc" or "clang", as CPython's configure names it


def _flag(value: bool) -> str | None:
    return "1" if value else None


def _off_t(abi: TargetAbi) -> int:
    return 8 if abi.large_files else abi.sizeof["long"]


def _time_t(abi: TargetAbi) -> int:
    # glibc: long, except with -D_TIME_BITS=64 and on x32 (x86_64 with 32-bit long).
    return 8 if abi.time_bits_64 or abi.x86_64 else abi.sizeof["long"]


def _size(ctype: str) -> Callable[[TargetAbi], str | None]:
    return lambda abi: str(abi.sizeof[ctype])


def _support_tier(abi: TargetAbi) -> int:
    """PEP 11's tier as configure computes it from ``$host/$ac_cv_cc_name`` (3.11 to 3.13)."""
    if not abi.gnu_linux or abi.machine is None:
        return 0
    tiers = {("x86_64", "gcc"): 1, ("aarch64", "gcc"): 2, ("aarch64", "clang"): 2,
             ("ppc64le", "gcc"): 2, ("x86_64", "clang"): 2, ("armv7l", "gcc"): 3,
             ("ppc64le", "clang"): 3, ("s390x", "gcc"): 3}
    return tiers.get((abi.machine, abi.compiler), 0)


# Every architecture-dependent macro of pyconfig.h (3.9 to 3.13) -> its value on the target
# (None: undefined).  A macro the host's file does not mention (another CPython version)
# is not added.
RULES: dict[str, Callable[[TargetAbi], str | None]] = {
    **{f"SIZEOF_{name}": _size(ctype) for name, ctype in (
        ("SHORT", "short"), ("INT", "int"), ("LONG", "long"), ("LONG_LONG", "long long"),
        ("VOID_P", "void *"), ("SIZE_T", "size_t"), ("UINTPTR_T", "void *"), ("FLOAT", "float"),
        ("DOUBLE", "double"), ("LONG_DOUBLE", "long double"), ("WCHAR_T", "wchar_t"),
        ("PTHREAD_T", "long"))},  # glibc: pthread_t is unsigned long
    "SIZEOF_TIME_T": lambda abi: str(_time_t(abi)),
    "SIZEOF_OFF_T": lambda abi: str(_off_t(abi)),
    "HAVE_LARGEFILE_SUPPORT": lambda abi: _flag(_off_t(abi) > abi.sizeof["long"]),
    # Every Linux ABI aligns long and size_t to their size.
    "ALIGNOF_LONG": lambda abi: str(abi.sizeof["long"]),
    "ALIGNOF_SIZE_T": lambda abi: str(abi.sizeof["size_t"]),
    # alignof(max_align_t) is the biggest alignment of a scalar; -mavx raises
    # __BIGGEST_ALIGNMENT__ (vectors) above 16 where max_align_t stays 16.
    "ALIGNOF_MAX_ALIGN_T": lambda abi: str(min(abi.biggest_alignment, 16)),
    "HAVE_GCC_UINT128_T": lambda abi: _flag(abi.int128),
    "HAVE___UINT128_T": lambda abi: _flag(abi.int128),
    "HAVE_GCC_ASM_FOR_X64": lambda abi: _flag(abi.x86_64),
    "HAVE_GCC_ASM_FOR_X87": lambda abi: _flag(abi.x86_64 or abi.i386),
    "X87_DOUBLE_ROUNDING": lambda abi: _flag(abi.x87_excess_precision),
    # configure: "wchar_t is only usable if it maps to an unsigned type"
    "HAVE_USABLE_WCHAR_T": lambda abi: _flag(abi.sizeof["wchar_t"] >= 2 and abi.wchar_unsigned),
    "WORDS_BIGENDIAN": lambda abi: _flag(abi.big_endian),
    "FLOAT_WORDS_BIGENDIAN": lambda abi: _flag(abi.float_words_big_endian),
    "DOUBLE_IS_BIG_ENDIAN_IEEE754": lambda abi: _flag(abi.big_endian and abi.float_words_big_endian),
    "DOUBLE_IS_LITTLE_ENDIAN_IEEE754": lambda abi: _flag(not abi.big_endian and not abi.float_words_big_endian),
    "DOUBLE_IS_ARM_MIXED_ENDIAN_IEEE754": lambda abi: _flag(not abi.big_endian and abi.float_words_big_endian),
    "PY_SUPPORT_TIER": lambda abi: str(_support_tier(abi)),
    # configure enables it for the platform triplets x86_64-linux-gnu and aarch64-linux-gnu.
    "PY_HAVE_PERF_TRAMPOLINE": lambda abi: _flag(abi.gnu_linux and abi.machine in ("x86_64", "aarch64")),
}


def target_pyconfig(host_text: str, macros: dict[str, str], *, origin: str = "the host's pyconfig.h") -> str:
    """``host_text`` (a pyconfig.h written by CPython's configure) with every
    architecture-dependent macro (:data:`RULES`) re-set for the compiler whose predefined
    macros are ``macros``.  Every other line is returned unchanged, and so is a line whose
    value is already the target's: the host's own compiler gives back ``host_text``."""
    abi = read_target_abi(macros, host_large_files=_defines(host_text, "_FILE_OFFSET_BITS", "64"))
    wanted = {name: rule(abi) for name, rule in RULES.items()}
    lines = host_text.splitlines(keepends=True)
    seen: set[str] = set()
    for i, m, current in _template_entries(lines):
        seen.add(m["name"])
        value = wanted.get(m["name"], current)
        if current != value:
            body = lines[i].rstrip("\r\n")
            lines[i] = _render(m["indent"], m["gap"], m["name"], value) + lines[i][len(body):]
    missing = [name for name in _ANCHORS if name not in seen]
    if missing:
        raise ToolchainError(
            f"{origin} does not mention {', '.join(missing)}: it is not a pyconfig.h written by CPython's configure",
            hint="use the pyconfig.h of the interpreter's own include directory (sysconfig's INCLUDEPY); "
                 "Debian's /usr/include/python3.X/pyconfig.h only includes the file under "
                 "/usr/include/<multiarch>/python3.X/")
    return "".join(lines)


def _template_entries(lines: list[str]) -> Iterator[tuple[int, re.Match[str], str | None]]:
    """(index, match, value: None when undefined) of each ``#define`` and ``/* #undef */`` line,
    except those in the ``#if defined AC_APPLE_UNIVERSAL_BUILD`` branch around WORDS_BIGENDIAN,
    which only macOS universal builds take."""
    apple: list[bool] = []  # per open conditional: in the apple branch?
    for i, line in enumerate(lines):
        body = line.rstrip("\r\n")
        cond = _CONDITIONAL.match(body)
        if cond:
            if cond["word"].startswith("if"):
                apple.append(cond["word"] == "if" and "AC_APPLE_UNIVERSAL_BUILD" in cond["rest"])
            elif cond["word"] in ("elif", "else") and apple:
                apple[-1] = False
            elif cond["word"] == "endif" and apple:
                apple.pop()
        if any(apple):
            continue
        if (m := _DEFINE.match(body)) is not None:
            yield i, m, m["value"] or ""
        elif (m := _UNDEF.match(body)) is not None:
            yield i, m, None


def _render(indent: str, gap: str, name: str, value: str | None) -> str:
    if value is None:
        return f"{indent}/* #{gap}undef {name} */"
    return f"{indent}#{gap}define {name} {value}"


def _defines(text: str, name: str, value: str) -> bool:
    """Whether ``text`` has the line ``#define NAME VALUE``."""
    return any(m is not None and m["name"] == name and m["value"] == value
               for m in map(_DEFINE.match, text.splitlines()))


def read_target_abi(macros: Mapping[str, str], *, host_large_files: bool = False) -> TargetAbi:
    """The target ABI from predefined macros; every missing or unreadable one is reported at once."""
    problems = [f"{name} is missing" for name in _REQUIRED if name not in macros]
    if "__linux__" not in macros:
        problems.append("__linux__ is missing (the compiler does not target Linux)")
    ints: dict[str, int] = {}
    for name in (*_REQUIRED, "__FLOAT_WORD_ORDER__", "__FLT_EVAL_METHOD__", "__ARM_ARCH",
                 "_TIME_BITS", "_FILE_OFFSET_BITS"):
        if name in macros:
            try:
                ints[name] = _integer(macros, name)
            except ValueError:
                problems.append(f"{name} is {macros[name]!r}, not an integer")
    if problems:
        raise ToolchainError(
            "cannot tell the target's C ABI from the compiler's predefined macros: " + "; ".join(problems),
            hint="manywheel cross-builds with gcc or clang for a Linux target, e.g. aarch64-linux-gnu-gcc")
    sizes = {"short": "SHORT", "int": "INT", "long": "LONG", "long long": "LONG_LONG", "void *": "POINTER",
             "size_t": "SIZE_T", "float": "FLOAT", "double": "DOUBLE", "long double": "LONG_DOUBLE",
             "wchar_t": "WCHAR_T"}
    big_endian = ints["__BYTE_ORDER__"] == _BIG
    wchar_min = macros.get("__WCHAR_MIN__", "").rstrip("uU")
    return TargetAbi(
        sizeof={ctype: ints[f"__SIZEOF_{name}__"] for ctype, name in sizes.items()},
        big_endian=big_endian,
        float_words_big_endian=ints.get("__FLOAT_WORD_ORDER__", ints["__BYTE_ORDER__"]) == _BIG,
        wchar_unsigned="__WCHAR_UNSIGNED__" in macros or wchar_min == "0",
        int128="__SIZEOF_INT128__" in macros,
        x86_64="__x86_64__" in macros,
        i386="__i386__" in macros,
        x87_excess_precision=ints.get("__FLT_EVAL_METHOD__") == 2,
        biggest_alignment=ints["__BIGGEST_ALIGNMENT__"],
        time_bits_64=ints.get("_TIME_BITS") == 64,
        large_files=host_large_files or ints.get("_FILE_OFFSET_BITS") == 64 or ints["__SIZEOF_LONG__"] == 8,
        machine=_machine(macros, big_endian, ints),
        gnu_linux="__gnu_linux__" in macros,
        compiler="clang" if "__clang__" in macros else "gcc",
    )


def _machine(macros: Mapping[str, str], big_endian: bool, ints: Mapping[str, int]) -> str | None:
    """``uname -m`` of the target (its manylinux name), from the architecture table's predefined
    macros, byte order and LP64; None for a target the table does not hold (x32, say)."""
    lp64 = "__LP64__" in macros
    for arch in TABLE:
        if (arch.endian == "big") != big_endian or arch.lp64 != lp64:
            continue
        if all(name in macros and (value is None or ints.get(name) == int(value)) for name, value in arch.predefined):
            return arch.name
    return None


def _integer(macros: Mapping[str, str], name: str) -> int:
    """An integer macro's value, through macro names (``__ORDER_LITTLE_ENDIAN__``) and
    suffixes (``16U``, ``8L``)."""
    value = macros[name]
    for _ in range(4):
        if value in macros:
            value = macros[value]
    return int(value.strip("()").rstrip("uUlL"), 0)
