"""Every frontend a user has: python -m build (sdist, then wheel from it), pip wheel, pip install,
pip install -e (PEP 660), uv build. All write the same tag; output, verbosity, failures, reproducibility."""
from __future__ import annotations

import hashlib
import shutil
import sys
import venv
from pathlib import Path

import pytest

from tests.common import EXAMPLE, PROJECTS, copy_project, run, tree_digest
from tests.integration.helpers import only_wheel, pip_wheel, platform_tag

pytestmark = pytest.mark.slow
TAG_2_17 = "manylinux_2_17_x86_64.manylinux2014_x86_64"




def fresh_venv(where: Path) -> Path:
    venv.create(where, with_pip=True)
    return where / "bin" / "python"


def test_python_m_build_sdist_then_wheel_leaves_the_tree_as_it_was(tmp_path: Path, build_env: dict[str, str]) -> None:
    project = copy_project(EXAMPLE, tmp_path)
    before = tree_digest(project)
    proc = run([sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(project)], env=build_env)
    assert "Building wheel from sdist" in proc.stdout + proc.stderr
    sdists = list((tmp_path / "dist").glob("*.tar.gz"))
    assert len(sdists) == 1
    assert platform_tag(only_wheel(tmp_path / "dist")) == TAG_2_17
    assert tree_digest(project) == before


def test_pip_wheel_writes_the_same_tag(tmp_path: Path, build_env: dict[str, str]) -> None:
    pip_wheel(copy_project(EXAMPLE, tmp_path), tmp_path / "dist", build_env)
    assert platform_tag(only_wheel(tmp_path / "dist")) == TAG_2_17


def test_pip_install_then_import(tmp_path: Path, build_env: dict[str, str]) -> None:
    py = fresh_venv(tmp_path / "venv")
    project = copy_project(EXAMPLE, tmp_path)
    run([str(py), "-m", "pip", "install", "--disable-pip-version-check", str(project)], env=build_env)
    wheel_meta = next((tmp_path / "venv").glob("lib/python*/site-packages/mw_example-0.1.0.dist-info/WHEEL")).read_text()
    assert "Tag: cp311-cp311-manylinux_2_17_x86_64" in wheel_meta or "manylinux_2_17_x86_64" in wheel_meta
    out = run([str(py), "-c", "import mw_example._cext as c, mw_example._cppext as x; print(c.__name__, x.__name__)"],
              cwd=tmp_path).stdout
    assert "mw_example._cext mw_example._cppext" in out


def test_pip_install_editable_sees_python_changes(tmp_path: Path, build_env: dict[str, str]) -> None:
    py = fresh_venv(tmp_path / "venv")
    project = copy_project(EXAMPLE, tmp_path)
    proc = run([str(py), "-m", "pip", "install", "-v", "--disable-pip-version-check", "-e", str(project)],
               env=build_env)
    assert "manywheel: 2 ELF files verified" in proc.stdout + proc.stderr
    assert f"editable-cp311-cp311-{TAG_2_17}.whl" in proc.stdout + proc.stderr
    probe = [str(py), "-c", "import mw_example, mw_example._cext; print(getattr(mw_example, 'EDITED', 'no'))"]
    assert run(probe, cwd=tmp_path).stdout.strip() == "no"
    with open(project / "mw_example" / "__init__.py", "a") as f:
        f.write("\nEDITED = 'yes'\n")
    assert run(probe, cwd=tmp_path).stdout.strip() == "yes"


def test_uv_build_writes_the_same_tag(tmp_path: Path, build_env: dict[str, str], manywheel_dist: Path) -> None:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    project = copy_project(EXAMPLE, tmp_path)
    run([uv, "build", "--wheel", "--python", sys.executable, "--find-links", str(manywheel_dist),
         "--out-dir", str(tmp_path / "dist"), str(project)], env=build_env)
    assert platform_tag(only_wheel(tmp_path / "dist")) == TAG_2_17


def test_verbose_shows_every_command_and_stages_are_reported(tmp_path: Path, build_env: dict[str, str]) -> None:
    proc = pip_wheel(copy_project(EXAMPLE, tmp_path), tmp_path / "dist", build_env, "-v",
                     "-C", "manywheel.verbose=true")
    out = proc.stdout + proc.stderr
    for stage in ["manywheel: baseline manylinux_2_17_x86_64", "manywheel: toolchain: ", "manywheel: compiling: ",
                  "manywheel: 2 ELF files verified", f"manywheel: wrote mw_example-0.1.0-cp311-cp311-{TAG_2_17}.whl"]:
        assert stage in out, stage
    commands = [line for line in out.splitlines() if "manywheel: $ " in line]
    assert len(commands) >= 4  # two compiles, two links
    assert any("-include" in c and "pins.h" in c for c in commands)
    assert any("--version-script=" in c for c in commands)


def test_a_compile_error_shows_the_command_exit_code_and_compiler_output(tmp_path: Path,
                                                                         build_env: dict[str, str]) -> None:
    project = copy_project(PROJECTS / "c_simple", tmp_path)
    source = next((project / "csrc").glob("*.c"))
    source.write_text(source.read_text() + "\nint broken(void) { return undeclared_identifier; }\n")
    proc = pip_wheel(project, tmp_path / "dist", build_env, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "undeclared_identifier" in out
    assert "manywheel: error: the compiler exited with code 1:" in out
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").glob("*.whl"))


def test_sdist_and_wheel_from_it_are_reproducible_in_different_directories(tmp_path: Path,
                                                                          build_env: dict[str, str]) -> None:
    env = dict(build_env, SOURCE_DATE_EPOCH="1700000000")
    digests = []
    for name in ("first", "second-checkout"):
        (tmp_path / name).mkdir()
        project = copy_project(EXAMPLE, tmp_path / name)
        run([sys.executable, "-m", "build", "--outdir", str(tmp_path / name / "dist"), str(project)], env=env)
        digests.append(sorted((p.name, hashlib.sha256(p.read_bytes()).hexdigest())
                              for p in (tmp_path / name / "dist").iterdir()))
    assert digests[0] == digests[1]
    assert len(digests[0]) == 2


def test_precedence_config_setting_over_environment_over_pyproject(tmp_path: Path, build_env: dict[str, str]) -> None:
    project = copy_project(PROJECTS / "c_simple", tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.manywheel]\ntarget = "manylinux_2_28"\n')
    pip_wheel(project, tmp_path / "a", build_env)
    assert platform_tag(only_wheel(tmp_path / "a")) == "manylinux_2_28_x86_64"
    pip_wheel(project, tmp_path / "b", dict(build_env, MANYWHEEL_TARGET="manylinux_2_31"))
    assert platform_tag(only_wheel(tmp_path / "b")) == "manylinux_2_31_x86_64"
    pip_wheel(project, tmp_path / "c", dict(build_env, MANYWHEEL_TARGET="manylinux_2_31"),
              "-C", "manywheel.target=manylinux_2_34")
    assert platform_tag(only_wheel(tmp_path / "c")) == "manylinux_2_34_x86_64"
