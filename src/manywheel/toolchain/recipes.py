"""What manywheel knows about the common libraries it builds from source (``from-source``).

A library not in this table is still built: its build system is detected (``configure``, then
``CMakeLists.txt``, then ``meson.build``) and it is built static with PIC and nothing else.  An
entry adds what detection cannot know: the names a project uses for it (``-l``, pkg-config,
Debian's binary packages), the options that leave out programs, documentation and tests (they
only cost time), the libraries it can use and how to turn each on or off, and the oddballs:
OpenSSL's own ``Configure``, zlib's ``configure``, libpq as a part of PostgreSQL.

Every name here is a Debian source package (``apt-cache showsrc``); the options are those of the
upstream version in Debian 12 (bookworm), the release manywheel's host images carry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Need:
    """A library another one can use, by its source package.  A required one must be built before it
    (or be linkable from the host); an optional one is used only when it is in ``from-source`` too,
    and turned off otherwise, so the result never depends on what the host happens to have."""

    package: str
    required: bool = False
    on: tuple[str, ...] = ()  # options that turn it on ("{prefix}" is its install prefix)
    off: tuple[str, ...] = ()  # options that turn it off


@dataclass(frozen=True)
class Recipe:
    package: str  # the Debian source package
    links: tuple[str, ...]  # what -l names ("xml2")
    pkgconfig: tuple[str, ...] = ()  # its pkg-config modules ("libxml-2.0")
    binaries: tuple[str, ...] = ()  # Debian binary packages of its development files
    system: str = ""  # "" (detect), "autotools", "cmake", "meson", "openssl", "zlib", "postgresql"
    args: tuple[str, ...] = ()  # options that cut what is not the library
    needs: tuple[Need, ...] = ()
    configs: tuple[str, ...] = ()  # the *-config scripts it installs
    parts: tuple[str, ...] = ()  # "postgresql": the subdirectories built and installed
    # Debian patches reverted before building, last applied first: the ones that only make Debian's
    # other flavours of a package (curl's GnuTLS and NSS builds rename the library).
    revert: tuple[str, ...] = ()


RECIPES: tuple[Recipe, ...] = (
    Recipe("zlib", ("z",), ("zlib",), ("zlib1g-dev",), system="zlib"),
    Recipe("xz-utils", ("lzma",), ("liblzma",), ("liblzma-dev",),
           args=("--disable-xz", "--disable-xzdec", "--disable-lzmadec", "--disable-lzmainfo", "--disable-scripts",
                 "--disable-lzma-links", "--disable-doc", "--disable-nls")),
    Recipe("libxml2", ("xml2",), ("libxml-2.0",), ("libxml2-dev",), system="autotools",
           args=("--without-python", "--without-icu", "--without-readline", "--without-history"),
           needs=(Need("zlib", on=("--with-zlib={prefix}",), off=("--without-zlib",)),
                  Need("xz-utils", on=("--with-lzma={prefix}",), off=("--without-lzma",))),
           configs=("xml2-config",)),
    Recipe("libxslt", ("xslt", "exslt"), ("libxslt", "libexslt"), ("libxslt1-dev",), system="autotools",
           args=("--without-python", "--without-crypto"),
           needs=(Need("libxml2", required=True),), configs=("xslt-config",)),
    Recipe("openssl", ("ssl", "crypto"), ("openssl", "libssl", "libcrypto"), ("libssl-dev",), system="openssl",
           args=("no-shared", "no-tests", "no-legacy", "--openssldir=/usr/lib/ssl"),
           needs=(Need("zlib", on=("zlib", "--with-zlib-include={prefix}/include", "--with-zlib-lib={prefix}/lib"),
                       off=("no-zlib",)),)),
    Recipe("nghttp2", ("nghttp2",), ("libnghttp2",), ("libnghttp2-dev",), system="cmake",
           args=("-DENABLE_LIB_ONLY=ON", "-DENABLE_STATIC_LIB=ON", "-DENABLE_SHARED_LIB=OFF", "-DENABLE_DOC=OFF",
                 "-DENABLE_FAILMALLOC=OFF", "-DWITH_LIBXML2=OFF", "-DWITH_JEMALLOC=OFF")),
    Recipe("curl", ("curl",), ("libcurl",), ("libcurl4-openssl-dev", "libcurl4-gnutls-dev"), system="autotools",
           args=("--disable-manual", "--disable-ldap", "--disable-ldaps", "--disable-rtsp", "--disable-dict",
                 "--disable-telnet", "--disable-tftp", "--disable-pop3", "--disable-imap", "--disable-smb",
                 "--disable-smtp", "--disable-gopher", "--disable-mqtt", "--without-libpsl", "--without-libidn2",
                 "--without-brotli", "--without-zstd", "--without-librtmp", "--without-libssh2", "--without-libssh",
                 "--without-gssapi", "--without-hyper", "--without-msh3", "--without-ngtcp2", "--without-nghttp3",
                 "--without-quiche"),
           needs=(Need("openssl", on=("--with-openssl={prefix}",), off=("--without-ssl",)),
                  Need("nghttp2", on=("--with-nghttp2={prefix}",), off=("--without-nghttp2",)),
                  Need("zlib", on=("--with-zlib={prefix}",), off=("--without-zlib",))),
           configs=("curl-config",), revert=("99_nss.patch", "90_gnutls.patch")),
    Recipe("libjpeg-turbo", ("jpeg", "turbojpeg"), ("libjpeg", "libturbojpeg"), ("libjpeg62-turbo-dev",
                                                                                   "libturbojpeg0-dev"),
           system="cmake", args=("-DENABLE_SHARED=OFF", "-DENABLE_STATIC=ON", "-DWITH_JAVA=OFF")),
    Recipe("postgresql-15", ("pq",), ("libpq",), ("libpq-dev",), system="postgresql",
           args=("--without-readline", "--without-icu", "--without-llvm", "--without-gssapi", "--without-ldap",
                 "--without-perl", "--without-python", "--without-tcl", "--without-libxml", "--without-libxslt",
                 "--without-lz4", "--without-zstd", "--without-systemd", "--without-selinux", "--without-pam"),
           needs=(Need("openssl", on=("--with-ssl=openssl",), off=()),
                  Need("zlib", on=("--with-zlib",), off=("--without-zlib",))),
           configs=("pg_config",),
           parts=("src/include", "src/common", "src/port", "src/interfaces/libpq", "src/bin/pg_config")),
)
BY_PACKAGE: Mapping[str, Recipe] = {r.package: r for r in RECIPES}


def recipe_for(package: str) -> Recipe:
    """The table's entry, or the plain one detection uses for a library the table does not know."""
    return BY_PACKAGE.get(package) or Recipe(package, ())


def resolve_name(name: str) -> tuple[str, str] | None:
    """(source package, what ``name`` was taken as) for a name the table knows: a source package,
    a ``-l`` name (``xml2``, ``-lxml2``, ``libxml2.so``), a pkg-config module or a binary package."""
    for recipe in RECIPES:
        if name == recipe.package:
            return recipe.package, "the source package"
    plain = name[2:] if name.startswith("-l") else name
    for recipe in RECIPES:
        for link in recipe.links:
            if plain in (link, f"lib{link}", f"lib{link}.so", f"lib{link}.a"):
                return recipe.package, f"the library -l{link}"
        if name in recipe.pkgconfig:
            return recipe.package, f"the pkg-config module {name}"
        if name in recipe.binaries:
            return recipe.package, f"the binary package {name}"
    return None


# OpenSSL's Configure names its targets itself.
OPENSSL_TARGETS: Mapping[str, str] = {
    "x86_64": "linux-x86_64", "i686": "linux-x86", "aarch64": "linux-aarch64", "armv7l": "linux-armv4",
    "ppc64le": "linux-ppc64le", "ppc64": "linux-ppc64", "s390x": "linux64-s390x", "riscv64": "linux64-riscv64",
}

__all__ = ["Need", "Recipe", "RECIPES", "BY_PACKAGE", "recipe_for", "resolve_name", "OPENSSL_TARGETS"]
