"""Compiler launchers (ccache) for the tests: find one, or install it, or skip saying what is missing."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.common import skip_missing


def require_ccache() -> str:
    """The path of ccache; installed from Debian when missing and allowed (root, apt-get), else a skip."""
    found = shutil.which("ccache")
    if found:
        return found
    if os.environ.get("MWTEST_NO_INSTALL") or os.geteuid() != 0 or not shutil.which("apt-get"):
        skip_missing("ccache is not installed (Debian: apt-get install ccache); not installing it here "
                     "(needs root and apt-get, and MWTEST_NO_INSTALL unset)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    proc = subprocess.run(["apt-get", "install", "-y", "-qq", "ccache"], env=env, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        proc = subprocess.run(["sh", "-c", "apt-get update -qq && apt-get install -y -qq ccache"], env=env,
                              capture_output=True, text=True, timeout=900)
    found = shutil.which("ccache")
    if not found:
        skip_missing(f"ccache is not installed and apt-get install ccache failed: {proc.stderr.strip()[-300:]}")
    return found


def ccache_stats(cache_dir: Path) -> dict[str, int]:
    """ccache's counters for ``cache_dir`` (``ccache --print-stats``, ccache >= 4.2)."""
    env = dict(os.environ, CCACHE_DIR=str(cache_dir))
    out = subprocess.run(["ccache", "--print-stats"], env=env, capture_output=True, text=True, check=True).stdout
    stats = {}
    for line in out.splitlines():
        key, _, value = line.partition("\t")
        if value.strip().isdigit():
            stats[key] = int(value)
    return stats


def ccache_hits(stats: dict[str, int]) -> int:
    return stats.get("direct_cache_hit", 0) + stats.get("preprocessed_cache_hit", 0)


def ccache_misses(stats: dict[str, int]) -> int:
    return stats.get("cache_miss", 0)
