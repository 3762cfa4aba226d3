"""Reliability under bad input, faults, interruption and concurrency; never a lying tag.

Most builds here use `python -m build --wheel --no-isolation` (the installed manywheel
and setuptools) so that dozens of cases stay quick; the frontend is real all the same."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.common import EXAMPLE, PROJECTS, copy_project, run, tree_digest
from tests.integration.helpers import assert_auditwheel_agrees, only_wheel, platform_tag

pytestmark = pytest.mark.slow


def build(project: Path, out: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--skip-dependency-check",
                "--outdir", str(out), *args, str(project)], env=env, check=False)




def no_wheel(out: Path) -> bool:
    return not out.exists() or not [p for p in out.iterdir() if p.name.endswith((".whl", ".part"))]


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MANYWHEEL_")}
    return dict(clean, MANYWHEEL_CACHE_DIR=os.environ.get("MWTEST_CACHE", str(tmp_path / "cache")))


BAD_BACKEND = '''
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise ValueError("the in-tree backend is broken on purpose")
'''
IMPORT_BOOM = 'raise RuntimeError("boom while importing")\n'

# (id, text appended to pyproject.toml, files to add, config settings, environment, expected message)
CONFIG_CASES = [
    ("invalid-toml", "[tool.manywheel\n", {}, [], {}, "pyproject.toml"),
    ("table-not-table", "[tool]\nmanywheel = 3\n", {}, [], {}, "[tool.manywheel] in pyproject.toml must be a table"),
    ("unknown-key", '[tool.manywheel]\ntargte = "x"\n', {}, [], {}, "did you mean 'target'?"),
    ("unknown-key-jobs", "[tool.manywheel]\njbos = 2\n", {}, [], {}, "did you mean 'jobs'?"),
    ("unknown-key-far", "[tool.manywheel]\ncolour = 2\n", {}, [], {}, "unknown key 'colour'"),
    ("target-int", "[tool.manywheel]\ntarget = 2014\n", {}, [], {}, "tool.manywheel.target: expected a string, got an integer 2014"),
    ("target-empty", '[tool.manywheel]\ntarget = ""\n', {}, [], {}, "tool.manywheel.target: is empty"),
    ("target-unknown-glibc", '[tool.manywheel]\ntarget = "manylinux_2_99"\n', {}, [], {}, "no manylinux policy for glibc/musl 2.99"),
    ("target-unknown-name", '[tool.manywheel]\ntarget = "manylinux2099"\n', {}, [], {}, "unknown target 'manylinux2099'"),
    ("target-other-arch", '[tool.manywheel]\ntarget = "manylinux_2_17_aarch64"\n', {}, [], {}, "is for aarch64, but this build is for x86_64"),
    ("target-musl", '[tool.manywheel]\ntarget = "musllinux_1_2"\n', {}, [], {}, "is a musllinux policy (pyproject.toml [tool.manywheel]): manywheel pins to glibc baselines only"),
    ("target-newer-than-host", '[tool.manywheel]\ntarget = "manylinux_2_41"\n', {}, [], {}, "is newer than this host's glibc"),
    ("pin-string", '[tool.manywheel]\npin = "yes"\n', {}, [], {}, "tool.manywheel.pin: expected a boolean"),
    ("pin-int", "[tool.manywheel]\npin = 1\n", {}, [], {}, "tool.manywheel.pin: expected a boolean (true or false), got an integer 1"),
    ("backend-int", "[tool.manywheel]\ninner-backend = 3\n", {}, [], {}, "tool.manywheel.inner-backend: expected a string"),
    ("backend-syntax", '[tool.manywheel]\ninner-backend = "not a module"\n', {}, [], {}, "is not a backend name"),
    ("backend-missing", '[tool.manywheel]\ninner-backend = "no_such_backend"\n', {}, [], {}, "cannot import the inner backend 'no_such_backend'"),
    ("backend-attr", '[tool.manywheel]\ninner-backend = "setuptools.build_meta:nope"\n', {}, [], {}, "has no attribute 'nope'"),
    ("backend-not-pep517", '[tool.manywheel]\ninner-backend = "json"\n', {}, [], {}, "has no build_wheel hook"),
    ("backend-raises-on-import", '[tool.manywheel]\ninner-backend = "boom"\ninner-backend-path = ["_b"]\n',
     {"_b/boom.py": IMPORT_BOOM}, [], {}, "importing the inner backend 'boom' raised RuntimeError: boom while importing"),
    ("backend-raises", '[tool.manywheel]\ninner-backend = "broken"\ninner-backend-path = ["_b"]\n',
     {"_b/broken.py": BAD_BACKEND}, [], {}, "failed in build_wheel: ValueError: the in-tree backend is broken on purpose at"),
    ("path-string", '[tool.manywheel]\ninner-backend-path = "_b"\n', {}, [], {}, "inner-backend-path: expected a list of strings"),
    ("path-outside", '[tool.manywheel]\ninner-backend-path = ["../outside"]\n', {}, [], {}, "must be a relative path inside the project"),
    ("path-absolute", '[tool.manywheel]\ninner-backend-path = ["/tmp"]\n', {}, [], {}, "'/tmp' must be a relative path"),
    ("path-missing", '[tool.manywheel]\ninner-backend-path = ["nowhere"]\n', {}, [], {}, "inner-backend-path entry 'nowhere': no directory"),
    ("exports-string", '[tool.manywheel]\nexports = "PyInit_x"\n', {}, [], {}, "tool.manywheel.exports: expected a list of strings"),
    ("exports-bad-name", '[tool.manywheel]\nexports = ["bad name!"]\n', {}, [], {}, "'bad name!' is not a symbol name"),
    ("jobs-negative", "[tool.manywheel]\njobs = -1\n", {}, [], {}, "must be 0 (one per CPU core) or more, not -1"),
    ("jobs-string", '[tool.manywheel]\njobs = "four"\n', {}, [], {}, "tool.manywheel.jobs: expected an integer"),
    ("verbose-string", '[tool.manywheel]\nverbose = "loud"\n', {}, [], {}, "tool.manywheel.verbose: expected a boolean"),
    ("cache-dir-int", "[tool.manywheel]\ncache-dir = 5\n", {}, [], {}, "tool.manywheel.cache-dir: expected a string"),
    ("config-setting-bool", "", {}, ["-C", "manywheel.pin=maybe"], {}, "-C manywheel.pin: expected a boolean"),
    ("config-setting-unknown", "", {}, ["-C", "manywheel.speed=max"], {}, "unknown key 'speed' in config setting -C manywheel.speed"),
    ("env-target", "", {}, [], {"MANYWHEEL_TARGET": "manylinux_3_0"}, "no manylinux policy for glibc/musl 3.0"),
    ("env-jobs", "", {}, [], {"MANYWHEEL_JOBS": "x"}, "MANYWHEEL_JOBS: expected an integer, got 'x'"),
    ("env-unknown", "", {}, [], {"MANYWHEEL_TRAGET": "manylinux_2_17"}, "unknown key 'traget' in environment variable MANYWHEEL_TRAGET"),
]


@pytest.mark.parametrize("table, files, args, extra_env, message", [c[1:] for c in CONFIG_CASES],
                         ids=[c[0] for c in CONFIG_CASES])
def test_bad_configuration(tmp_path: Path, env: dict[str, str], table: str, files: dict[str, str], args: list[str],
                           extra_env: dict[str, str], message: str) -> None:
    project = copy_project(PROJECTS / "c_simple", tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n" + table)
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    before = tree_digest(project)
    proc = build(project, tmp_path / "dist", dict(env, **extra_env), *args)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert message in output, output[-3000:]
    assert "Traceback" not in output
    assert no_wheel(tmp_path / "dist")
    assert tree_digest(project) == before


def test_at_least_thirty_configuration_cases() -> None:
    assert len(CONFIG_CASES) >= 30 and len({c[-1] for c in CONFIG_CASES}) == len(CONFIG_CASES)


@pytest.mark.parametrize("extra_env, message", [
    ({"CC": "no-such-compiler"}, "the compiler 'no-such-compiler' (from $CC) is not on PATH"),
    ({"CC": sys.executable}, "is not gcc-compatible: '-dumpmachine' failed with exit code"),
    ({"CC": "/bin/echo"}, "is not gcc-compatible: '-dumpmachine' printed: -dumpmachine"),
    # Issue #13: a library found nowhere is one message naming it and the search path.
    ({"LDFLAGS": "-lmw_no_such_library"}, "manywheel: error: the link needs libmw_no_such_library, and neither "
                                          "libmw_no_such_library.so nor libmw_no_such_library_pic.a"),
], ids=["missing", "python-as-cc", "echo-as-cc", "link-error"])
def test_bad_toolchain(tmp_path: Path, env: dict[str, str], extra_env: dict[str, str], message: str) -> None:
    project = copy_project(PROJECTS / "c_simple", tmp_path)
    proc = build(project, tmp_path / "dist", dict(env, **extra_env))
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and message in output, output[-3000:]
    assert no_wheel(tmp_path / "dist")


def test_unwritable_cache_still_builds_with_a_warning(tmp_path: Path, env: dict[str, str]) -> None:
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("not a directory")
    proc = build(copy_project(PROJECTS / "c_simple", tmp_path), tmp_path / "dist", dict(env, MANYWHEEL_CACHE_DIR=str(blocker)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "warning: cannot write the cache" in proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs (a full disk) needs root")
def test_full_cache_disk_still_builds_and_leaves_no_partial_entry(tmp_path: Path, env: dict[str, str]) -> None:
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(full)], check=True)
    try:
        proc = build(copy_project(PROJECTS / "c_simple", tmp_path), tmp_path / "dist", dict(env, MANYWHEEL_CACHE_DIR=str(full)))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "warning: cannot write the cache" in proc.stderr and "No space left on device" in proc.stderr
        assert [p.name for p in (full / "baselines").iterdir()] == []
    finally:
        subprocess.run(["umount", str(full)], check=True)


def _interrupt(project: Path, out: Path, env: dict[str, str], marker: str, sig: int) -> str:
    proc = subprocess.Popen([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--skip-dependency-check",
                             "--outdir", str(out), str(project)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            time.sleep(0.5)
            os.killpg(proc.pid, sig)
            break
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0
    # The frontend may exit before its backend process has finished unwinding: wait for the whole group.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the interrupted build's processes did not exit within 120 s")
    return "".join(seen) + rest


@pytest.mark.parametrize("phase, marker", [("compile", "MW-SLOW: compiling"), ("write", "ELF file verified")])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_interruption_leaves_nothing_partial(tmp_path: Path, env: dict[str, str], phase: str, marker: str,
                                             sig: int) -> None:
    project = copy_project(PROJECTS / "slow_build", tmp_path)
    out = tmp_path / "dist"
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    output = _interrupt(project, out, dict(env, MW_SLOW=phase, TMPDIR=str(private_tmp)), marker, sig)
    assert marker in output
    assert no_wheel(out), list(out.iterdir())
    baselines = Path(env["MANYWHEEL_CACHE_DIR"]) / "baselines"
    assert not [p for p in baselines.iterdir() if p.name.startswith(".tmp-")]
    assert not list(private_tmp.glob("manywheel-*")), "temporary build directory left behind"
    # The next build succeeds.
    after = build(project, out, dict(env, MW_SLOW="none"))
    assert after.returncode == 0, after.stderr[-3000:]
    assert platform_tag(only_wheel(out)).startswith("manylinux_2_17_x86_64")


def test_four_concurrent_builds_with_an_empty_shared_cache(tmp_path: Path, env: dict[str, str]) -> None:
    env = dict(env, SOURCE_DATE_EPOCH="1700000000", MANYWHEEL_CACHE_DIR=str(tmp_path / "shared-cache"))
    projects = [EXAMPLE, PROJECTS / "c_simple", PROJECTS / "cpp_simple", PROJECTS / "abi3"]
    copies = []
    for i, src in enumerate(projects):
        (tmp_path / f"p{i}").mkdir()
        copies.append(copy_project(src, tmp_path / f"p{i}"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda p: build(p, p.parent / "together", env), copies))
    for proc in results:
        assert proc.returncode == 0, proc.stderr[-3000:]
    entries = [p for p in (tmp_path / "shared-cache" / "baselines").iterdir()]
    assert len(entries) == 1 and not entries[0].name.startswith(".")
    for project in copies:
        assert build(project, project.parent / "alone", env).returncode == 0
        together = only_wheel(project.parent / "together")
        alone = only_wheel(project.parent / "alone")
        assert together.name == alone.name and together.read_bytes() == alone.read_bytes()


@pytest.mark.parametrize("kind, message", [
    ("abs", "'/tmp/mw-hostile-absolute.txt': absolute path"),
    ("dotdot", "'..' component"),
    ("dup", "'mw_hostile/__init__.py': duplicate name"),
    ("symlink", "'mw_hostile/link': symbolic link"),
])
def test_hostile_inner_wheels_are_refused(tmp_path: Path, env: dict[str, str], kind: str, message: str) -> None:
    project = copy_project(PROJECTS / "hostile_backend", tmp_path)
    proc = build(project, tmp_path / "dist", dict(env, MW_HOSTILE=kind))
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "has unsafe members" in output and message in output, output[-2000:]
    assert "Traceback" not in output and no_wheel(tmp_path / "dist")


def test_check_reads_a_hostile_wheel_without_writing_anything(tmp_path: Path) -> None:
    import zipfile
    wheel = tmp_path / "inner" / "evil-1.0-cp311-cp311-linux_x86_64.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("evil/../../escaped.txt", b"x")
        zf.writestr("evil-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    proc = run([sys.executable, "-m", "manywheel", "check", str(wheel)], cwd=tmp_path / "inner", check=False)
    assert proc.returncode == 2 and "'..' component" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("trick, outcome", [
    ("symver", "fails"), ("asm", "fails"), ("prebuilt", "meets"), ("prebuilt_so", "fails"), ("weak", "meets"),
])
def test_crafted_projects_never_get_a_lying_tag(tmp_path: Path, env: dict[str, str], trick: str, outcome: str) -> None:
    project = copy_project(PROJECTS / "defeat_pinning", tmp_path)
    proc = build(project, tmp_path / "dist", dict(env, MW_DEFEAT=trick))
    output = proc.stdout + proc.stderr
    if outcome == "fails":
        assert proc.returncode != 0 and no_wheel(tmp_path / "dist"), output[-2000:]
        assert "manywheel: error:" in output
        return
    assert proc.returncode == 0, output[-3000:]
    wheel = only_wheel(tmp_path / "dist")
    assert platform_tag(wheel).startswith("manylinux_2_17_x86_64")
    assert_auditwheel_agrees(wheel)
    check = run([sys.executable, "-m", "manywheel", "check", "--target", "manylinux_2_17", str(wheel)], check=False)
    assert check.returncode == 0, check.stdout
