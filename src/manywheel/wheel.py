"""Read a wheel written by the inner backend and write it again with the verdict's tag.

The new wheel is written to a temporary file in the output directory and moved into
place with ``os.replace``; with ``SOURCE_DATE_EPOCH`` set, timestamps come from it
and two builds of the same files give identical bytes.
"""
from __future__ import annotations

import base64
import hashlib
import re
import stat
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping

from .errors import WheelError
from .files import replace_atomically

_CHUNK = 1 << 20
_ZIP_EPOCH = 315532800  # 1980-01-01, the earliest time a zip file can hold
_DATA_DIR = re.compile(r"^[^/]+\.data/(?:platlib|purelib)/")


def install_path(member: str) -> str:
    """Where a wheel member lands relative to the install root (``x.data/platlib/`` and ``purelib/``
    taken off): the root of a wheel written here is platlib (``Root-Is-Purelib: false``)."""
    return _DATA_DIR.sub("", member)


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes
    executable: bool
    date_time: tuple[int, int, int, int, int, int]


@dataclass(frozen=True)
class WheelContents:
    filename: str
    members: tuple[Member, ...]
    dist_info: str  # e.g. "mypkg-1.0.dist-info"

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise WheelError(f"{self.filename} has no {name}")

    @property
    def wheel_metadata(self) -> str:
        return self.member(f"{self.dist_info}/WHEEL").data.decode("utf-8")

    @property
    def tags(self) -> list[str]:
        return [line.split(":", 1)[1].strip() for line in self.wheel_metadata.splitlines() if line.startswith("Tag:")]


def read_wheel(path: Path) -> WheelContents:
    """Read every member, refusing names that could escape or collide."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            check_member_names(path.name, [(i.filename, i.external_attr) for i in infos])
            members = tuple(
                Member(i.filename, zf.read(i), bool((i.external_attr >> 16) & 0o111), i.date_time)
                for i in infos if not i.is_dir()
            )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise WheelError(f"cannot read the wheel {path}: {e}") from e
    dist_infos = {m.name.split("/", 1)[0] for m in members if m.name.split("/", 1)[0].endswith(".dist-info")
                  and m.name.endswith("/WHEEL")}
    if len(dist_infos) != 1:
        raise WheelError(f"{path.name} has {len(dist_infos)} .dist-info directories with a WHEEL file, not one")
    return WheelContents(path.name, members, dist_infos.pop())


def check_member_names(wheel: str, entries: Iterable[tuple[str, int]]) -> None:
    problems = []
    seen: set[str] = set()
    for name, external_attr in entries:
        pure = PurePosixPath(name)
        if name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":"):
            problems.append(f"{name!r}: absolute path")
        elif ".." in pure.parts:
            problems.append(f"{name!r}: '..' component")
        if stat.S_ISLNK(external_attr >> 16):
            problems.append(f"{name!r}: symbolic link")
        key = name.rstrip("/")
        if key in seen:
            problems.append(f"{name!r}: duplicate name")
        seen.add(key)
    if problems:
        raise WheelError(f"the wheel {wheel} has unsafe members: " + "; ".join(problems),
                         hint="the inner backend wrote a wheel no installer should unpack; fix its file list")


def source_date_epoch(environ: Mapping[str, str]) -> int | None:
    raw = environ.get("SOURCE_DATE_EPOCH")
    if raw is None:
        return None
    try:
        return max(int(raw), _ZIP_EPOCH)
    except ValueError:
        raise WheelError(f"SOURCE_DATE_EPOCH={raw!r} is not an integer number of seconds",
                         hint="unset it or set it to e.g. $(git log -1 --format=%ct)") from None


def retag_filename(filename: str, platform_tag: str) -> str:
    """``pkg-1.0-cp311-cp311-linux_x86_64.whl`` -> ``pkg-1.0-cp311-cp311-<platform_tag>.whl``."""
    stem = filename[:-4] if filename.endswith(".whl") else filename
    parts = stem.split("-")
    if len(parts) < 5:
        raise WheelError(f"{filename!r} is not a wheel file name (name-version-python-abi-platform.whl)")
    return "-".join(parts[:-1] + [platform_tag]) + ".whl"


def retag_wheel_metadata(text: str, platform_tags: Iterable[str]) -> str:
    """Rewrite the WHEEL file: one Tag line per (python, abi, platform) and Root-Is-Purelib false."""
    platforms = list(platform_tags)
    out: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        if line.startswith("Tag:"):
            python, abi, _ = line.split(":", 1)[1].strip().split("-", 2)
            for plat in platforms:
                tag = f"{python}-{abi}-{plat}"
                if tag not in seen:
                    seen.add(tag)
                    out.append(f"Tag: {tag}")
        elif line.startswith("Root-Is-Purelib:"):
            out.append("Root-Is-Purelib: false")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def write_wheel(contents: WheelContents, out_dir: Path, platform_tags: list[str], epoch: int | None) -> Path:
    """Write ``contents`` retagged into ``out_dir`` atomically; return the new wheel's path."""
    name = retag_filename(contents.filename, ".".join(platform_tags))
    wheel_file = f"{contents.dist_info}/WHEEL"
    record_file = f"{contents.dist_info}/RECORD"
    members = [m for m in contents.members if m.name != record_file and not _is_signature(m.name, contents.dist_info)]
    new_wheel = retag_wheel_metadata(contents.wheel_metadata, platform_tags).encode("utf-8")
    members = [Member(m.name, new_wheel, False, m.date_time) if m.name == wheel_file else m for m in members]
    # dist-info last, RECORD very last, as the wheel spec recommends.
    members.sort(key=lambda m: m.name.startswith(contents.dist_info + "/"))
    record_lines = [f"{m.name},sha256={_digest(m.data)},{len(m.data)}" for m in members]
    record_lines.append(f"{record_file},,")
    record = Member(record_file, ("\n".join(record_lines) + "\n").encode("utf-8"), False, members[-1].date_time)
    final = out_dir / name
    with replace_atomically(final) as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        for m in members + [record]:
            # In chunks: a signal (SIGTERM, Ctrl-C) is then handled within moments, not after a huge member.
            with zf.open(_zipinfo(m, epoch), "w", force_zip64=len(m.data) > 0x7FFFFFFF) as dest:
                view = memoryview(m.data)
                for start in range(0, len(view), _CHUNK):
                    dest.write(view[start:start + _CHUNK])
    return final


def _is_signature(name: str, dist_info: str) -> bool:
    return name in (f"{dist_info}/RECORD.jws", f"{dist_info}/RECORD.p7s")


def _zipinfo(m: Member, epoch: int | None) -> zipfile.ZipInfo:
    date_time = time.gmtime(epoch)[:6] if epoch is not None else m.date_time
    info = zipfile.ZipInfo(m.name, date_time=date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o100755 if m.executable else 0o100644) & 0xFFFF) << 16
    info.create_system = 3  # unix, so the modes above are honoured
    return info


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
