"""Who can install a policy's wheels: the oldest pip and the reference distributions.

Facts come from ``data/lifecycle.json``, which names its sources.
"""
from __future__ import annotations

import datetime
import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .errors import PolicyError
from .policy import LibcVersion, Policy


@dataclass(frozen=True)
class Distribution:
    name: str
    libc: str  # "glibc" or "musl"
    version: LibcVersion
    eol: str | None  # ISO date, or None where not recorded

    def ended(self, today: datetime.date) -> bool:
        return self.eol is not None and datetime.date.fromisoformat(self.eol) < today


@functools.lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(resources.files("manywheel").joinpath("data/lifecycle.json").read_text())
        return data
    except (OSError, ValueError) as e:
        raise PolicyError(f"manywheel's data/lifecycle.json is unreadable: {e}", hint="reinstall manywheel") from e


def distributions() -> list[Distribution]:
    return [Distribution(d["name"], d["libc"], LibcVersion(d["version"][0], d["version"][1]), d["eol"])
            for d in _data()["distributions"]]


def oldest_pip(policy: Policy) -> str:
    """The oldest pip that installs a wheel of ``policy`` (through its most compatible tag)."""
    pips = _data()["pip"]
    if policy.family == "musllinux":
        return str(pips["musllinux_X_Y"])
    for alias in policy.aliases:
        if alias in pips:
            return str(pips[alias])
    return str(pips["manylinux_X_Y"])


def reference_distributions(policy: Policy) -> list[Distribution]:
    """Distributions whose libc version is exactly the policy's."""
    libc = "glibc" if policy.family == "manylinux" else "musl"
    return [d for d in distributions() if d.libc == libc and d.version == policy.libc_version]


def installable_on(policy: Policy) -> list[Distribution]:
    """Every recorded distribution with a libc at least as new as the policy's."""
    libc = "glibc" if policy.family == "manylinux" else "musl"
    return [d for d in distributions() if d.libc == libc and d.version >= policy.libc_version]


def sources() -> dict[str, str]:
    return dict(_data()["sources"])
