"""The packaged glibc ABI record, checked against real glibc libraries and known facts."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerSymSection
from elftools.elf.sections import SymbolTableSection

from manywheel.glibc import abi as abi_module
from manywheel.arches import ARCHES
from manywheel.policy import LibcVersion, parse_version
from manywheel.glibc.abi import (
    AbiDataError,
    GlibcAbi,
    data_file,
    load_abi,
    read_abi_file,
)
from tests import oldroot
from tests.common import needs

V = LibcVersion
HOST_ROOT = Path("/")
BULLSEYE_ROOT = oldroot.default_root()
X86_SONAMES = (
    "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
    "libutil.so.1", "libanl.so.1", "libresolv.so.2", "ld-linux-x86-64.so.2",
)
Facts = dict[tuple[str, str, str], tuple[bool, int, bool]]  # (name, version, soname) -> (fn, size, weak)


def resolve_in_root(root: Path, path: Path) -> Path:
    """Follow symlinks as if ``root`` were ``/`` (a chroot's links may be absolute)."""
    for _ in range(40):
        if not path.is_symlink():
            return path
        target = Path(path.readlink())
        path = root / target.relative_to("/") if target.is_absolute() else path.parent / target
    raise OSError(f"symlink loop at {path}")


def glibc_release(root: Path) -> LibcVersion:
    libc = resolve_in_root(root, root / "lib/x86_64-linux-gnu/libc.so.6").read_bytes()
    m = re.search(rb"release version (\d+)\.(\d+)", libc)
    assert m, "libc.so.6 carries no release banner"
    return V(int(m[1]), int(m[2]))


def read_real_symbols(root: Path) -> Facts:
    """Every defined, public (GLIBC_x.y) versioned symbol of the root's glibc libraries."""
    facts: Facts = {}
    for soname in X86_SONAMES:
        path = resolve_in_root(root, root / "lib/x86_64-linux-gnu" / soname)
        with path.open("rb") as f:
            elf = ELFFile(f)
            verdef = elf.get_section_by_name(".gnu.version_d")
            versym = elf.get_section_by_name(".gnu.version")
            dynsym = elf.get_section_by_name(".dynsym")
            assert isinstance(verdef, GNUVerDefSection) and isinstance(versym, GNUVerSymSection)
            assert isinstance(dynsym, SymbolTableSection)
            nodes = {v["vd_ndx"]: next(aux).name for v, aux in verdef.iter_versions()}
            for i, sym in enumerate(dynsym.iter_symbols()):
                ndx = versym.get_symbol(i)["ndx"]
                if sym["st_shndx"] == "SHN_UNDEF" or isinstance(ndx, str):
                    continue
                node = nodes[ndx & 0x7FFF]
                if not re.fullmatch(r"GLIBC_\d+\.\d+(\.\d+)?", node) or sym.name == node:
                    continue  # GLIBC_PRIVATE, the soname, and the ABS version-name symbols
                kind = sym["st_info"]["type"]
                is_function = kind in ("STT_FUNC", "STT_GNU_IFUNC", "STT_LOOS")
                size = 0 if is_function else sym["st_size"]
                facts[(sym.name, node, soname)] = (is_function, size, sym["st_info"]["bind"] == "STB_WEAK")
    return facts


def record_facts(abi: GlibcAbi, target: LibcVersion) -> Facts:
    return {
        (s.name, s.version, lib): (s.is_function, s.size, s.weak)
        for lib, symbols in abi.symbols_at(target).items()
        for s in symbols
    }


def describe(keys: set[tuple[str, str, str]]) -> list[str]:
    return [f"{name}@{version} in {lib}" for name, version, lib in sorted(keys)]


@pytest.fixture(scope="module")
def x86() -> GlibcAbi:
    return load_abi("x86_64")


# ------------------------------------------------------------ real libraries


def check_against_root(abi: GlibcAbi, root: Path) -> None:
    release = glibc_release(root)
    real = read_real_symbols(root)
    recorded = record_facts(abi, release)
    # No exceptions are needed: the generator reconciles the record with these very
    # libraries (bullseye 2.31 and bookworm 2.36), so any difference is a regression.
    assert describe(set(real) - set(recorded)) == [], f"in glibc {release} but not in the record"
    assert describe(set(recorded) - set(real)) == [], f"in the record but not in glibc {release}"
    wrong = [f"{k}: record {recorded[k]}, real {real[k]}" for k in sorted(real) if real[k] != recorded[k]]
    assert wrong == [], "kind, size or binding differ"


@pytest.mark.skipif(
    not (HOST_ROOT / "lib/x86_64-linux-gnu/libc.so.6").exists(),
    reason="this host has no x86_64 glibc in /lib/x86_64-linux-gnu",
)
def test_record_matches_host_glibc(x86: GlibcAbi) -> None:
    check_against_root(x86, HOST_ROOT)


@pytest.mark.oldglibc
@needs(oldroot.find_root(), f"no Debian bullseye root (glibc 2.31) at {BULLSEYE_ROOT}: run tools/oldroot.sh (as root)")
def test_record_matches_bullseye_glibc(x86: GlibcAbi) -> None:
    check_against_root(x86, BULLSEYE_ROOT)


# ------------------------------------------------------------ known facts


def test_memcpy_versions(x86: GlibcAbi) -> None:
    assert x86.exists("memcpy", "GLIBC_2.2.5") and x86.exists("memcpy", "GLIBC_2.14")
    assert not x86.exists("memcpy", "GLIBC_2.17")
    assert_default(x86, "memcpy", V(2, 17), "GLIBC_2.14", "libc.so.6")
    assert_default(x86, "memcpy", V(2, 13), "GLIBC_2.2.5", "libc.so.6")


@pytest.mark.parametrize(
    ("name", "oldest"),
    [
        ("getrandom", "GLIBC_2.25"),
        ("getentropy", "GLIBC_2.25"),
        ("reallocarray", "GLIBC_2.26"),
        ("fcntl64", "GLIBC_2.28"),
        ("stat64", "GLIBC_2.33"),
        ("_dl_find_object", "GLIBC_2.35"),
        ("pthread_create", "GLIBC_2.2.5"),
        ("memcpy", "GLIBC_2.2.5"),
    ],
)
def test_oldest_version(x86: GlibcAbi, name: str, oldest: str) -> None:
    found = x86.oldest(name)
    assert found is not None and found.version == oldest
    first = parse_version(oldest)
    assert x86.default_version(name, V(first.major, first.minor - 1)) is None
    assert x86.default_version(name, first) is not None


@pytest.mark.parametrize(
    ("name", "version", "target", "library"),
    [
        # moved into libc in glibc 2.34: the old library until then
        ("pthread_create", "GLIBC_2.2.5", V(2, 17), "libpthread.so.0"),
        ("pthread_create", "GLIBC_2.2.5", V(2, 33), "libpthread.so.0"),
        ("pthread_create", "GLIBC_2.2.5", V(2, 34), "libc.so.6"),
        ("pthread_create", "GLIBC_2.34", V(2, 34), "libc.so.6"),
        ("__pthread_mutex_lock", "GLIBC_2.2.5", V(2, 17), "libpthread.so.0"),
        ("__pthread_mutex_lock", "GLIBC_2.2.5", V(2, 35), "libc.so.6"),
        ("pthread_sigmask", "GLIBC_2.2.5", V(2, 17), "libpthread.so.0"),
        ("pthread_sigmask", "GLIBC_2.32", V(2, 32), "libc.so.6"),
        ("dlopen", "GLIBC_2.2.5", V(2, 17), "libdl.so.2"),
        ("shm_open", "GLIBC_2.2.5", V(2, 17), "librt.so.1"),
        ("forkpty", "GLIBC_2.2.5", V(2, 17), "libutil.so.1"),
        ("getaddrinfo_a", "GLIBC_2.2.5", V(2, 17), "libanl.so.1"),
        ("__res_query", "GLIBC_2.2.5", V(2, 17), "libresolv.so.2"),
        ("__res_query", "GLIBC_2.2.5", V(2, 34), "libc.so.6"),
        ("ns_name_pton", "GLIBC_2.9", V(2, 17), "libresolv.so.2"),
        # __res_init was always libc's; libresolv kept symbols that did not move
        ("__res_init", "GLIBC_2.2.5", V(2, 17), "libc.so.6"),
        ("res_gethostbyname", "GLIBC_2.2.5", V(2, 36), "libresolv.so.2"),
        # clock_* left librt for libc before 2.31
        ("clock_gettime", "GLIBC_2.2.5", V(2, 16), "librt.so.1"),
        ("clock_gettime", "GLIBC_2.17", V(2, 17), "libc.so.6"),
        ("clock_gettime", "GLIBC_2.2.5", V(2, 31), "libc.so.6"),
    ],
)
def test_library_at_target(x86: GlibcAbi, name: str, version: str, target: LibcVersion, library: str) -> None:
    holders = [lib for lib, syms in x86.symbols_at(target).items() if any(
        s.name == name and s.version == version for s in syms
    )]
    assert holders == [library]


def test_pthread_create_defaults(x86: GlibcAbi) -> None:
    assert_default(x86, "pthread_create", V(2, 17), "GLIBC_2.2.5", "libpthread.so.0")
    assert_default(x86, "pthread_create", V(2, 34), "GLIBC_2.34", "libc.so.6")
    assert_default(x86, "pthread_sigmask", V(2, 33), "GLIBC_2.32", "libc.so.6")


def test_moved_in_2_34(x86: GlibcAbi) -> None:
    """The design notes count about 247 (symbol, version) pairs that moved into libc."""
    at_33, at_34 = record_facts(x86, V(2, 33)), record_facts(x86, V(2, 34))
    in_libc = {(n, v) for n, v, lib in at_34 if lib == "libc.so.6"}
    moved = {(n, v, lib) for n, v, lib in at_33 if lib != "libc.so.6" and (n, v, lib) not in at_34
             and (n, v) in in_libc and (n, v, "libc.so.6") not in at_33}
    assert len(moved) == 247
    assert {lib for _, _, lib in moved} == {
        "libpthread.so.0", "librt.so.1", "libdl.so.2", "libutil.so.1", "libanl.so.1", "libresolv.so.2"
    }


def test_duplicated_symbols_prefer_libc(x86: GlibcAbi) -> None:
    # libpthread carried its own cancellable fcntl, libm its own copysign; libc's comes first
    assert_default(x86, "fcntl", V(2, 17), "GLIBC_2.2.5", "libc.so.6")
    holders = {lib for lib, syms in x86.symbols_at(V(2, 17)).items() if any(s.name == "copysign" for s in syms)}
    assert holders == {"libc.so.6", "libm.so.6"}


def test_objects_and_binding(x86: GlibcAbi) -> None:
    environ = x86.default_version("environ", V(2, 17))
    assert environ is not None and not environ.is_function and environ.size == 8 and environ.weak
    create = x86.default_version("pthread_create", V(2, 17))
    assert create is not None and create.is_function and create.size == 0 and not create.weak


def test_version_nodes(x86: GlibcAbi) -> None:
    assert x86.version_nodes("libpthread.so.0", V(2, 17)) == [
        "GLIBC_2.2.5", "GLIBC_2.2.6", "GLIBC_2.3.2", "GLIBC_2.3.3", "GLIBC_2.3.4",
        "GLIBC_2.4", "GLIBC_2.11", "GLIBC_2.12",
    ]
    # emptied in 2.34, the nodes stay (with placeholder symbols)
    after = x86.version_nodes("libpthread.so.0", V(2, 36))
    assert after[0] == "GLIBC_2.2.5" and after[-1] == "GLIBC_2.31" and len(after) == 12
    libc = x86.version_nodes("libc.so.6", V(2, 17))
    assert libc[0] == "GLIBC_2.2.5" and libc[-1] == "GLIBC_2.17"
    assert all(parse_version(n) <= V(2, 17) for n in libc)
    assert x86.marker_nodes("libc.so.6", V(2, 36)) == ["GLIBC_ABI_DT_RELR"]
    assert x86.marker_nodes("libc.so.6", V(2, 35)) == []
    with pytest.raises(ValueError, match="libfoo.so.1"):
        x86.version_nodes("libfoo.so.1", V(2, 17))


def test_versions_are_ordered(x86: GlibcAbi) -> None:
    versions = x86.versions()
    parsed = [parse_version(v) for v in versions]
    assert parsed == sorted(parsed) and versions[0] == "GLIBC_2.2.5"
    assert "GLIBC_2.17" in versions and "GLIBC_PRIVATE" not in versions


def test_symbols_at_returns_copies(x86: GlibcAbi) -> None:
    first = x86.symbols_at(V(2, 17))
    count = len(first["libc.so.6"])
    first["libc.so.6"].clear()
    assert len(x86.symbols_at(V(2, 17))["libc.so.6"]) == count


def test_counts_at_2_17(x86: GlibcAbi, capsys: pytest.CaptureFixture[str]) -> None:
    counts = {lib: len(syms) for lib, syms in x86.symbols_at(V(2, 17)).items()}
    with capsys.disabled():
        print("\nx86_64 symbols at glibc 2.17:", counts)
    assert counts["libpthread.so.0"] > 200 and counts["libc.so.6"] > 2000


def assert_default(abi: GlibcAbi, name: str, target: LibcVersion, version: str, library: str) -> None:
    found = abi.default_version(name, target)
    assert found is not None, f"{name} missing at {target}"
    assert (found.version, found.library) == (version, library)


# ------------------------------------------------------------ every arch


@pytest.mark.parametrize("arch", ARCHES)
def test_every_arch_loads(arch: str) -> None:
    abi = load_abi(arch)
    assert abi.arch == arch and abi.source.startswith("ziglang ")
    base = abi.oldest("memcpy")
    assert base is not None and base.library == "libc.so.6"
    create = abi.oldest("pthread_create")
    assert create is not None
    first = create.glibc_version
    if first < V(2, 34):
        assert create.library == "libpthread.so.0"
        at_34 = abi.symbols_at(V(2, 34))
        assert any(s.name == "pthread_create" and s.version == create.version for s in at_34["libc.so.6"])
        assert abi.version_nodes("libpthread.so.0", V(2, 34)), "emptied libpthread keeps its nodes"
    else:  # loongarch64 started after the merge
        assert create.library == "libc.so.6"
    for lib, symbols in abi.symbols_at(V(2, 40)).items():
        pairs = [(s.name, s.version) for s in symbols]
        assert len(pairs) == len(set(pairs)), f"{arch} {lib} holds a symbol version twice"


def test_each_record_is_read_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_abi's promise: however many files a check or build judges, each record is parsed once."""
    read: list[str] = []
    parse = abi_module.parse_abi

    def counting_parse(raw: bytes, arch: str, where: str) -> GlibcAbi:
        read.append(arch)
        return parse(raw, arch, where)

    monkeypatch.setattr(abi_module, "parse_abi", counting_parse)
    load_abi.cache_clear()
    first = load_abi("x86_64")
    assert load_abi("x86_64") is first
    other = load_abi("aarch64")
    assert other is not first and other.arch == "aarch64"
    assert load_abi("aarch64") is other and load_abi("x86_64") is first
    assert read == ["x86_64", "aarch64"]


# ------------------------------------------------------------ versions and bad data


@pytest.mark.parametrize(
    ("text", "expected"),
    [("GLIBC_2.2.5", V(2, 2, 5)), ("2.17", V(2, 17, 0)), ("2_28", V(2, 28)), ("GLIBC_2.34", V(2, 34))],
)
def test_parse_version(text: str, expected: LibcVersion) -> None:
    assert parse_version(text) == expected
    assert parse_version(expected.node) == expected


@pytest.mark.parametrize("text", ["GLIBC_PRIVATE", "2", "", "GLIBCXX_3.4", "2.17.x"])
def test_parse_version_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_version(text)


def test_versions_compare_as_tuples() -> None:
    assert V(2, 2, 5) < V(2, 17) < V(2, 28) < V(2, 100)
    assert str(V(2, 2, 5)) == "2.2.5" and V(2, 17).node == "GLIBC_2.17"


def _packaged_doc() -> dict[str, Any]:
    path = Path(abi_module.__file__).parent / "data" / data_file("x86_64")
    doc: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
    return doc


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc.__setitem__(key, value)


def _row(index: int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        doc["symbols"][0][index] = value
    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("format", "something-else/9"), "format is 'something-else/9'"),
        (_set("arch", "aarch64"), "holds arch 'aarch64', expected 'x86_64'"),
        (_set("versions", ["GLIBC_2.17", "GLIBC_2.2.5"]), "not strictly ascending"),
        (_set("versions", ["GLIBC_PRIVATE"]), "bad entry in 'versions'"),
        (_set("libraries", None), "'libraries' is missing"),
        (_set("symbols", []), "'symbols' is missing or empty"),
        (_row(1, 10_000), "bad symbol rows"),
        (_row(2, "libc.so.6"), "bad symbol rows"),
        (_row(6, "2.0"), "held until 2.0"),
        (_set("markers", [["libfoo.so.1", "GLIBC_ABI_DT_RELR", "2.36"]]), "bad 'markers' entry"),
    ],
)
def test_corrupt_record(tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str) -> None:
    doc = _packaged_doc()
    change(doc)
    path = tmp_path / "glibc-abi-x86_64.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    with pytest.raises(AbiDataError, match=re.escape(message)) as info:
        read_abi_file(path, "x86_64")
    assert str(path) in str(info.value)


def test_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "glibc-abi-x86_64.json.gz"
    path.write_bytes(b"{not gzip}")
    with pytest.raises(AbiDataError, match="not gzip-compressed JSON") as info:
        read_abi_file(path, "x86_64")
    assert info.value.path == str(path)


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(AbiDataError, match="cannot be read") as info:
        read_abi_file(tmp_path / "nothing.json.gz", "x86_64")
    assert "nothing.json.gz" in str(info.value)
    with pytest.raises(AbiDataError, match="no record for arch 'sparc64'") as info:
        load_abi("sparc64")
    assert "glibc-abi-sparc64.json.gz" in str(info.value)


def test_packaged_record_round_trips(tmp_path: Path, x86: GlibcAbi) -> None:
    path = tmp_path / "copy.json.gz"
    path.write_bytes(gzip.compress(json.dumps(_packaged_doc()).encode()))
    again = read_abi_file(path, "x86_64")
    assert record_facts(again, V(2, 17)) == record_facts(x86, V(2, 17))
