"""Find the ELF files of a wheel, a directory or a single file and read their facts.

A wheel is read without extracting it: every member's first bytes are decompressed to
see whether it is an ELF file, and an ELF member is decompressed as a stream only as far
as its facts need (the dynamic section of a large library usually sits far into it,
its symbol tables near the start), on a few threads, since zlib works outside the GIL.
"""
from __future__ import annotations

import email.parser
import importlib
import os
import re
import struct
import zipfile
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, Iterable, Iterator

from .elf import ELF_MAGIC, ByteStream, ElfFacts, TruncatedData, read_elf_bytes, read_elf_file, read_elf_streamed
from ..errors import ElfError, WheelError
from ..wheel import Member, check_member_names



def _load_inflater() -> ModuleType:
    """ISA-L's zlib-compatible inflate (about twice as fast as zlib's) if installed (pip install isal), else zlib."""
    try:
        return importlib.import_module("isal.isal_zlib")
    except ImportError:
        return zlib


_inflate_module = _load_inflater()
INFLATER = _inflate_module.__name__
_INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, _inflate_module.error)
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., file name length, extra field length
_STORED, _DEFLATED = 0, 8
_LARGE, _WINDOW = 1 << 20, 1 << 20
_SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")
# Sources, headers, text and metadata: never loaded as ELF files, and most of a big wheel's members
# (auditwheel, too, looks at no .py file).
_NEVER_ELF = re.compile(r"\.(py|pyi|pyc|pyx|pxd|pxi|h|hh|hpp|hxx|cuh|inl|c|cc|cpp|cxx|cu|txt|md|rst|json|toml|yaml|yml"
                        r"|cfg|ini|typed|html|css|js|csv)$|\.dist-info/[^/]+$")
# PEP 770: a wheel's software bills of materials, read whole (they are small) while the wheel is open.
SBOM_MEMBER = re.compile(r"^[^/]+\.dist-info/sboms/[^/]+\.json$")
METADATA_MEMBER = re.compile(r"^[^/]+\.dist-info/METADATA$")
_INPUT_BLOCK = 1 << 16
_SKIP_INPUT, _SKIP_OUTPUT = 1 << 20, 8 << 20


@dataclass(frozen=True)
class Scan:
    """The ELF facts of one path, and how much had to be read to get them."""

    facts: list[ElfFacts]
    members: int  # files looked at (zip members or directory entries)
    size: int  # their total (uncompressed) size
    read: int  # bytes of them actually read (decompressed)
    sboms: tuple[tuple[str, bytes], ...] = ()  # (member, content) of each SBOM file, by member name
    requires_dist: tuple[str, ...] | None = None  # a wheel's Requires-Dist entries; None: not a wheel


def requires_dist_of(metadata: bytes) -> tuple[str, ...]:
    """The Requires-Dist entries of a METADATA file (core metadata: email-header fields)."""
    message = email.parser.BytesHeaderParser().parsebytes(metadata)
    return tuple(message.get_all("Requires-Dist") or ())


def facts_of_members(members: Iterable[Member]) -> list[ElfFacts]:
    return [read_elf_bytes(m.data, m.name) for m in members if m.data[:4] == ELF_MAGIC]


def facts_of_path(path: Path) -> list[ElfFacts]:
    """Every ELF file in a wheel, below a directory, or the file itself."""
    return scan_path(path).facts


def scan_path(path: Path, workers: int | None = None) -> Scan:
    """Every ELF file in a wheel, below a directory, or the file itself, with what reading cost."""
    if path.is_dir():
        return _scan_directory(path)
    if path.suffix == ".whl" or zipfile.is_zipfile(path):
        return _scan_zip(path, workers or min(4, os.cpu_count() or 1))
    size = path.stat().st_size
    return Scan([read_elf_file(path, path.name)], 1, size, size)


def _scan_directory(path: Path) -> Scan:
    facts = []
    sboms = []
    count = total = 0
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = Path(root) / name
            if full.is_symlink() or not full.is_file():
                continue
            count += 1
            total += full.stat().st_size
            if SBOM_MEMBER.match(full.relative_to(path).as_posix()):
                sboms.append((full.relative_to(path).as_posix(), full.read_bytes()))
                continue
            with open(full, "rb") as f:
                if f.read(4) != ELF_MAGIC:
                    continue
            facts.append(read_elf_file(full, str(full.relative_to(path))))
    return Scan(facts, count, total, total, tuple(sorted(sboms)))


def _scan_zip(path: Path, workers: int) -> Scan:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            check_member_names(path.name, [(i.filename, i.external_attr) for i in infos])
            with open(path, "rb") as f, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                archive = _Archive(path, zf, f.fileno())
                # Large members first, so the longest stream starts at once while the rest is looked at;
                # the small ones in file order, many to a read.
                candidates = [i for i in infos if not _NEVER_ELF.search(i.filename)]
                large = sorted((i for i in candidates if i.file_size >= _LARGE), key=lambda i: -i.file_size)
                small = sorted((i for i in candidates if i.file_size < _LARGE), key=lambda i: i.header_offset)
                futures = {i.filename: pool.submit(archive.facts, i) for i in large if archive.is_elf(i, archive.head(i))}
                futures.update((i.filename, pool.submit(archive.facts, i))
                               for i, head in archive.heads(small) if archive.is_elf(i, head))
                facts = [futures[i.filename].result() for i in infos if i.filename in futures]
            sboms = tuple(sorted((i.filename, zf.read(i)) for i in infos if SBOM_MEMBER.match(i.filename)))
            metadata = next((zf.read(i) for i in infos if METADATA_MEMBER.match(i.filename)), None)
            return Scan(facts, len(infos), sum(i.file_size for i in infos), sum(t.n for t in archive.tallies), sboms,
                        None if metadata is None else requires_dist_of(metadata))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) + _INFLATE_ERRORS as e:
        raise WheelError(f"cannot read {path} as a wheel (zip archive): {e}") from e
    except OSError as e:
        raise WheelError(f"cannot read {path}: {e.strerror or e}") from e


class _Archive:
    """Raw access to the members of one zip file, safe to share between threads (os.pread)."""

    def __init__(self, path: Path, zf: zipfile.ZipFile, fd: int) -> None:
        self.path = path
        self.zf = zf
        self.fd = fd
        self.tallies: list[_Tally] = []  # bytes decompressed, one per stream

    def data_offset(self, info: zipfile.ZipInfo, header: bytes | None = None) -> int:
        """Where the member's data starts: after its local header (read now unless given)."""
        if header is None or len(header) < _LOCAL_HEADER.size:
            header = os.pread(self.fd, _LOCAL_HEADER.size, info.header_offset)
        if len(header) < _LOCAL_HEADER.size:
            raise WheelError(f"cannot read {self.path} as a wheel: the local header of {info.filename} "
                             f"lies past the end of the file (a truncated wheel?)")
        signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(header)
        if signature != b"PK\x03\x04":
            raise WheelError(f"cannot read {self.path} as a wheel: no local header where the directory "
                             f"places {info.filename}")
        offset: int = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
        return offset

    def head(self, info: zipfile.ZipInfo) -> bytes:
        """The member's first 4 bytes (fewer if it is shorter)."""
        return self.open(info).read(4) if info.file_size else b""

    def heads(self, infos: list[zipfile.ZipInfo]) -> Iterator[tuple[zipfile.ZipInfo, bytes]]:
        """The first 4 bytes of each of ``infos`` (in file order), reading the file a window at a time."""
        window, at = b"", 0
        for info in infos:
            if not info.file_size:
                yield info, b""
                continue
            need = _LOCAL_HEADER.size + len(info.orig_filename.encode()) + 256 + 64
            if not (at <= info.header_offset and info.header_offset + need <= at + len(window)):
                at, window = info.header_offset, os.pread(self.fd, _WINDOW, info.header_offset)
            local = window[info.header_offset - at:]
            start = self.data_offset(info, local)
            data = window[start - at:start - at + min(info.compress_size, 256)]
            if info.flag_bits & 0x1 or info.compress_type not in (_STORED, _DEFLATED) or len(data) < min(info.compress_size, 256):
                yield info, self.head(info)
            elif info.compress_type == _STORED:
                yield info, data[:4]
            else:
                try:
                    yield info, zlib.decompressobj(-15).decompress(data, 4)
                except zlib.error:
                    yield info, self.head(info)  # let the full stream report it

    def is_elf(self, info: zipfile.ZipInfo, head: bytes) -> bool:
        """Whether a member starting with ``head`` is an ELF file; one named like a shared object must be."""
        if head == ELF_MAGIC:
            return True
        if len(head) < 4 and info.file_size >= 4 and info.compress_type == _DEFLATED:
            head = self.head(info)  # 256 compressed bytes did not give 4: a rare, elaborate first block
            if head == ELF_MAGIC:
                return True
        if _SHARED_OBJECT.search(info.filename):
            raise ElfError(info.filename, f"named like a shared object, but not an ELF file "
                                          f"({'empty' if not head else f'starts with {head!r}'})")
        return False

    def open(self, info: zipfile.ZipInfo) -> ByteStream:
        """The member's bytes, from its start."""
        if info.flag_bits & 0x1:
            raise WheelError(f"cannot read {self.path}: {info.filename} is encrypted")
        start = self.data_offset(info)
        if info.compress_type == _STORED:
            return _StoredReader(self.fd, start, info.file_size, self.tallies)
        if info.compress_type == _DEFLATED:
            return _InflateReader(self.fd, start, info.compress_size, self.tallies)
        return _MemberReader(self.zf.open(info))

    def facts(self, info: zipfile.ZipInfo) -> ElfFacts:
        try:
            return read_elf_streamed(lambda: self.open(info), info.file_size, info.filename)
        except TruncatedData as e:
            raise WheelError(f"cannot read {self.path} as a wheel: {info.filename}: {e.reason} "
                             f"(a truncated or corrupt wheel)") from e


class _Tally:
    """Bytes one reader has produced (each reader has its own: threads never share one)."""

    def __init__(self, tallies: list[_Tally]) -> None:
        self.n = 0
        tallies.append(self)  # list.append is atomic


class _StoredReader:
    """A stored (uncompressed) member."""

    def __init__(self, fd: int, start: int, size: int, tallies: list[_Tally]) -> None:
        self.fd, self.pos, self.end = fd, start, start + size
        self.tally = _Tally(tallies)

    def read(self, n: int) -> bytes:
        data = os.pread(self.fd, min(n, self.end - self.pos), self.pos)
        self.pos += len(data)
        self.tally.n += len(data)
        return data

    def skip(self, n: int) -> int:
        passed = min(n, self.end - self.pos)
        self.pos += passed
        return passed


class _InflateReader:
    """A deflated member, decompressed only as far as it is read."""

    def __init__(self, fd: int, start: int, compressed: int, tallies: list[_Tally]) -> None:
        self.fd, self.pos, self.end = fd, start, start + compressed
        self.inflater = _inflate_module.decompressobj(-15)
        self.pending = b""
        self.tally = _Tally(tallies)

    def _inflate(self, wanted: int, input_block: int) -> bytes:
        """Up to ``wanted`` further bytes (b"" at the end), from one call to zlib that gives some."""
        while not self.inflater.eof:
            if not self.pending and self.pos < self.end:
                size = min(input_block, self.end - self.pos)
                self.pending = os.pread(self.fd, size, self.pos)
                self.pos = self.pos + len(self.pending) if self.pending else self.end
            # Called even without new input: zlib may still hold output that an earlier limit held back.
            data: bytes = self.inflater.decompress(self.pending, wanted)
            self.pending = self.inflater.unconsumed_tail
            if data:
                self.tally.n += len(data)
                return data
            if not self.pending and self.pos >= self.end:
                return b""
        return b""

    def read(self, n: int) -> bytes:
        # Small reads (the magic, the headers) need little input; long ones much.
        block = 512 if n <= 4096 else _INPUT_BLOCK if n < _SKIP_OUTPUT // 2 else _SKIP_INPUT
        parts = []
        while n > 0:
            data = self._inflate(n, block)
            if not data:
                break
            parts.append(data)
            n -= len(data)
        return b"".join(parts)

    def skip(self, n: int) -> int:
        # Long calls into zlib, which runs without the GIL: fewer hand-overs to the other threads.
        passed = 0
        while passed < n:
            data = self._inflate(min(n - passed, _SKIP_OUTPUT), _SKIP_INPUT)
            if not data:
                break
            passed += len(data)
        return passed


class _MemberReader:
    """A member compressed some other way (bzip2, lzma): zipfile's own stream."""

    def __init__(self, member: IO[bytes]) -> None:
        self.member = member

    def read(self, n: int) -> bytes:
        return self.member.read(n)

    def skip(self, n: int) -> int:
        passed = 0
        while passed < n:
            data = self.member.read(min(n - passed, 1 << 20))
            if not data:
                break
            passed += len(data)
        return passed


def majority_arch(facts: list[ElfFacts], default: str) -> str:
    arches = Counter(f.arch for f in facts if f.arch)
    return arches.most_common(1)[0][0] if arches else default


__all__ = ["Scan", "facts_of_members", "facts_of_path", "scan_path", "majority_arch", "ElfError"]
