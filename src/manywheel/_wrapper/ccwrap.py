"""Compiler wrapper run for every compile and link of the inner build.

Standard library only, started with ``python -S -E`` by the scripts ``manywheel.toolchain.wrappers``
writes: it is exec'd hundreds of times per build, so it starts lean: its configuration
(``config.WrapperConfig``) is the marshal file named in argv[1], and the compiler is started
with ``os.posix_spawn``; ``json`` and ``subprocess`` (about 20 ms of imports together)
are imported only by links that need them.  It rewrites the arguments and runs the real
compiler.  Usage: main([ANY, CONFIG, LANG, ARGS...]).
"""
from __future__ import annotations

import marshal
import os
import sys

from . import linklog

TYPE_CHECKING = False  # typing (with re) would cost more than the rest of the start together
if TYPE_CHECKING:
    from .config import WrapperConfig
    from .linklog import BundledEntry

_COMPILE_ONLY = {"-c", "-S", "-E", "-M", "-MM"}
_PASS_THROUGH = ("--version", "-v", "--help")
# The compiler's -dump<what> queries (its version, full version, target triplet) pass through too.
_DUMP_QUERIES = ("version", "fullversion", "machine")
_NATIVE = ("-march=native", "-mtune=native", "-mcpu=native")


def rewrite(args: list[str], lang: str, cfg: WrapperConfig, notes: list[str]) -> list[str]:
    """The compiler's arguments: ``-march=native`` made portable, libstdc++ linked statically.

    RPATHs stay as given, absolute ones too: CMake's install step rewrites the build-tree RPATH it
    finds in place (``file(RPATH_CHANGE)``), and fails when it is gone.  The wheel's files lose the
    host's entries afterwards (``manywheel.repair.runpath``)."""
    out: list[str] = []
    for a in args:
        if a in _NATIVE:
            repl = cfg["isa_flags"].get(a.split("=")[0])
            notes.append("replaced %s with %s (a wheel must run on every %s machine)" % (a, repl or "nothing", cfg["arch"]))
            if repl:
                out.append(repl)
        elif a == "-lstdc++" and cfg["static_cxx"]:
            out += ["-Wl,-Bstatic", "-lstdc++", "-Wl,-Bdynamic"]
        elif a in ("-Wl,-z,pack-relative-relocs",) and cfg["no_relr"]:
            notes.append("dropped %s (DT_RELR needs glibc 2.36)" % a)
        else:
            out.append(a)
    return out


def env_prefix_map(cfg: WrapperConfig, args: list[str]) -> list[str]:
    """Map the build environment's prefix to /python when this compile uses something under it
    (numpy's or pybind11's headers, say), so its path stays out of the objects.

    Only then: an isolated build environment has a new temporary path every build, and a map
    naming it would change every command line, which defeats sccache.  The empty include
    directory setuptools adds for every virtual environment does not count.
    """
    prefix = cfg["env_prefix"]
    if not prefix:
        return []
    empty_include = os.path.join(prefix, "include")
    for arg in args:
        if prefix not in arg:
            continue
        path = arg[2:] if arg.startswith("-I") and len(arg) > 2 else arg
        if path.rstrip("/") == empty_include and not has_files(empty_include):
            continue
        return ["-ffile-prefix-map=%s=/python" % prefix]
    return []


def has_files(directory: str) -> bool:
    for _root, _dirs, files in os.walk(directory):
        if files:
            return True
    return False


def output_of(args: list[str]) -> str | None:
    for i, a in enumerate(args):
        if a == "-o" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("-o") and len(a) > 2:
            return a[2:]
    return None


def is_extension_module(output: str | None) -> bool:
    if not output:
        return False
    base = os.path.basename(output)
    return base.endswith(".so") and not base.startswith("lib")


def main(argv: list[str]) -> int:
    cfg_path, lang, args = argv[1], argv[2], argv[3:]
    with open(cfg_path, "rb") as f:
        cfg: WrapperConfig = marshal.load(f)
    real: list[str] = cfg["cxx"] if lang == "c++" else cfg["cuda_host"] if lang == "cuda-host" else cfg["cc"]
    if not args or any(a in _PASS_THROUGH or a.startswith("-print-") or (a.startswith("-dump") and a[5:] in _DUMP_QUERIES)
                       for a in args):
        return run(real + args, cfg)
    notes: list[str] = []
    args = rewrite(args, lang, cfg, notes)
    compile_only = any(a in _COMPILE_ONLY for a in args)
    cmd = list(real)
    maps = env_prefix_map(cfg, args)
    if "-E" in args:
        cmd += cfg["preprocess_flags"] + maps + args
        if lang == "cuda-host":
            code = run(cmd, cfg)
            return code if code == 0 else explain_cuda_refusal(args, real, cfg, code)
    elif compile_only:
        cmd += cfg["compile_flags"] + maps + args
    else:
        return link(real, args, cfg, maps, notes)
    for note in notes:
        warn(cfg, note)
    return run(cmd, cfg)


def explain_cuda_refusal(args: list[str], real: list[str], cfg: WrapperConfig, code: int) -> int:
    """nvcc's host-compiler check (crt/host_config.h) failed: say which gcc versions this CUDA
    accepts, which one was given, and how to give another.  Other failures pass as they are."""
    import re

    header = next((os.path.join(a[2:], "crt", "host_config.h") for a in args if a.startswith("-I")
                   and os.path.isfile(os.path.join(a[2:], "crt", "host_config.h"))), None)
    if header is None or "-D__NV_NO_HOST_COMPILER_CHECK=1" in args:
        return code
    with open(header, encoding="utf-8", errors="replace") as f:
        text = f.read()
    newest = re.search(r"#if __GNUC__ > (\d+)", text)
    oldest = re.search(r"#if __GNUC__ < (\d+)", text)
    version = capture(real + ["-dumpversion"], cfg).strip()
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else None
    if major is None or newest is None or (major <= int(newest.group(1)) and (
            oldest is None or major >= int(oldest.group(1)))):
        return code
    cuda = ".".join(a.split("=", 1)[1] for a in args if a.startswith(("-D__CUDACC_VER_MAJOR__=", "-D__CUDACC_VER_MINOR__=")))
    accepted = (f"gcc {oldest.group(1)} to {newest.group(1)}" if oldest else f"gcc {newest.group(1)} and older")
    sys.stderr.write(
        "manywheel: error: nvcc (CUDA %s) accepts %s as its host compiler (%s), and the host compiler %s is gcc %s\n"
        "  hint: install a gcc this CUDA accepts and name it in NVCC_CCBIN (CUDAHOSTCXX for CMake): manywheel "
        "wraps that compiler; or use a CUDA release that accepts gcc %s\n"
        % (cuda or "?", accepted, header, real[-1], version, major))
    return code


def capture(cmd: list[str], cfg: WrapperConfig) -> str:
    code, output = run_captured(cmd, cfg)
    return output if code == 0 else ""


def link_command(real: list[str], args: list[str], cfg: WrapperConfig, maps: list[str]) -> list[str]:
    # Stubs come first on the search path; a link may compile sources on the way.
    cmd: list[str] = list(real) + cfg["compile_flags"] + maps + cfg["link_flags"] + args + cfg["link_flags_after"]
    if "-shared" in args and is_extension_module(output_of(args)) and cfg["export_map"]:
        # Only PyInit_* (and the listed exports) stay visible, so the parts of the static
        # libstdc++ and of static archives nothing reaches can go: about 40 % of a small C++ module.
        cmd += ["-Wl,--version-script=" + cfg["export_map"], "-Wl,--exclude-libs,ALL", "-Wl,--gc-sections"]
    return cmd


def link(real: list[str], args: list[str], cfg: WrapperConfig, maps: list[str], notes: list[str]) -> int:
    """Link, with libraries outside the policy's allow-list linked statically or bundled."""
    bundled: list[BundledEntry] = []
    static: list[str] = []
    if "-shared" in args and cfg["libs"]:
        from . import extlibs  # only links that may need it pay for its imports

        try:
            plan = extlibs.rewrite_link(args, cfg, prefer_static=True)
            if plan.static:  # an archive may not be fit for a shared object, or may leave references unresolved
                code, output = run_captured(link_command(real, plan.args, cfg, maps), cfg)
                missing = extlibs.unresolved(output_of(args) or "a.out", plan.args, cfg) if code == 0 else []
                if code == 0 and not missing:
                    sys.stderr.write(output)
                    return linked(cfg, args, plan.bundled, plan.static, notes + plan.notes) or host_copy_check(args, cfg)
                if code == 0:
                    why = "it leaves %d references unresolved: %s" % (
                        len(missing or ()), ", ".join((missing or [])[:5]) + (", ..." if len(missing or ()) > 5 else ""))
                else:
                    why = failure_reason(output)
                if not plan.chosen_static:  # only archives the settings asked for: nothing else to try
                    sys.stderr.write(output)
                    sys.stderr.write("manywheel: error: linking %s with the static libraries [tool.manywheel] static "
                                     "and from-source name failed: %s\n  hint: install the static libraries they "
                                     "need (or list them in from-source), or move them to [tool.manywheel] bundle\n"
                                     % (output_of(args) or "the output", why))
                    return 1
                notes.append("a static library could not be linked into %s (%s); bundling the shared library instead"
                             % (output_of(args) or "the output", why))
                plan = extlibs.rewrite_link(args, cfg, prefer_static=False)
        except extlibs.LinkError as e:
            sys.stderr.write("manywheel: error: %s\n" % e)
            return 1
        args_out, bundled, static = plan.args, plan.bundled, plan.static
        notes += plan.notes
    else:
        args_out = args
    linked(cfg, args, bundled, static, notes)
    return run(link_command(real, args_out, cfg, maps), cfg) or host_copy_check(args, cfg)


def host_copy_check(args: list[str], cfg: WrapperConfig) -> int:
    """1, with the reason, when a linked file needs the host's copy of a library built from source."""
    libs = cfg["libs"]
    output = output_of(args)
    if not libs or not libs.get("from_source") or not output:
        return 0
    from . import extlibs

    found = extlibs.host_copies(output, libs)
    if not found:
        return 0
    sys.stderr.write("manywheel: error: %s needs %s from the host, and %s built from source for the baseline "
                     "(from-source): a library or path in the link brought the host's copy in\n  hint: link it with "
                     "-l<name> from its prefix (pkg-config gives the flags), and list every library that needs it "
                     "in from-source too\n" % (output, ", ".join(found), "it is" if len(found) == 1 else "they are"))
    os.unlink(output)
    return 1


def failure_reason(output: str) -> str:
    """The line of a failed link's output that says why (not collect2's summary)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marker in ("recompile with -fPIC", "can not be used when making a shared object", "undefined reference",
                   "error:", "cannot find"):
        for line in lines:
            if marker in line and not line.startswith("collect2:"):
                return line[len("/usr/bin/ld: "):] if line.startswith("/usr/bin/ld: ") else line
    return lines[-1] if lines else "(no output)"


def linked(cfg: WrapperConfig, args: list[str], bundled: list[BundledEntry], static: list[str], notes: list[str]) -> int:
    for note in notes:
        warn(cfg, note)
    record_link(cfg, args, bundled, static)
    return 0


def record_link(cfg: WrapperConfig, args: list[str], bundled: list[BundledEntry], static: list[str]) -> None:
    """Remember which objects went into which output, to name them if verification fails,
    which libraries it bundles and which external archives it links statically."""
    output = output_of(args)
    if not output:
        return
    inputs = [os.path.abspath(a) for a in args
              if not a.startswith("-") and a.endswith((".o", ".a", ".obj", ".lo")) and os.path.exists(a)]
    linklog.append(cfg["state_dir"], {"output": os.path.abspath(output), "inputs": inputs, "cwd": os.getcwd(),
                                      "bundled": bundled, "static": static})


def warn(cfg: WrapperConfig, note: str) -> None:
    """Print each distinct warning once per build (the marker files live in the wrapper dir)."""
    key = "".join(c if c.isalnum() else "_" for c in note)[:120]
    marker = os.path.join(cfg["state_dir"], "warned-" + key)
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except OSError:
        return
    sys.stderr.write("manywheel: warning: %s\n" % note)


def compiler_environ(cfg: WrapperConfig) -> dict[str, str]:
    """The environment without the wrappers on PATH: a launcher (ccache, sccache) that looks
    for the compiler on PATH must find the real one, not this wrapper again."""
    env = dict(os.environ)
    wrappers = os.path.join(cfg["state_dir"], "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != wrappers)
    return env


def run_captured(cmd: list[str], cfg: WrapperConfig) -> tuple[int, str]:
    """Run the compiler with its output kept, to be printed or summed up by the caller."""
    import subprocess

    if cfg["verbose"]:
        sys.stderr.write("manywheel: $ %s\n" % " ".join(cmd))
    try:
        proc = subprocess.run(cmd, env=compiler_environ(cfg), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as e:
        return 127, "cannot run the compiler %r: %s\n" % (cmd[0], e.strerror)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def run(cmd: list[str], cfg: WrapperConfig) -> int:
    if cfg["verbose"]:
        sys.stderr.write("manywheel: $ %s\n" % " ".join(cmd))
        sys.stderr.flush()
    env = compiler_environ(cfg)
    try:
        pid = os.posix_spawn(cmd[0], cmd, env)  # toolchain.find_compiler made cmd[0] absolute
        _, status = os.waitpid(pid, 0)
    except OSError as e:
        sys.stderr.write("manywheel: error: cannot run the compiler %r: %s\n" % (cmd[0], e.strerror))
        return 127
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code  # killed by a signal: the shell's convention
    if code != 0:
        sys.stderr.write("manywheel: error: the compiler exited with code %d: %s\n" % (code, " ".join(cmd)))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
