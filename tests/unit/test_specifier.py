"""manywheel's requires-python check (manywheel.matrix.specifier) against packaging's, the reference
implementation of PEP 440, on the same specifiers and CPython versions."""
from __future__ import annotations

import pytest
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from manywheel.matrix.specifier import python_allowed

PYTHONS = [(2, 7), (3, 0), (3, 6), (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13), (3, 14), (3, 15), (4, 0)]
VERSIONS = ["3", "3.9", "3.9.0", "3.9.1", "3.10", "3.10.0a1", "3.10.0rc2", "3.10.0b1.dev3", "3.10.dev0",
            "3.9.post1", "3.9-1", "3.9.0.post2.dev1", "3.10.0+local", "1!3.9", "v3.11", "3.11.0.0", "3.8c1",
            "3.10.0-rc.1", "3.9_post_2", "4", "2.7.18"]
OPERATORS = ["==", "!=", "<=", ">=", "<", ">", "~=", "==="]


def _reference(spec: str, python: tuple[int, int]) -> bool | None:
    try:
        return SpecifierSet(spec).contains(f"{python[0]}.{python[1]}", prereleases=True)
    except InvalidSpecifier:
        return None


def _ours(spec: str, python: tuple[int, int]) -> bool | None:
    try:
        return python_allowed(spec, *python)
    except ValueError:
        return None


# packaging takes ~='s prefix from the text as written, so a spelling other than the normal form
# ("v3.11", "3.8c1", "3.10.0-rc.1") gives it another prefix than PEP 440's; those are
# checked against PEP 440 below instead.
_NOT_NORMAL = {"v3.11", "3.8c1", "3.10.0-rc.1"}


def _clauses() -> list[str]:
    clauses = [f"{op}{v}" for op in OPERATORS for v in VERSIONS if not (op == "~=" and v in _NOT_NORMAL)]
    clauses += [f"{op}{v}.*" for op in ("==", "!=", ">=", "~=") for v in ("3", "3.9", "3.10", "3.9a1", "1!3")]
    clauses += [f"{op} {v}" for op in (">=", "<") for v in ("3.9", "3.12")]
    return clauses


@pytest.mark.parametrize("clause", _clauses())
def test_one_clause_decides_as_packaging_does(clause: str) -> None:
    for python in PYTHONS:
        assert _ours(clause, python) == _reference(clause, python), (clause, python)


@pytest.mark.parametrize("spec", [">=3.9", ">=3.8,<4", "!=3.0.*,!=3.1.*,!=3.2.*,>=2.7", ">=3.9, <3.14 ,",
                                  "~=3.10", "~=3.9.0", ">3.9,<=3.12,!=3.11", "", ">=3.9;", "3.9", ">=3.9 <3.12",
                                  ">= 3.10.*", "<3.13.0a1", "==3.*,!=3.9.*"])
def test_specifier_sets_decide_as_packaging_does(spec: str) -> None:
    for python in PYTHONS:
        assert _ours(spec, python) == _reference(spec, python), (spec, python)


def test_a_typical_requires_python() -> None:
    assert [p for p in PYTHONS if python_allowed(">=3.9,!=3.10.*", *p)] == [
        (3, 9), (3, 11), (3, 12), (3, 13), (3, 14), (3, 15), (4, 0)]
    with pytest.raises(ValueError, match="is not a version specifier"):
        python_allowed("3.9+", 3, 9)


def test_compatible_release_of_other_spellings_follows_pep_440() -> None:
    # ~=V is >=V together with ==(V's release without its last number).*
    assert [p for p in PYTHONS if python_allowed("~=v3.11", *p)] == [(3, 11), (3, 12), (3, 13), (3, 14), (3, 15)]
    assert [p for p in PYTHONS if python_allowed("~=3.8c1", *p)] == [p for p in PYTHONS if p[0] == 3 and p >= (3, 8)]
    assert [p for p in PYTHONS if python_allowed("~=3.10.0-rc.1", *p)] == [(3, 10)]
