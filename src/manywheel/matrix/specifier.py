"""Whether a project's ``requires-python`` admits a CPython X.Y, by PEP 440's rules (version
specifiers and their ordering of versions), for the matrix plan.

Written here so that manywheel needs no ``packaging`` in every build environment: the matrix
command is its only user. A candidate is always a final release X.Y (no pre-, post- or
development release, no local label), which is all the plan asks about.
"""
from __future__ import annotations

import re
from typing import Tuple

# PEP 440's version grammar, with its permitted alternative spellings (v prefix, "-", "_"
# or "." separators, alpha/beta/c/pre/preview/rev/r, implicit numbers).
_VERSION = re.compile(r"""
    v?
    (?:(?P<epoch>[0-9]+)!)?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?:[-_.]?(?P<pre>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
    (?:-(?P<post_implicit>[0-9]+)|[-_.]?(?P<post>post|rev|r)[-_.]?(?P<post_n>[0-9]+)?)?
    (?:[-_.]?(?P<dev>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
""", re.VERBOSE | re.IGNORECASE)
_CLAUSE = re.compile(r"(?P<op>~=|===|==|!=|<=|>=|<|>)\s*(?P<version>[^\s,;]+)")
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_INF = float("inf")

Key = Tuple[int, Tuple[int, ...], Tuple[float, int], float, float]


def python_allowed(spec: str, major: int, minor: int) -> bool:
    """Whether ``requires-python`` ``spec`` admits CPython ``major.minor``; ValueError when ``spec``
    is not a PEP 440 specifier set."""
    clauses = [c.strip() for c in spec.split(",") if c.strip()]
    return all(_admits(clause, major, minor) for clause in clauses)


def _admits(clause: str, major: int, minor: int) -> bool:
    m = _CLAUSE.fullmatch(clause)
    if m is None:
        raise ValueError(f"{clause!r} is not a version specifier (an operator such as >= and a version)")
    op, text = m.group("op"), m.group("version")
    if op == "===":
        return text.lower() == f"{major}.{minor}"
    wildcard = text.endswith(".*")
    if wildcard:
        if op not in ("==", "!="):
            raise ValueError(f"{clause!r}: a .* suffix is allowed only with == and !=")
        text = text[:-2]
    v = _VERSION.fullmatch(text)
    if v is None:
        raise ValueError(f"{clause!r}: {text!r} is not a PEP 440 version")
    if wildcard and any(v.group(g) for g in ("pre", "post", "post_implicit", "dev", "local")):
        raise ValueError(f"{clause!r}: a .* suffix follows release numbers only")
    if op == "~=" and v.group("local"):
        raise ValueError(f"{clause!r}: ~= takes no local version (+...)")
    if v.group("local") and op not in ("==", "!="):
        raise ValueError(f"{clause!r}: a local version (+...) is allowed only with == and !=")
    candidate: Key = (0, _trimmed((major, minor)), (_INF, 0), -_INF, _INF)
    if wildcard or op == "~=":
        release, epoch = _release(v), int(v.group("epoch") or 0)
        if op == "~=":
            if len(release) < 2:
                raise ValueError(f"{clause!r}: ~= needs a version with at least two release numbers")
            return candidate >= _key(v) and _prefix_matches((major, minor), epoch, release[:-1])
        matched = _prefix_matches((major, minor), epoch, release)
        return matched if op == "==" else not matched
    if op in ("==", "!="):
        equal = not v.group("local") and candidate == _key(v)
        return equal if op == "==" else not equal
    version = _key(v)
    return {"<=": candidate <= version, ">=": candidate >= version,
            "<": candidate < version, ">": candidate > version}[op]


def _prefix_matches(candidate: tuple[int, int], epoch: int, prefix: tuple[int, ...]) -> bool:
    if epoch != 0:
        return False
    padded = candidate + (0,) * max(0, len(prefix) - len(candidate))
    return padded[:len(prefix)] == prefix


def _release(v: re.Match[str]) -> tuple[int, ...]:
    return tuple(int(n) for n in v.group("release").split("."))


def _trimmed(release: tuple[int, ...]) -> tuple[int, ...]:
    """Trailing zeros do not count: 3.9 == 3.9.0."""
    end = len(release)
    while end > 1 and release[end - 1] == 0:
        end -= 1
    return release[:end]


def _key(v: re.Match[str]) -> Key:
    """PEP 440's order: epoch, release, then .devN < aN < bN < rcN < final < .postN."""
    release = _trimmed(_release(v))
    pre_name, dev = v.group("pre"), v.group("dev")
    post_number = v.group("post_implicit") or (v.group("post_n") or "0" if v.group("post") else None)
    if pre_name:
        pre: tuple[float, int] = (_PRE_RANK[pre_name.lower()], int(v.group("pre_n") or 0))
    elif dev and post_number is None:
        pre = (-_INF, 0)  # 1.0.dev1 comes before 1.0a1
    else:
        pre = (_INF, 0)
    post = -_INF if post_number is None else float(post_number)
    dev_key = float(v.group("dev_n") or 0) if dev else _INF
    return (int(v.group("epoch") or 0), release, pre, post, dev_key)
