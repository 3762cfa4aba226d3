"""Who can install a policy's wheels: the oldest pip, the reference and the installable distributions."""
from __future__ import annotations

import datetime

import pytest

from manywheel.lifecycle import (Distribution, distributions, installable_on, oldest_pip, reference_distributions,
                                  sources)
from manywheel.policy import LibcVersion, find_policy


def names(dists: list[Distribution]) -> list[str]:
    return [d.name for d in dists]


@pytest.mark.parametrize(("policy", "pip"), [
    ("manylinux1", "8.1"),
    ("manylinux_2_5", "8.1"),
    ("manylinux2010", "19.0"),
    ("manylinux2014", "19.3"),
    ("manylinux_2_17", "19.3"),
    ("manylinux_2_24", "20.3"),
    ("manylinux_2_28", "20.3"),
    ("musllinux_1_1", "21.2"),
    ("musllinux_1_2", "21.2"),
])
def test_oldest_pip_is_that_of_the_most_compatible_tag(policy: str, pip: str) -> None:
    assert oldest_pip(find_policy(policy, "x86_64")) == pip


def test_reference_distributions_have_exactly_the_policy_libc() -> None:
    assert names(reference_distributions(find_policy("manylinux_2_17", "x86_64"))) == ["CentOS 7 / RHEL 7"]
    assert names(reference_distributions(find_policy("manylinux_2_28", "x86_64"))) == [
        "RHEL 8 / AlmaLinux 8 / Rocky 8", "Debian 10 (buster)"]
    assert names(reference_distributions(find_policy("musllinux_1_2", "x86_64"))) == ["Alpine Linux 3.13 and later"]


def test_installable_on_has_every_newer_libc_of_the_same_family() -> None:
    policy = find_policy("manylinux_2_26", "x86_64")
    dists = installable_on(policy)
    assert "Amazon Linux 2" in names(dists)
    assert "CentOS 7 / RHEL 7" not in names(dists) and "Debian 9 (stretch)" not in names(dists)
    assert all(d.libc == "glibc" and d.version >= LibcVersion(2, 26) for d in dists)
    assert not any(d.name.startswith("Alpine") for d in dists)
    musl = installable_on(find_policy("musllinux_1_1", "x86_64"))
    assert names(musl) == ["Alpine Linux 3.12", "Alpine Linux 3.13 and later"]


def test_the_oldest_policy_installs_on_every_glibc_distribution() -> None:
    glibc = [d for d in distributions() if d.libc == "glibc"]
    assert installable_on(find_policy("manylinux1", "x86_64")) == glibc
    assert len(glibc) > 10


@pytest.mark.parametrize(("today", "ended"), [
    (datetime.date(2024, 6, 29), False),
    (datetime.date(2024, 6, 30), False),  # supported through its last day
    (datetime.date(2024, 7, 1), True),
    (datetime.date(2030, 1, 1), True),
])
def test_a_distribution_ends_after_its_end_of_life(today: datetime.date, ended: bool) -> None:
    centos7 = next(d for d in distributions() if d.name == "CentOS 7 / RHEL 7")
    assert centos7.eol == "2024-06-30"
    assert centos7.ended(today) is ended


def test_a_distribution_without_a_recorded_end_never_ends() -> None:
    open_ended = Distribution("Example Linux", "glibc", LibcVersion(2, 39), None)
    assert open_ended.ended(datetime.date(2999, 12, 31)) is False
    recorded = [d for d in distributions() if d.eol is None]
    assert recorded and not any(d.ended(datetime.date(2100, 1, 1)) for d in recorded)


def test_the_facts_name_their_sources() -> None:
    found = sources()
    assert set(found) == {"pip", "distributions"}
    assert all(text.strip() for text in found.values())
    assert "PEP 600" in found["pip"]
