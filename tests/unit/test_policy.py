"""Policy data: loaded, validated, and named by every accepted spelling."""
from __future__ import annotations

import pytest

from manywheel.errors import PolicyError
from manywheel.arches import ARCHES
from manywheel.policy import find_policy, load_policies


@pytest.mark.parametrize("arch", ["x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "ppc64", "riscv64"])
def test_every_arch_has_manylinux_policies_newer_allowing_more(arch: str) -> None:
    policies = [p for p in load_policies(arch) if p.family == "manylinux"]
    assert policies
    for older, newer in zip(policies, policies[1:]):
        assert older.libc_version < newer.libc_version
        assert older.libraries <= newer.libraries
        assert older.symbol_versions["GLIBC"] <= newer.symbol_versions["GLIBC"]


def test_musllinux_policies_exist() -> None:
    names = [p.name for p in load_policies("x86_64") if p.family == "musllinux"]
    assert names == ["musllinux_1_1", "musllinux_1_2"]


@pytest.mark.parametrize("name", ["manylinux_2_17", "manylinux2014", "manylinux2014_x86_64", "manylinux_2_17_x86_64"])
def test_aliases_resolve(name: str) -> None:
    p = find_policy(name, "x86_64")
    assert p.tag == "manylinux_2_17_x86_64.manylinux2014_x86_64"


@pytest.mark.parametrize("name, message", [
    ("manylinux_2_99", "no manylinux policy for glibc/musl 2.99"),
    ("manylinux2015", "unknown target 'manylinux2015'"),
    ("manylinux_2_17_aarch64", "is for aarch64, but this build is for x86_64"),
])
def test_unknown_targets_list_the_valid_ones(name: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as info:
        find_policy(name, "x86_64")
    assert "manylinux2014" in (info.value.hint or "") or "aarch64" in info.value.message


def test_x86_64_maxima_match_the_published_policies() -> None:
    maxima = {"manylinux_2_17": ("2.17", "3.4.19"), "manylinux_2_28": ("2.28", "3.4.24"),
              "manylinux_2_34": ("2.34", "3.4.29")}
    for name, (glibc, glibcxx) in maxima.items():
        p = find_policy(name, "x86_64")
        assert glibc in p.symbol_versions["GLIBC"]
        assert glibcxx in p.symbol_versions["GLIBCXX"]
    assert "2.18" not in find_policy("manylinux_2_17", "x86_64").symbol_versions["GLIBC"]
    assert set(ARCHES) >= {"x86_64", "riscv64"}
