"""tests/integration/helpers.tags_agree, the judge of manywheel's tag against auditwheel's, can say no."""
from __future__ import annotations

import pytest

from manywheel.errors import PolicyError
from tests.integration.helpers import tags_agree


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("manylinux_2_17_x86_64", "manylinux_2_17_x86_64"),
        ("manylinux_2_17_x86_64.manylinux2014_x86_64", "manylinux_2_17_x86_64"),
        ("manylinux_2_17_x86_64", "manylinux2014_x86_64"),
        # a target above what the files need: auditwheel finds them more compatible
        ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64"),
        ("musllinux_1_2_x86_64", "musllinux_1_1_x86_64"),
        # neither finds a policy the files meet
        ("linux_x86_64", "linux_x86_64"),
    ],
)
def test_agreeing_tags(ours: str, theirs: str) -> None:
    assert tags_agree(ours, theirs)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        # manywheel promises more than auditwheel finds
        ("manylinux_2_17_x86_64", "manylinux_2_28_x86_64"),
        ("manylinux_2_17_x86_64.manylinux2014_x86_64", "manylinux_2_34_x86_64"),
        ("manylinux_2_17_x86_64", "linux_x86_64"),
        # manywheel found no policy, auditwheel found one
        ("linux_x86_64", "manylinux_2_17_x86_64"),
        ("linux_x86_64", "manylinux_2_5_x86_64"),
        ("linux_x86_64", "musllinux_1_2_x86_64"),
        ("linux_x86_64", "linux_aarch64"),
        # another libc: musl 1.1 is no glibc 2.17
        ("musllinux_1_1_x86_64", "manylinux_2_17_x86_64"),
        ("manylinux_2_17_x86_64", "musllinux_1_1_x86_64"),
    ],
)
def test_disagreeing_tags(ours: str, theirs: str) -> None:
    assert not tags_agree(ours, theirs)


def test_an_unknown_tag_is_an_error_not_an_answer() -> None:
    with pytest.raises(PolicyError, match="glibc/musl 2.99"):
        tags_agree("manylinux_2_17_x86_64", "manylinux_2_99_x86_64")
