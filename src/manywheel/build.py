"""The build, as a list of steps: settings -> baseline -> inner build -> ELF facts -> verdict -> wheel."""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from . import __version__
from .errors import ComplianceError, InnerBackendError, PolicyError, WheelError
from .files import default_cache_dir, replace_atomically
from .inner.hooks import call_hook, inner_options, load_inner_backend, runs_own_build_tool
from .inner.requires import SETUPTOOLS, known_requires, lacks_setuptools, missing_setuptools
from .inner.setuptools_dirs import setuptools_build_dirs
from .arches import host_arch
from .policy import Policy, excludes, find_policy, load_policies, policy_names, provided_key
from .settings import Settings, build_system_requires, inner_config_settings, read_pyproject, read_settings
from .wheel import source_date_epoch

if TYPE_CHECKING:
    from .inner.bytecode import BytecodeCache
    from ._wrapper.linklog import LinkEntry
    from .check.elf import ElfFacts
    from .repair.bundle import BundledLibrary
    from .toolchain.cross import TargetPython
    from .toolchain.wrappers import Toolchain
    from .wheel import WheelContents
    from .repair.bundle import ClosureRules
    from .check.verify import Verdict
    from .repair.provided import ProvidedLibrary
    from .toolchain.compiler import Compiler, Compilers
    from .toolchain.wrappers import BaselineFlags, LibraryRules
    from .toolchain.prefixes import Prefixes

# The modules only a wheel build needs (toolchain, ELF reading, verification, reports) are
# imported by the steps that use them: the other hooks (get_requires_*, prepare_metadata_*,
# build_sdist) each run in a fresh process and should not pay for them.

_SKIP_DIRS = {".git", "build", "dist", ".tox", ".nox", ".venv", "venv", "__pycache__", "node_modules"}


def log(message: str) -> None:
    print(f"manywheel: {message}", file=sys.stderr, flush=True)


def _check_default_target(name: str, arch: str, arch_source: str) -> None:
    """The default target is manylinux_2_17; an architecture whose manylinux policies all begin
    later (riscv64: manylinux_2_31) needs one named, and is told which."""
    if name in policy_names(arch):
        return
    oldest = next((p.name for p in load_policies(arch) if p.family == "manylinux"), None)
    raise PolicyError(
        f"the default target {name} does not exist for {arch} (arch from {arch_source}): "
        f"the oldest manylinux policy for {arch} is {oldest}",
        hint=f'set the target, e.g. target = "{oldest}" in [tool.manywheel] or -C manywheel.target={oldest}')


@dataclass(frozen=True)
class Context:
    project: Path
    settings: Settings
    environ: Mapping[str, str]
    arch: str
    target: Policy | None  # None: "auto"
    config_settings: dict[str, Any] | None
    build_requires: tuple[str, ...] = ()  # [build-system] requires: the bytecode cache's roots (_bytecode)

    @classmethod
    def load(cls, config_settings: Mapping[str, Any] | None) -> Context:
        project = Path.cwd()
        pyproject = read_pyproject(project)
        settings = read_settings(project, config_settings, os.environ, pyproject)
        arch = settings.arch or host_arch()
        target = None
        if settings.target != "auto":
            from .toolchain.cross import check_target_for_arch

            check_target_for_arch(settings.target, arch, settings.sources.get("arch", "default"))
            if settings.sources.get("target", "default") == "default":
                _check_default_target(settings.target, arch, settings.sources.get("arch", "default"))
            target = find_policy(settings.target, arch)
            if target.family != "manylinux":
                raise PolicyError(
                    f"target {target.name} is a musllinux policy ({settings.sources.get('target', 'default')}): "
                    "manywheel pins to glibc baselines only",
                    hint="choose a manylinux target (manylinux_2_17, ...); musllinux wheels are built on a musl host")
        return cls(project, settings, dict(os.environ), arch, target, inner_config_settings(config_settings),
                   tuple(build_system_requires(pyproject)))

    @property
    def cross(self) -> bool:
        """Whether this build is for another architecture than the host's."""
        return self.arch != host_arch()

    @property
    def cache_dir(self) -> Path:
        """manywheel's cache: cache-dir, else $XDG_CACHE_HOME/manywheel or ~/.cache/manywheel."""
        return Path(self.settings.cache_dir) if self.settings.cache_dir else default_cache_dir(self.environ)

    @property
    def arch_source(self) -> str:
        return self.settings.sources.get("arch", "default")

    def inner(self) -> Any:
        return load_inner_backend(self.settings.inner_backend, self.settings.inner_backend_path, self.project)


@contextlib.contextmanager
def patched_environ(changes: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def make_baseline(ctx: Context, workdir: Path, compilers: Compilers) -> BaselineFlags | None:
    """The pinned baseline for the target, or None when pinning is off."""
    if not ctx.settings.pin:
        return None
    from .toolchain.baseline import prepare_baseline  # the baseline step; imported late, it is heavy

    return prepare_baseline(ctx.target, compilers, ctx.settings, workdir, log)


def build_wheel(wheel_directory: str, config_settings: Mapping[str, Any] | None,
                metadata_directory: str | None, *, editable: bool = False) -> str:
    """Build the wheel, as a list of steps: settings -> compilers, baseline and wrappers -> the inner
    backend's build -> bundled libraries -> ELF facts -> verdict -> SBOM -> the wheel, retagged.
    The build environment's bytecode is in place before any of it is imported (_bytecode), and
    what the cache lacked is compiled once the wheel is written."""
    reused = built_for_metadata(metadata_directory, wheel_directory)
    if reused is not None:
        return reused
    clock = StepClock()
    ctx = Context.load(config_settings)
    _check_editable(ctx, editable)
    bytecode = _bytecode(ctx)
    name = _build_wheel(ctx, clock, wheel_directory, metadata_directory, editable)
    bytecode.fill()
    return name


def _build_wheel(ctx: Context, clock: StepClock, wheel_directory: str, metadata_directory: str | None,
                 editable: bool) -> str:
    """build_wheel's steps, from the inner backend's import to the wheel written."""
    from ._wrapper import linklog
    from .check.scan import requires_dist_of
    from .repair.provided import find_provided, report_provided
    from .repair.sbom import BuiltFromSource, add_sbom
    from .wheel import write_wheel

    backend = ctx.inner()
    clock.lap("settings and inner backend")
    started = time.time()
    target_name = ctx.target.display_name if ctx.target else f"auto ({ctx.arch})"
    log(f"manywheel {__version__}: target {target_name}, inner backend {ctx.settings.inner_backend}")
    provided = find_provided(ctx.settings.provided_by)
    with build_directory(ctx, editable) as work:
        tools = prepare_tools(ctx, work, editable, provided, clock)
        inner_wheel = run_inner_build(ctx, backend, work, tools, editable, metadata_directory)
        clock.lap("inner build")
        links = linklog.read(tools.toolchain.link_log)  # complete: every link of the inner build has run
        contents, added = repair(ctx, inner_wheel, links, provided, tools, work, editable)
        clock.lap("repair and bundling")
        facts = facts_of(ctx, contents, links, editable, started)
        clock.lap("ELF facts")
        if not facts and contents.filename.endswith("-any.whl"):
            log("no ELF files: a pure-Python wheel, passed through as it is")
            return _pass_through(inner_wheel, Path(wheel_directory))
        if ctx.settings.provided_by:
            report_provided(facts, ctx.settings.provided_by, provided,
                            requires_dist_of(contents.member(f"{contents.dist_info}/METADATA").data), log)
        policy, verdict = choose_policy(ctx, facts, tools.toolchain.link_log, pinned=tools.baseline is not None,
                                        aliases={str(work / "setuptools-build"): "build"}, bundled=list(added),
                                        wheel_name=contents.filename)
        clock.lap("verdict")
        contents = add_sbom(contents, {p: lib.source for p, lib in added.items()},
                            links, cc=tools.compilers.cc, environ=ctx.environ, tag=policy.tag,
                            baseline=tools.baseline.summary if tools.baseline
                            else "not pinned (pin = false): the host's glibc",
                            epoch=source_date_epoch(ctx.environ), log=log,
                            aliases={str(ctx.project): "<project>", str(work / "setuptools-build"): "<build>",
                                     str(work): "<manywheel-build>",
                                     **{str(lib.prefix): f"<from-source>/{lib.prefix.name}"
                                        for lib in tools.libraries.libraries}},
                            built=[BuiltFromSource(str(lib.prefix), lib.package, lib.version, lib.purl,
                                                   lib.built_for, lib.origin) for lib in tools.libraries.libraries])
        clock.lap("SBOM")
        out = write_wheel(contents, Path(wheel_directory), list(policy.platform_tags), source_date_epoch(ctx.environ))
        clock.lap("wheel written")
        log(f"wrote {out.name}: {_reason(verdict, policy)}")
        log(clock.summary())
    return out.name


def _bytecode(ctx: Context) -> BytecodeCache:
    """The build environment's bytecode from the cache, before manywheel's and the inner backend's
    modules are imported (``manywheel.inner.bytecode``)."""
    from .inner.bytecode import BytecodeCache

    modules = ["manywheel"] + ([] if ctx.settings.inner_backend_path else [ctx.settings.inner_backend])
    return BytecodeCache(ctx.settings.bytecode_cache, ctx.cache_dir, modules, ["manywheel", *ctx.build_requires], log,
                         ctx.settings.verbose)


class StepClock:
    """How long each step of one build took: the build log's last line, which the benchmarks read
    (benchmarks/bench_standard_path.py: where a build's fixed cost goes)."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.times: dict[str, float] = {}

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.times[step] = self.times.get(step, 0.0) + now - self.last
        self.last = now

    def summary(self) -> str:
        steps = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in self.times.items())
        return f"time per step: {steps}; total {self.last - self.started:.2f} s"


def _check_editable(ctx: Context, editable: bool) -> None:
    if editable and ctx.cross:
        raise WheelError(f"an editable install is for this machine ({host_arch()}), not for {ctx.arch} "
                         f"(arch from {ctx.arch_source})",
                         hint="build a wheel for another architecture (python -m build --wheel), or install "
                              "editable without arch")


@dataclass(frozen=True)
class Tools:
    """What the inner build compiles and links with."""

    compilers: Compilers
    baseline: BaselineFlags | None
    toolchain: Toolchain
    target_python: TargetPython | None  # when cross-building
    libraries: Prefixes  # the libraries built from source (from-source)


def prepare_tools(ctx: Context, work: Path, editable: bool, provided: Sequence[ProvidedLibrary],
                  clock: StepClock | None = None) -> Tools:
    """The step before the inner build: the compilers, the baseline, the target's Python when
    cross-building, and the wrappers that route every compile and link through the baseline."""
    from .toolchain.cross import make_target_python
    from .toolchain.wrappers import make_toolchain

    lap = clock.lap if clock is not None else (lambda step: None)
    compilers = find_compilers(ctx)  # once a build
    lap("compilers")
    baseline = make_baseline(ctx, work / "baseline", compilers)
    lap("baseline")
    libraries = build_from_source(ctx, compilers, baseline)
    if libraries.libraries:
        lap("from-source libraries")
    wrappers = str(work / "toolchain" / "bin" / "cc"), str(work / "toolchain" / "bin" / "c++")  # make_toolchain's
    target_python = make_target_python(ctx.arch, work / "python", compilers.cc, wrappers) if ctx.cross else None
    toolchain = make_toolchain(work / "toolchain", compilers, baseline,
                               project=ctx.project, verbose=ctx.settings.verbose,
                               libraries=library_rules(ctx, editable, provided, baseline, libraries),
                               target_python=target_python, cache=ctx.cache_dir, log=log,
                               launcher=ctx.settings.launcher)
    toolchain.env.update(libraries.env(ctx.environ, ctx.cross, toolchain.env["PATH"]))
    log(f"toolchain: {toolchain.summary}")
    lap("toolchain and wrappers")
    if target_python is not None:
        log(f"cross-building for {ctx.arch} ({ctx.arch_source}): extension suffix {target_python.ext_suffix}, "
            f"platform {target_python.platform}, headers {target_python.include}")
    return Tools(compilers, baseline, toolchain, target_python, libraries)


def build_from_source(ctx: Context, compilers: Compilers, baseline: BaselineFlags | None) -> Prefixes:
    """The libraries of ``from-source``, each built (or taken from the cache) for the target, in the order
    they need; nothing when the setting is empty."""
    from .toolchain.prefixes import Prefixes

    s = ctx.settings
    if not s.from_source:
        return Prefixes()
    from .toolchain.fromsource import build_libraries, check_needs, resolve
    from .toolchain.aptsource import PrivateApt

    cache = ctx.cache_dir
    requests = resolve(s.from_source, s.from_source_options, PrivateApt(cache / "sources" / "apt", log), log)
    for note in check_needs(requests, _allowed_link_names(ctx), ctx.cross, lambda pc: _host_has(pc, ctx.environ)):
        log(note)
    built_for = f"{ctx.target.name}_{ctx.arch}" if ctx.target and baseline else f"the host's ABI ({ctx.arch})"
    log(f"from-source: {', '.join(r.package for r in requests)} (in this order), for {built_for}")
    return build_libraries(requests, compilers=compilers, baseline=baseline, built_for=built_for, cache=cache,
                           jobs=ctx.settings.jobs or os.cpu_count() or 1, environ=ctx.environ, log=log)


def _host_has(pc: str, environ: Mapping[str, str]) -> bool:
    import subprocess

    try:
        return subprocess.run(["pkg-config", "--exists", pc], env=dict(environ)).returncode == 0
    except OSError:
        return False


def _allowed_link_names(ctx: Context) -> frozenset[str]:
    from ._wrapper.extlibs import link_name

    policy = _policy_for_libraries(ctx)
    return frozenset(n for n in (link_name(lib) for lib in (policy.libraries if policy else ())) if n)


def run_inner_build(ctx: Context, backend: Any, work: Path, tools: Tools, editable: bool,
                    metadata_directory: str | None) -> Path:
    """The inner backend's build_wheel (or build_editable) under the wrappers; the wheel it wrote."""
    from .toolchain.cross import target_python_applied

    hook = "build_editable" if editable else "build_wheel"
    jobs = ctx.settings.jobs or os.cpu_count() or 1
    options = inner_options(ctx.settings.inner_backend, jobs, ctx.config_settings, ctx.environ, ctx.project,
                            cross_file=tools.toolchain.cross_files.get("meson"))
    log(f"compiling: {ctx.settings.inner_backend}.{hook}" + (f" ({options.note})" if options.note else ""))
    inner_out = work / "inner"
    inner_out.mkdir()
    env = dict(tools.toolchain.env, **setuptools_build_dirs(work, ctx.environ), **options.env)
    # Only a build through setuptools' build_ext needs setuptools patched, or imported at all.
    if runs_own_build_tool(ctx.settings.inner_backend) or jobs < 2:
        parallel: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    else:
        from .inner.parallel import parallel_compile

        parallel = parallel_compile(jobs, log)
    with patched_environ(env), target_python_applied(tools.target_python), parallel:
        name = call_hook(backend, hook, str(inner_out), options.config_settings, metadata_directory)
    if not isinstance(name, str) or not (inner_out / name).is_file():
        raise WheelError(f"the inner backend's {hook} returned {name!r}, which is not a wheel it wrote")
    return inner_out / name


def repair(ctx: Context, inner_wheel: Path, links: Sequence[LinkEntry], provided: Sequence[ProvidedLibrary],
           tools: Tools, work: Path, editable: bool) -> tuple[WheelContents, Mapping[str, BundledLibrary]]:
    """The inner wheel with the build host's RPATH entries taken out, the libraries its links bundled
    (and their closure) added, each module's RUNPATH naming them; a warning for each ELF file no
    wrapped link wrote."""
    from .repair.bundle import bundle_libraries, bundled_in
    from .repair.runpath import strip_host_runpaths
    from .wheel import read_wheel

    bundled = bundled_in(links)
    closure = closure_rules(ctx, provided, tools.compilers.cc, work / "closure") if bundled else None
    contents, added = bundle_libraries(strip_host_runpaths(read_wheel(inner_wheel), log), bundled, provided, closure)
    for path, lib in added.items():
        log(f"bundled {path}" + (f" (needed by {lib.needed_by})" if lib.needed_by else f" ({lib.source})"))
    for member in not_linked_by_wrappers(contents.members, links, added) if not editable else []:
        log(f"warning: {member} was not linked through manywheel's compiler wrappers: no link of it was seen, "
            "so it was built without the baseline's pins (a prebuilt file, or a build that bypassed CC/CXX: a "
            "stale CMake cache or build directory, a cross/native file or ninja rule naming gcc by path). It is "
            "verified like every file, and the tag follows what it needs")
    return contents, added


def facts_of(ctx: Context, contents: WheelContents, links: Sequence[LinkEntry], editable: bool,
             started: float) -> list[ElfFacts]:
    """The ELF facts of every file the wheel carries (for an editable install, of those it builds in
    the source tree too)."""
    from .check.scan import facts_of_members

    facts = facts_of_members(contents.members)
    if editable:
        facts += _facts_built_in_tree(ctx.project, started, links)
    return facts


def find_compilers(ctx: Context) -> Compilers:
    """The real C and C++ compilers: the host's (CC, CXX, Python's sysconfig), or for another
    architecture its cross compilers; with the compiler cache the inner backend's build system
    would have used in front (meson's sccache or ccache, for a compiler it would have found itself)."""
    from .inner.hooks import compiler_cache
    from .toolchain.compiler import Compilers

    compilers = Compilers.find(ctx.environ, ctx.arch, ctx.arch_source)
    cache = None if ctx.cross else compiler_cache(ctx.settings.inner_backend, ctx.environ)
    if cache is None:
        return compilers
    return compilers._replace(cc=compilers.cc if ctx.environ.get("CC") else compilers.cc.behind(cache),
                              cxx=compilers.cxx if ctx.environ.get("CXX") else compilers.cxx.behind(cache))


def not_linked_by_wrappers(members: Sequence[Any], links: Sequence[Any], bundled: Mapping[str, Any]) -> list[str]:
    """The ELF files of the wheel that no link through the wrappers wrote (by file name; the
    libraries manywheel bundled aside)."""
    outputs = {os.path.basename(link["output"]) for link in links}
    return [m.name for m in members if m.data[:4] == b"\x7fELF" and m.name not in bundled
            and os.path.basename(m.name) not in outputs]


def library_rules(ctx: Context, editable: bool, provided: Sequence[ProvidedLibrary] = (),
                  baseline: BaselineFlags | None = None, libraries: Prefixes | None = None) -> LibraryRules | None:
    """What links do with libraries outside the allow-list of the target (for "auto", of the newest
    policy); None when nothing is pinned (the host's ABI: libraries are left to the linker)."""
    from .toolchain.openmp import build_command, runtime_path
    from .repair.provided import link_names
    from .toolchain.wrappers import LibraryRules

    if baseline is None:
        return None
    openmp = None
    if not editable and not ctx.cross:  # an editable install runs here, against the host's runtime
        runtime = runtime_path(ctx.cache_dir, baseline.directory)
        openmp = (str(runtime), build_command(runtime, ctx.settings.openmp_source, ctx.cache_dir))

    s = ctx.settings
    return LibraryRules(_allowed_link_names(ctx), s.static, s.bundle, s.exclude, bundle_enabled=not editable,
                        provided=link_names(provided), openmp=openmp,
                        from_source=libraries.link_dirs() if libraries else {})


def _policy_for_libraries(ctx: Context) -> Policy | None:
    """The policy whose allow-list decides what is external: the target (for "auto", the newest)."""
    policies = [p for p in load_policies(ctx.arch) if p.family == "manylinux"]
    return ctx.target or (policies[-1] if policies else None)


def closure_rules(ctx: Context, provided: Sequence[ProvidedLibrary], cc: Compiler, workdir: Path) -> ClosureRules:
    """What the closure of the bundled libraries leaves to the system, and where it finds the rest."""
    from ._wrapper.extlibs import link_name
    from .repair.bundle import ClosureRules

    policy = _policy_for_libraries(ctx)
    exclude = frozenset(n for n in (link_name(e) or e for e in ctx.settings.exclude))
    return ClosureRules(allowed=frozenset(policy.libraries if policy else ()), exclude=exclude,
                        provided=frozenset(p.soname for p in provided),
                        search_dirs=tuple(cc.search_dirs), workdir=workdir)


def choose_policy(ctx: Context, facts: list[ElfFacts], link_log: Path, *, pinned: bool,
                  aliases: Mapping[str, str], bundled: Sequence[str] = (),
                  wheel_name: str | None = None) -> tuple[Policy, Verdict]:
    """The tag to write: the target if the files meet it (for "auto", the verdict), a newer one
    when only bundled host libraries keep the files from the target; else a ComplianceError.
    The inner backend's Python ABI tag (``wheel_name``'s) is kept, once its modules are shown to meet it."""
    from .check.verify import judge

    verdict = judge(facts, load_policies(ctx.arch), ctx.arch, exclude=lambda lib: excludes(ctx.settings.exclude, lib)
                    or provided_key(ctx.settings.provided_by, lib) is not None)
    log(f"{len(facts)} ELF file{'s' if len(facts) != 1 else ''} verified, "
        f"{verdict.refs_checked} references checked: they meet {verdict.name}")
    abi_error = verify_python_abi(facts, wheel_name, link_log, aliases) if wheel_name else None
    target = ctx.target or verdict.policy or next(p for p in verdict.policies if p.family == verdict.family)
    lowered = policy_for_bundled(verdict, target, bundled)
    if lowered is not None and abi_error is None:
        warn_bundled(verdict, target, lowered)
        return lowered, verdict
    if lowered is None and not verdict.meets(target):
        error = compliance_error(verdict, target, link_log, aliases, pinned=pinned)
        if abi_error is not None:  # every violation at once
            error = ComplianceError(f"{error.message}\n{abi_error.message}",
                                    hint="\n".join(h for h in (error.hint, abi_error.hint) if h))
        raise error
    if abi_error is not None:
        raise abi_error
    return target, verdict


def verify_python_abi(facts: Sequence[ElfFacts], wheel_name: str, link_log: Path,
                      aliases: Mapping[str, str]) -> ComplianceError | None:
    """Log each extension module's Python ABI (for an abi3 or free-threaded wheel, module by module:
    the abi3 tag it meets, its GIL declaration); the error naming every fact the tag does not allow."""
    from ._wrapper import linklog
    from .check.pyabi import abi_hint, judge_python_abi, render_abi_violations, render_python_abi
    from .check.stable_abi import load_stable_abi

    abi = judge_python_abi(facts, wheel_name, load_stable_abi())
    for line in render_python_abi(abi).splitlines():
        log(line[2:])
    if abi.ok:
        return None
    from .explain import find_origins

    origins = find_origins(abi.violations, linklog.read(link_log), aliases)
    return ComplianceError(render_abi_violations(abi, origins), hint=abi_hint(abi))


def policy_for_bundled(verdict: Verdict, target: Policy, bundled: Sequence[str]) -> Policy | None:
    """The verdict's policy when the files miss ``target`` only because of libraries bundled from
    the host (built against its glibc, not the baseline); None when they meet it or something
    else blocks it."""
    blocking = verdict.blocking(target)
    if blocking and verdict.policy is not None and all(c.file in bundled for c in blocking):
        return verdict.policy
    return None


def warn_bundled(verdict: Verdict, target: Policy, tagged: Policy) -> None:
    """Name each bundled library and symbol that holds the tag above the target, and the ways out."""
    for c in sorted(verdict.blocking(target), key=lambda c: (c.file, c.subject))[:20]:
        log(f"warning: bundled {c.file}: {c.subject}: {c.reason}")
    log(f"warning: the bundled libraries above need {tagged.name}, newer than the target "
        f"{target.name}: the wheel is tagged {tagged.name}. To reach {target.name}, link them "
        f"statically (an archive built with -fPIC; [tool.manywheel] static) or bundle a build of "
        f"them made for {target.name}")


def compliance_error(verdict: Verdict, target: Policy, link_log: Path, aliases: Mapping[str, str], *,
                     pinned: bool) -> ComplianceError:
    """The error for files that miss ``target``: each violation, the objects and sources behind
    each symbol (from the link log), and for a pinned build why no shim or version covers it."""
    from ._wrapper import linklog
    from .check.report import hint_for, render_violations
    from .explain import describe_missing, find_origins

    blocking = verdict.blocking(target)
    origins = find_origins(blocking, linklog.read(link_log), aliases)
    notes = describe_missing(blocking, target.libc_version.node) if pinned else {}
    return ComplianceError(render_violations(verdict, target, origins, notes), hint=hint_for(verdict, target))


def _reason(verdict: Verdict, policy: Policy) -> str:
    binding = [c for c in verdict.constraints if c.oldest == verdict.policy]
    if verdict.policy is None:
        return "no ELF files"
    why = f"newest requirement {binding[0].subject} in {binding[0].file}" if binding else "every reference is in the oldest policy"
    if policy == verdict.policy:
        return f"{policy.name} ({why})"
    return f"target {policy.name}; the files meet {verdict.policy.name} ({why})"


def _pass_through(path: Path, out_dir: Path) -> str:
    with replace_atomically(out_dir / path.name) as out, open(path, "rb") as src:
        shutil.copyfileobj(src, out)
    log(f"wrote {path.name}")
    return path.name


@contextlib.contextmanager
def build_directory(ctx: Context, editable: bool) -> Iterator[Path]:
    """Where this build's baseline flags, wrappers and link log live.  A temporary directory,
    except for an editable install: its build tree may be used again after the install (meson-python
    rebuilds on import, scikit-build-core with editable.rebuild), and the build system recorded
    the wrappers' paths in it, so they stay, one directory per project, remade by each install."""
    if not editable:
        with tempfile.TemporaryDirectory(prefix="manywheel-") as tmp:
            yield Path(tmp)
        return
    import hashlib

    work = ctx.cache_dir / "editable" / hashlib.sha256(str(ctx.project.resolve()).encode()).hexdigest()[:16]
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "project").write_text(f"{ctx.project.resolve()}\n")
    yield work


def _facts_built_in_tree(project: Path, since: float, links: Sequence[Any] = ()) -> list[ElfFacts]:
    """ELF files an editable build compiled into the source tree during this build, and every
    file its links wrote (a build directory such as meson-python's build/cp311)."""
    from .check.elf import ELF_MAGIC, read_elf_file

    facts = []
    seen = set()
    for link in links:
        path = Path(link["output"])  # shared objects only: not a configure step's test program
        if ".so" in path.name and path.is_file() and not path.is_symlink() and path.resolve() not in seen:
            with open(path, "rb") as f:
                if f.read(4) == ELF_MAGIC:
                    seen.add(path.resolve())
                    facts.append(read_elf_file(path, os.path.relpath(path, project)))
    for root, dirs, files in os.walk(project):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(root) / name
            if not name.endswith(".so") or path.is_symlink() or path.stat().st_mtime < since - 1 or \
                    path.resolve() in seen:
                continue
            with open(path, "rb") as f:
                if f.read(4) == ELF_MAGIC:
                    facts.append(read_elf_file(path, str(path.relative_to(project))))
    return facts


def prepare_metadata(metadata_directory: str, config_settings: Mapping[str, Any] | None, *, editable: bool = False) -> str:
    ctx = Context.load(config_settings)
    bytecode = _bytecode(ctx)
    backend = ctx.inner()
    hook = "prepare_metadata_for_build_editable" if editable else "prepare_metadata_for_build_wheel"
    if hasattr(backend, hook):
        with _scratch_build_dirs(ctx):
            result: str = call_hook(backend, hook, metadata_directory, ctx.config_settings)
        bytecode.fill()
        return result
    # The inner backend cannot give metadata alone (meson-python): build the wheel, take its
    # .dist-info, and keep the wheel beside it, so that build_wheel hands it out instead of
    # building it again (what pyproject_hooks does for a backend without this hook).
    name = build_wheel(metadata_directory, config_settings, None, editable=editable)
    with zipfile.ZipFile(Path(metadata_directory) / name) as zf:
        dist_info = next(n.split("/", 1)[0] for n in zf.namelist() if n.split("/", 1)[0].endswith(".dist-info"))
        for member in zf.namelist():
            if member.startswith(dist_info + "/"):
                zf.extract(member, metadata_directory)
    (Path(metadata_directory) / _BUILT_MARKER).write_text(name)
    return dist_info


_BUILT_MARKER = "manywheel-built-wheel"


def built_for_metadata(metadata_directory: str | None, wheel_directory: str) -> str | None:
    """The wheel prepare_metadata built beside ``metadata_directory``, copied into ``wheel_directory``; else None."""
    if metadata_directory is None:
        return None
    marker = Path(metadata_directory).parent / _BUILT_MARKER
    if not marker.is_file():
        return None
    name = marker.read_text().strip()
    with replace_atomically(Path(wheel_directory) / name) as out, open(marker.parent / name, "rb") as src:
        shutil.copyfileobj(src, out)
    log(f"wrote {name} (built to answer prepare_metadata)")
    return name


def build_sdist(sdist_directory: str, config_settings: Mapping[str, Any] | None) -> str:
    ctx = Context.load(config_settings)
    bytecode = _bytecode(ctx)
    backend = ctx.inner()
    with _scratch_build_dirs(ctx, libraries=False):
        result: str = call_hook(backend, "build_sdist", sdist_directory, ctx.config_settings)
    bytecode.fill()
    epoch = source_date_epoch(ctx.environ)
    if epoch is not None:
        from .inner.sdist import normalize_sdist

        normalize_sdist(Path(sdist_directory) / result, epoch)
    log(f"wrote {result}" + (f" (normalized for SOURCE_DATE_EPOCH={epoch})" if epoch is not None else ""))
    return result


def get_requires(hook: str, config_settings: Mapping[str, Any] | None) -> list[str]:
    ctx = Context.load(config_settings)
    bytecode = _bytecode(ctx)
    requires = _get_requires(ctx, hook)
    bytecode.fill()
    return requires


def _get_requires(ctx: Context, hook: str) -> list[str]:
    known = known_requires(ctx.settings.inner_backend, ctx.settings.inner_backend_path, ctx.project)
    if known is not None:
        requires, why = known
        if ctx.settings.verbose or requires:
            log(f"{hook}: {requires or 'nothing'} ({why})")
        return requires
    try:
        backend = ctx.inner()
    except InnerBackendError as e:
        if not lacks_setuptools(e.__cause__):
            raise
        # An in-tree backend built on setuptools, which the project's requires do not list.
        log(f"{hook}: {[SETUPTOOLS]} ({missing_setuptools(ctx.settings.inner_backend)})")
        return [SETUPTOOLS]
    with _scratch_build_dirs(ctx, libraries=hook != "get_requires_for_build_sdist"):
        requires = call_hook(backend, hook, ctx.config_settings)
    return list(requires or [])


@contextlib.contextmanager
def _scratch_build_dirs(ctx: Context, *, libraries: bool = True) -> Iterator[None]:
    """setuptools writes egg-info even to answer get_requires: keep it out of the source tree.  With
    ``libraries``, the libraries of from-source are there too: a setup.py that runs pkg-config or a
    ``*-config`` script when it is imported finds them in every hook, not only in build_wheel."""
    with tempfile.TemporaryDirectory(prefix="manywheel-hook-") as tmp:
        env = dict(setuptools_build_dirs(Path(tmp), ctx.environ))
        if libraries and ctx.settings.from_source:
            compilers = find_compilers(ctx)
            built = build_from_source(ctx, compilers, make_baseline(ctx, Path(tmp) / "baseline", compilers))
            env.update(built.env(ctx.environ, ctx.cross, os.environ.get("PATH", os.defpath), after_first=False))
        with patched_environ(env):
            yield
