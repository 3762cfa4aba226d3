"""The glibc shims built by Debian's cross compilers, one architecture at a time.

Compile and link only, against each cross toolchain's own glibc (2.36): the archive builds,
every member defines its symbols hidden and references no glibc version newer than the
target, a library using every shim needs nothing newer, and the C check library links with
nothing newer either. Running the checks needs an emulator: tests/integration/test_shims_cross.py.
An architecture whose cross compiler is not installed is skipped, naming the packages; under CI
that fails for the architectures whose compilers tools/test.sh installs (those of tests/crossroot.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.glibc import shims
from manywheel.glibc.shims import build_shim_archive

from tests import crossroot
from tests.common import skip_missing
from tests.shimcheck import (
    HOST, Toolchain, check_every_shim_library, check_member_references, check_members_hidden,
    cross_toolchain, dynamic_needed, link_c_checks, link_every_shim, needed_versions, symbols,
    too_new,
)  # fmt: skip

CROSS_ARCHES = [arch for arch in shims.SUPPORTED_ARCHES if arch != HOST.arch]


@pytest.fixture(scope="module", params=CROSS_ARCHES)
def tools(request: pytest.FixtureRequest) -> Toolchain:
    found = cross_toolchain(request.param)
    reason = found.missing()
    if reason is not None and request.param in crossroot.ARCHES:
        skip_missing(reason)
    if reason is not None:
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def archive(tools: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp(f"shims-{tools.arch}")
    return build_shim_archive([tools.cc], tools.ar, workdir, tools.target, tools.arch, ["-g0"])


def test_members_define_their_symbols_hidden(tools: Toolchain, archive: Path, tmp_path: Path) -> None:
    assert check_members_hidden(archive, tmp_path / "x", tools) == []


def test_members_reference_no_new_glibc_version(tools: Toolchain, archive: Path, tmp_path: Path) -> None:
    assert check_member_references(archive, tmp_path / "x", tools) == []


def test_every_shim_links_with_old_versions_only(tools: Toolchain, archive: Path, tmp_path: Path) -> None:
    """Linked against the cross toolchain's glibc 2.36: whatever the shims call without a pin
    (fcntl on 32-bit arches would be fcntl@GLIBC_2.28) shows here."""
    assert check_every_shim_library(link_every_shim(archive, tmp_path, tools), tools) == []


def test_c_checks_link_with_old_versions_only(tools: Toolchain, archive: Path, tmp_path: Path) -> None:
    lib = link_c_checks(archive, tmp_path / "libshimcheck.so", tools)
    shimmed = shims.shimmed_symbols(tools.target, tools.arch)
    assert [s[0] for s in symbols(lib, ".dynsym") if s[0] in shimmed] == []
    assert too_new(needed_versions(lib), tools.target) == []
    assert "libgcc_s.so.1" not in dynamic_needed(lib)

