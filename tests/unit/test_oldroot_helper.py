"""tests/oldroot.py runs code in the bullseye root, where GLIBC_2.34 symbols are missing."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from tests import oldroot
from tests.common import skip_missing

pytestmark = pytest.mark.oldglibc

LOAD = "import ctypes, sys; ctypes.CDLL(sys.argv[1]); print('loaded')"

NEW_SRC = """
#include <pthread.h>
static void *run(void *arg) { return arg; }
int start(void) {
    pthread_t t;
    if (pthread_create(&t, 0, run, 0)) return -1;
    return pthread_join(t, 0);
}
"""

OLD_SRC = """
#include <string.h>
int length(const char *s) { return (int)strlen(s); }
"""


@pytest.fixture(scope="module")
def root() -> Path:
    reason = oldroot.missing_reason()
    if reason is not None:
        skip_missing(reason, "tools/test.sh runs tools/oldroot.sh")
    found = oldroot.find_root()
    assert found is not None
    return found


def _compile(tmp: Path, name: str, source: str, *flags: str) -> Path:
    src = tmp / f"{name}.c"
    src.write_text(source)
    out = tmp / f"lib{name}.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", *flags, "-o", str(out), str(src)],
                   check=True)
    return out


@pytest.fixture(scope="module")
def libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("oldroot-libs")
    return {
        "new": _compile(tmp, "new", NEW_SRC, "-pthread"),
        "old": _compile(tmp, "old", OLD_SRC),
    }


def test_root_has_glibc_2_31(root: Path) -> None:
    assert oldroot.glibc_version(root) == (2, 31)


def test_library_needing_glibc_2_34_fails_to_load(root: Path, libs: dict[str, Path]) -> None:
    host_glibc = tuple(int(x) for x in subprocess.run(
        ["getconf", "GNU_LIBC_VERSION"], capture_output=True, text=True, check=True
    ).stdout.split()[-1].split("."))
    if host_glibc < (2, 34):
        pytest.skip(f"host glibc {host_glibc} has no GLIBC_2.34 pthread_create")
    result = oldroot.run_in_root(
        root, ["python3", "-c", LOAD, "./libnew.so"], copy_in={libs["new"]: "libnew.so"}
    )
    assert result.returncode != 0, oldroot.describe(result)
    assert "GLIBC_2.34' not found" in result.stderr, oldroot.describe(result)


def test_library_with_old_symbols_loads(root: Path, libs: dict[str, Path]) -> None:
    result = oldroot.run_in_root(
        root, ["python3", "-c", LOAD, "./lib/libold.so"], copy_in={libs["old"]: "lib/libold.so"}
    )
    assert result.returncode == 0, oldroot.describe(result)
    assert result.stdout.strip() == "loaded"


def test_run_dir_is_removed_and_host_env_not_leaked(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/nonexistent-host-path")
    before = set((root / "tmp").iterdir())
    result = oldroot.run_in_root(
        root, ["sh", "-c", 'pwd; echo "[$PYTHONPATH]" "$EXTRA"'], env={"EXTRA": "x"}
    )
    assert result.returncode == 0, oldroot.describe(result)
    cwd, env_line = result.stdout.splitlines()
    assert cwd.startswith("/tmp/mw-run-")
    assert env_line == "[] x"
    assert set((root / "tmp").iterdir()) == before


def test_unpacked_wheel_is_importable(root: Path, libs: dict[str, Path], tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo/__init__.py", "import ctypes, os\n"
                    "lib = ctypes.CDLL(os.path.join(os.path.dirname(__file__), 'libold.so'))\n")
        zf.write(libs["old"], "demo/libold.so")
    with oldroot.unpacked_wheel(root, wheel) as site:
        result = oldroot.run_in_root(
            root,
            ["python3", "-c", "import demo; print(demo.lib.length(b'four'))"],
            env={"PYTHONPATH": site},
        )
        assert result.returncode == 0, oldroot.describe(result)
        assert result.stdout.strip() == "4"
    assert not (root / site.lstrip("/")).exists()


def test_copy_in_name_must_stay_inside(root: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be relative"):
        oldroot.run_in_root(root, ["true"], copy_in={tmp_path: "../escape"})
