"""The wrapper's configuration: one typed definition for the side that writes it
(``manywheel.toolchain.wrappers``) and the side that reads it (``ccwrap``, ``extlibs``).

The wrapper reads it with ``marshal`` (no imports) on every compile, so at run time a
configuration is a plain dict and this module imports nothing; the ``TypedDict`` below
exists for the type checker, which then refuses a key one side spells differently.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing costs the wrapper more to import than the rest of its start
if TYPE_CHECKING:
    from typing import TypedDict

    class OpenmpConfig(TypedDict):
        """The OpenMP runtime built for the baseline (``manywheel.toolchain.openmp``)."""

        runtime: str  # its cached file (libgomp.so.1), there once built
        build: list[str]  # the command that builds it, given the configuration file as one more argument

    class LibraryConfig(TypedDict):
        """How links treat libraries outside the target policy's allow-list (see ``extlibs``)."""

        allowed: list[str]  # link names the policy allows ("c", "m", "z", ...)
        static: list[str]  # [tool.manywheel] static
        bundle: list[str]  # [tool.manywheel] bundle
        exclude: list[str]  # [tool.manywheel] exclude
        provided: dict[str, str]  # provided-by: link name and file name -> the provider's installed file
        bundle_enabled: bool  # False for editable installs: they run against the host's libraries
        search_dirs: list[str]  # the linker's own search directories, after any -L
        openmp: OpenmpConfig | None  # None: OpenMP links are left to the linker
        from_source: dict[str, str]  # link name -> the only directory it may come from (from-source)

    class WrapperConfig(TypedDict):
        """Everything a wrapper needs to rewrite and run one compiler call."""

        cc: list[str]  # the real C compiler command (launcher kept), absolute
        cxx: list[str]  # the real C++ compiler command
        cuda_host: list[str]  # the real compiler nvcc runs for host code (lang "cuda-host")
        arch: str  # the manylinux architecture name
        compile_flags: list[str]  # added to every compile (and link)
        preprocess_flags: list[str]  # added to -E runs instead (no pin header)
        link_flags: list[str]  # before the link's own arguments (stub search path first)
        link_flags_after: list[str]  # after them
        export_map: str  # version script for extension modules, "" for none
        static_cxx: bool  # -lstdc++ is linked statically
        no_relr: bool  # drop -z pack-relative-relocs (DT_RELR needs glibc 2.36)
        isa_flags: dict[str, str]  # "-march" -> what -march=native becomes
        env_prefix: str  # the build environment's sys.prefix
        libs: LibraryConfig | None  # None: external libraries are left to the linker
        verbose: bool  # print every command
        state_dir: str  # the toolchain directory: bin/, the link log, bundle/, warning markers
        nm: str  # binutils' nm for the target (<triplet>-nm when cross-building)
