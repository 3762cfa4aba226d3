"""`manywheel check` agrees with `auditwheel show` on real wheels, or says why auditwheel is wrong.

The wheels (tests/data/real-wheels.json: names, versions, sha256) are downloaded from PyPI
once into a cache outside the repository ($MWTEST_REAL_WHEELS, default
~/.cache/manywheel/real-wheels) and checked by hash; the torch CPU wheel comes from this
machine's local wheel folder. For each wheel:

- manywheel's tag is the recorded one, and so is auditwheel's (run now, not remembered);
- where they differ, the record names the kinds of fact manywheel counts and auditwheel
  ignores, and without those facts manywheel gives exactly auditwheel's tag;
- manywheel's reader and pyelftools (tests/elf_full.py) give the same facts for every ELF member.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from manywheel.check import elf
from manywheel.policy import load_policies
from manywheel.check.scan import scan_path
from manywheel.check.verify import judge

from tests.elf_full import read_full

REPO = Path(__file__).resolve().parents[2]
DATA = json.loads((REPO / "tests" / "data" / "real-wheels.json").read_text())
WHEELS: list[dict[str, Any]] = DATA["wheels"]
TORCH: dict[str, Any] = DATA["local_wheels"][0]
CACHE = Path(os.environ.get("MWTEST_REAL_WHEELS", Path.home() / ".cache" / "manywheel" / "real-wheels"))

pytestmark = pytest.mark.slow


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _platforms(filename: str) -> list[str]:
    return filename[:-4].split("-")[-1].split(".")


def _download(entry: dict[str, Any]) -> Path:
    """The cached wheel, downloaded first if it is missing or its hash is not the recorded one."""
    target = CACHE / entry["file"]
    if target.is_file() and _sha256(target) == entry["sha256"]:
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix=".download-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
               "--python-version", DATA["python_version"], "--implementation", "cp", "--dest", tmp,
               f"{entry['project']}=={entry['version']}"]
        for platform in _platforms(entry["file"]):
            cmd += ["--platform", platform]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        got = Path(tmp) / entry["file"]
        if proc.returncode != 0 or not got.is_file():
            pytest.fail(f"could not download {entry['file']}: {proc.stderr[-2000:]}")
        if _sha256(got) != entry["sha256"]:
            pytest.fail(f"{entry['file']} from PyPI does not have the recorded sha256 {entry['sha256']}")
        os.replace(got, target)
    return target


def _manywheel(wheel: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "manywheel", "check", "--json", str(wheel)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)[0]
    return result


def _auditwheel(wheel: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "auditwheel", "show", "--json", str(wheel)],
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tag: str = json.loads(proc.stdout)["overall_tag"]
    return tag


def _first_tag(platform_tag: str) -> str:
    return platform_tag.split(".")[0]


def _judge_ignoring(wheel: Path, kinds: list[str]) -> str:
    scan = scan_path(wheel)
    arch = DATA_ARCH.get(wheel.name) or next(f.arch for f in scan.facts if f.arch)
    verdict = judge(scan.facts, load_policies(arch), arch)
    policy = verdict.policy_ignoring(kinds)
    return policy.display_name if policy else f"linux_{arch}"


DATA_ARCH = {e["file"]: e["arch"] for e in WHEELS + [TORCH]}


def test_the_list_covers_every_kind_of_wheel_asked_for() -> None:
    arches = Counter(e["arch"] for e in WHEELS)
    assert len(WHEELS) >= 40
    for arch in ("x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64"):
        assert arches[arch] >= 2, arch
    assert sum(e["family"] == "musllinux" for e in WHEELS) >= 3
    assert any("C++" in e["language"] for e in WHEELS) and any(e["language"] == "C" for e in WHEELS)
    assert sum(e["bundled_libs"] for e in WHEELS) >= 5
    assert sum(e["size"] for e in WHEELS) < 100_000_000


@pytest.mark.parametrize("entry", WHEELS, ids=[e["file"].split("-cp")[0] + "-" + e["arch"] + "-" + e["family"][:4] for e in WHEELS])
def test_manywheel_agrees_with_auditwheel_or_says_why(entry: dict[str, Any]) -> None:
    wheel = _download(entry)
    mine = _manywheel(wheel)
    theirs = _auditwheel(wheel)
    assert _first_tag(mine["verdict"]) == entry["manywheel"], mine["why_linux"]
    assert theirs == entry["auditwheel"], f"auditwheel now says {theirs}"
    if entry["manywheel"] == entry["auditwheel"]:
        assert "disagreement" not in entry
    else:
        documented = entry["disagreement"]
        forcing = sorted({c["kind"] for c in mine["constraints"] if c["oldest_policy"] is None})
        assert forcing == documented["kinds"] and documented["reason"]
        assert sorted({c["file"] for c in mine["constraints"] if c["oldest_policy"] is None}) == documented["files"]
        assert _judge_ignoring(wheel, documented["kinds"]) == theirs
    assert mine["summary"]["elf_files"] == entry["elf_files"]


@pytest.mark.parametrize("entry", WHEELS, ids=[e["file"].split("-cp")[0] + "-" + e["arch"] + "-" + e["family"][:4] for e in WHEELS])
def test_reader_and_pyelftools_agree_on_every_member(entry: dict[str, Any]) -> None:
    wheel = _download(entry)
    scan = scan_path(wheel)
    assert scan.facts
    with zipfile.ZipFile(wheel) as zf:
        for facts in scan.facts:
            data = zf.read(facts.path)
            assert elf._FastReader(elf.BytesSource(data), facts.path).facts() == facts
            assert read_full(data, facts.path) == facts


def _torch() -> Path:
    path = Path(TORCH["local"]) / TORCH["file"]
    if not path.is_file():
        pytest.skip(f"{path} is absent: the torch CPU wheel of this machine's local wheel folder (pip find-links)")
    return path


def test_torch_cpu_wheel() -> None:
    wheel = _torch()
    if "sha256" in TORCH:
        assert wheel.stat().st_size == TORCH["size"]
    mine = _manywheel(wheel)
    assert _first_tag(mine["verdict"]) == TORCH["manywheel"]
    assert mine["without_unaccepted"] == TORCH["without"]["tag"]
    assert sorted({c["kind"] for c in mine["constraints"] if c["oldest_policy"] is None}) == TORCH["without"]["kinds"]
    unreachable = {(c["file"], c["library"]) for c in mine["constraints"] if c["kind"] == "library"}
    assert {lib for _, lib in unreachable} == {"libtorch.so", "libtorch_cpu.so", "libc10.so"}
    assert _judge_ignoring(wheel, TORCH["without"]["kinds"]) == TORCH["without"]["tag"]
    assert _auditwheel(wheel) == TORCH["auditwheel"]


def test_torch_members_read_alike() -> None:
    """manywheel's reader on each ELF member (streamed, as check reads it) against pyelftools; the
    members over 20 MB are left out, pyelftools being slow on them."""
    wheel = _torch()
    scan = scan_path(wheel)
    with zipfile.ZipFile(wheel) as zf:
        for facts in scan.facts:
            if zf.getinfo(facts.path).file_size > 20_000_000:
                continue
            assert read_full(zf.read(facts.path), facts.path) == facts
