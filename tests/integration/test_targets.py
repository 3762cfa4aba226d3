"""Every manylinux target from 2_17 up to the host's glibc, pinned and verified."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from manywheel.policy import find_policy
from manywheel.check.scan import facts_of_path

from tests.common import EXAMPLE, copy_project
from tests.integration.helpers import assert_auditwheel_agrees, only_wheel, pip_wheel, platform_tag

pytestmark = pytest.mark.slow
HOST = tuple(int(x) for x in os.confstr("CS_GNU_LIBC_VERSION").split()[1].split(".")[:2])  # type: ignore[union-attr]
TARGETS = [t for t in ("manylinux_2_17", "manylinux_2_24", "manylinux_2_27", "manylinux_2_28", "manylinux_2_31",
                       "manylinux_2_34", "manylinux_2_35", "manylinux_2_36")
           if tuple(int(x) for x in t.split("_")[1:3]) <= HOST]


@pytest.mark.parametrize("target", TARGETS)
def test_example_project_at_each_target(tmp_path: Path, build_env: dict[str, str], target: str) -> None:
    out = tmp_path / "dist"
    pip_wheel(copy_project(EXAMPLE, tmp_path), out, build_env, "-C", f"manywheel.target={target}")
    wheel = only_wheel(out)
    policy = find_policy(target, "x86_64")
    assert platform_tag(wheel) == policy.tag
    assert_auditwheel_agrees(wheel)
    limit = tuple(policy.libc_version)
    for facts in facts_of_path(wheel):
        for ref in facts.versioned_refs:
            if ref.version.startswith("GLIBC_2."):
                assert tuple(int(x) for x in ref.version[6:].split(".")[:2]) <= limit, f"{ref.name}@{ref.version}"
