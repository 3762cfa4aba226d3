"""Find the ELF files of a wheel, a directory or a single file and read their facts."""
from __future__ import annotations

import os
import zipfile
from collections import Counter
from pathlib import Path
from typing import Iterable

from .elf import ELF_MAGIC, ElfFacts, read_elf_bytes, read_elf_file
from .errors import ElfError, WheelError
from .wheel import Member, check_member_names


def facts_of_members(members: Iterable[Member]) -> list[ElfFacts]:
    return [read_elf_bytes(m.data, m.name) for m in members if m.data[:4] == ELF_MAGIC]


def facts_of_path(path: Path) -> list[ElfFacts]:
    """Every ELF file in a wheel, below a directory, or the file itself."""
    if path.is_dir():
        facts = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = Path(root) / name
                if full.is_symlink() or not full.is_file():
                    continue
                with open(full, "rb") as f:
                    if f.read(4) != ELF_MAGIC:
                        continue
                facts.append(read_elf_file(full, str(full.relative_to(path))))
        return facts
    if path.suffix == ".whl" or zipfile.is_zipfile(path):
        return _facts_of_zip(path)
    return [read_elf_file(path, path.name)]


def _facts_of_zip(path: Path) -> list[ElfFacts]:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            check_member_names(path.name, [(i.filename, i.external_attr) for i in infos])
            facts = []
            for info in infos:
                with zf.open(info) as member:
                    if member.read(4) != ELF_MAGIC:
                        continue
                facts.append(read_elf_bytes(zf.read(info), info.filename))
            return facts
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
        raise WheelError(f"cannot read {path} as a wheel (zip archive): {e}") from e
    except OSError as e:
        raise WheelError(f"cannot read {path}: {e.strerror or e}") from e


def majority_arch(facts: list[ElfFacts], default: str) -> str:
    arches = Counter(f.arch for f in facts if f.arch)
    return arches.most_common(1)[0][0] if arches else default


__all__ = ["facts_of_members", "facts_of_path", "majority_arch", "ElfError"]
