"""Libraries other wheels provide (provided-by): matching, links, RUNPATH, Requires-Dist, settings."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from manywheel._wrapper import elfedit, extlibs
from manywheel.check.elf import read_elf_file
from manywheel.check.provided import ProvidedNeed, parse_provided_by, required_names, uncovered
from manywheel.errors import SettingsError
from manywheel.policy import provided_key
from manywheel.repair.provided import ProvidedLibrary, find_provided, link_names, runpath_entries
from manywheel.settings import read_settings
from manywheel.wheel import install_path
from tests.common import wrapper_config

if TYPE_CHECKING:
    from manywheel._wrapper.config import WrapperConfig

TABLE = {"libcudart.so.13": "nvidia-cuda-runtime", "cublas*": "nvidia-cublas", "nccl": "nvidia-nccl"}


@pytest.mark.parametrize(("soname", "key"), [
    ("libcudart.so.13", "libcudart.so.13"), ("libcudart.so.12", None), ("libcublas.so.13", "cublas*"),
    ("libcublasLt.so.13", "cublas*"), ("libnccl.so.2", "nccl"), ("libnccl-net.so", None), ("libz.so.1", None)])
def test_a_key_names_needed_entries(soname: str, key: str | None) -> None:
    assert provided_key(TABLE, soname) == key


def _lib(file: str, dist: str = "nvidia-cuda-runtime") -> ProvidedLibrary:
    return ProvidedLibrary("cudart", dist, "13.5.37", file, Path("/env/site-packages") / file)


@pytest.mark.parametrize(("member", "expected"), [
    ("pkg/_core.cpython-311-x86_64-linux-gnu.so", ["$ORIGIN/../nvidia/cu13/lib"]),
    ("_top.so", ["$ORIGIN/nvidia/cu13/lib"]),
    ("pkg/sub/x.so", ["$ORIGIN/../../nvidia/cu13/lib"]),
    ("pkg-1.0.data/platlib/pkg/x.so", ["$ORIGIN/../nvidia/cu13/lib"])])
def test_runpath_reaches_the_providers_directory_from_the_module(member: str, expected: list[str]) -> None:
    provided = [_lib("nvidia/cu13/lib/libcudart.so.13")]
    assert runpath_entries(member, ["libc.so.6", "libcudart.so.13"], provided) == expected
    assert runpath_entries(member, ["libc.so.6"], provided) == []


def test_install_path_drops_the_data_directory() -> None:
    assert install_path("x-1.0.data/purelib/x/m.so") == "x/m.so" and install_path("x/m.so") == "x/m.so"


def test_the_wrapper_matches_file_and_link_names() -> None:
    names = link_names([_lib("nvidia/cu13/lib/libcudart.so.13")])
    assert names == {"libcudart.so.13": "/env/site-packages/nvidia/cu13/lib/libcudart.so.13",
                     "cudart": "/env/site-packages/nvidia/cu13/lib/libcudart.so.13"}


def _config(tmp_path: Path, search: list[Path], provided: dict[str, str], bundle_enabled: bool = True) -> WrapperConfig:
    return wrapper_config(tmp_path / "state", {
        "allowed": ["c", "m"], "static": [], "bundle": [], "exclude": [], "provided": provided,
        "bundle_enabled": bundle_enabled, "search_dirs": [str(d) for d in search], "openmp": None,
        "from_source": {}})


@pytest.fixture()
def provider(tmp_path: Path) -> Path:
    """A provider's install: libprov.so.3 only (no libprov.so for -lprov to find), real gcc."""
    d = tmp_path / "site" / "vendor" / "lib"
    d.mkdir(parents=True)
    (tmp_path / "p.c").write_text("int prov(void) { return 3; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libprov.so.3", "-o", str(d / "libprov.so.3"),
                    str(tmp_path / "p.c")], check=True)
    return d / "libprov.so.3"


def test_a_provided_library_is_linked_from_the_provider_and_gets_the_placeholder(tmp_path: Path, provider: Path) -> None:
    cfg = _config(tmp_path, [], {"libprov.so.3": str(provider), "prov": str(provider)})
    for given in (["-lprov"], ["-l", "prov"], ["-l:libprov.so.3"]):
        link = extlibs.rewrite_link(["-shared", "m.o", *given, "-o", "m.so"], cfg, True)
        assert link.args[2] == str(provider) and not link.bundled and not link.static and not link.notes, given
        assert link.args[-1] == "-Wl,-rpath," + elfedit.PLACEHOLDER
    # Found on the search path: left as written.
    args = extlibs.rewrite_link(["-shared", "-L", str(provider.parent), "-l:libprov.so.3"], cfg, True).args
    assert args[1:4] == ["-L", str(provider.parent), "-l:libprov.so.3"]
    # By path: left as written.  An editable build gets no placeholder (its module stays in the tree).
    args = extlibs.rewrite_link(["-shared", str(provider)], _config(tmp_path, [], {"prov": str(provider)}, False),
                                True).args
    assert args == ["-shared", str(provider)]


def test_an_archive_only_library_is_linked_statically_without_a_warning(tmp_path: Path) -> None:
    d = tmp_path / "lib"
    d.mkdir()
    (d / "s.c").write_text("int s(void) { return 1; }\n")
    subprocess.run(["gcc", "-c", "-fPIC", "-o", str(d / "s.o"), str(d / "s.c")], check=True)
    subprocess.run(["ar", "rcs", str(d / "libonly_static.a"), str(d / "s.o")], check=True)
    link = extlibs.rewrite_link(["-shared", "-lonly_static"], _config(tmp_path, [d], {}), True)
    assert link.static == [str(d / "libonly_static.a")] and link.notes == []


def _module_with_runpath(tmp_path: Path, provider: Path, rpath: str) -> Path:
    (tmp_path / "m.c").write_text("int prov(void); int f(void) { return prov(); }\n")
    out = tmp_path / "m.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(tmp_path / "m.c"), str(provider),
                    "-Wl,-rpath," + rpath], check=True)
    return out


@pytest.mark.parametrize(("rpath", "value", "expected"), [
    (elfedit.PLACEHOLDER, "$ORIGIN/../vendor/lib", ("$ORIGIN/../vendor/lib",)),
    (elfedit.PLACEHOLDER, "", ()),
    ("$ORIGIN/a:" + elfedit.PLACEHOLDER, "", ("$ORIGIN/a",)),
    (elfedit.PLACEHOLDER + ":$ORIGIN/b", "", ("$ORIGIN/b",)),
    (elfedit.PLACEHOLDER + ":$ORIGIN/b", "$ORIGIN/x:$ORIGIN/y", ("$ORIGIN/x", "$ORIGIN/y", "$ORIGIN/b"))])
def test_the_placeholder_is_filled_or_taken_out(tmp_path: Path, provider: Path, rpath: str, value: str,
                                                 expected: tuple[str, ...]) -> None:
    module = _module_with_runpath(tmp_path, provider, rpath)
    data = elfedit.fill_runpath(module.read_bytes(), value)
    assert len(data) == module.stat().st_size
    module.write_bytes(data)
    facts = read_elf_file(module)
    assert facts.runpath == expected and "libprov.so.3" in facts.needed
    if not expected:
        out = subprocess.run(["readelf", "-d", str(module)], capture_output=True, text=True, check=True).stdout
        assert "RUNPATH" not in out and "RPATH" not in out


def test_requires_dist_must_bring_the_provider_unconditionally() -> None:
    need = ProvidedNeed("pkg/m.so", "libcudart.so.13", "nvidia-cuda-runtime", ())
    assert required_names(["numpy>=1.20", "Nvidia_CUDA.Runtime ; python_version >= '3.8'",
                           "torch ; extra == 'gpu'", "!! not a requirement"]) == {"numpy", "nvidia-cuda-runtime"}
    assert uncovered([need], ["nvidia-cuda-runtime>=13,<14"]) == []
    assert uncovered([need], ["nvidia-cuda-runtime ; extra == 'cuda'"]) == [need]
    assert uncovered([need], []) == [need]


@pytest.mark.parametrize(("entries", "error"), [
    (["libcudart.so.13=nvidia-cuda-runtime"], None), (["libcudart.so.13"], "expected LIB=DIST"),
    (["=x"], "expected LIB=DIST")])
def test_check_option_parses(entries: list[str], error: str | None) -> None:
    if error is None:
        assert parse_provided_by(entries) == {"libcudart.so.13": "nvidia-cuda-runtime"}
    else:
        with pytest.raises(ValueError, match=error):
            parse_provided_by(entries)


@pytest.mark.parametrize(("table", "message"), [
    ({"libcudart.so.13": "nvidia cuda"}, "'nvidia cuda' (for 'libcudart.so.13') is not a distribution name"),
    ({"lib$x": "x"}, "'lib$x' is not a library name or glob"),
    ({"libcudart.so.13": 13}, "expected a table of strings")])
def test_bad_tables_are_refused(tmp_path: Path, table: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        read_settings(tmp_path, None, {}, {"tool": {"manywheel": {"provided-by": table}}})


def test_the_table_from_env_and_config_settings(tmp_path: Path) -> None:
    s = read_settings(tmp_path, {"manywheel.provided-by": "cudart=nvidia-cuda-runtime, cublas*=nvidia-cublas"},
                      {"MANYWHEEL_PROVIDED_BY": "nccl=nvidia-nccl"})
    assert dict(s.provided_by) == {"cudart": "nvidia-cuda-runtime", "cublas*": "nvidia-cublas"}
    s = read_settings(tmp_path, None, {"MANYWHEEL_PROVIDED_BY": "nccl=nvidia-nccl"})
    assert dict(s.provided_by) == {"nccl": "nvidia-nccl"} and s.sources["provided-by"].startswith("environment")
    with pytest.raises(SettingsError, match="in provided-by .* and in exclude"):
        read_settings(tmp_path, {"manywheel.provided-by": "cudart=x", "manywheel.exclude": "cudart"}, {})


def test_a_provider_must_be_installed_and_ship_the_library() -> None:
    with pytest.raises(SettingsError, match="no-such-dist-xyz is not installed in the build environment") as e:
        find_provided({"libfoo.so.1": "no-such-dist-xyz"})
    assert 'add "no-such-dist-xyz" to [build-system] requires' in (e.value.hint or "")
    # pyelftools is installed and ships no shared library.
    with pytest.raises(SettingsError, match=r"pyelftools .* installs no such library .*\(it has: no shared libraries\)"):
        find_provided({"libfoo.so.1": "pyelftools"})
