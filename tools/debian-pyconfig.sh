#!/usr/bin/env bash
# Fetch Debian's pyconfig.h for every architecture manywheel cross-builds for, once.
#
#   tools/debian-pyconfig.sh
#
# For each (suite, Python) in PYTHONS and each Debian architecture in ARCHES, downloads
# libpython3.X-dev from the suite's Packages index, checks its SHA256, and keeps only
#
#   CACHE/3.X/<debian-arch>/pyconfig.h     (usr/include/<multiarch>/python3.X/pyconfig.h)
#   CACHE/3.X/<debian-arch>/package        (the .deb's file name: package, version, arch)
#
# or, where the suite on the mirror has no such architecture (bullseye is LTS now:
# deb.debian.org keeps only amd64, arm64, armhf and i386 of it),
#
#   CACHE/3.X/<debian-arch>/absent         (why, and the mirror asked; another mirror retries)
#
# CACHE is ${XDG_CACHE_HOME:-$HOME/.cache}/manywheel/debian-pyconfig ($MWTEST_DEBIAN_PYCONFIG
# overrides). tests/integration/test_pyconfig_debian.py compares manywheel's generated
# pyconfig.h with these. Each entry is written in a temporary directory and renamed into
# place complete; a second run with every entry present touches no network. Prints CACHE.
# The mirror is http://deb.debian.org/debian ($MWTEST_DEBIAN_MIRROR overrides). Needs
# curl, xz and dpkg-deb.
set -euo pipefail

readonly PYTHONS="bullseye:3.9 bookworm:3.11 trixie:3.13"
readonly ARCHES="amd64 arm64 armhf ppc64el s390x i386"

CACHE=${MWTEST_DEBIAN_PYCONFIG:-${XDG_CACHE_HOME:-$HOME/.cache}/manywheel/debian-pyconfig}
CACHE=${CACHE%/}
MIRROR=${MWTEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
MIRROR=${MIRROR%/}

say() { printf 'debian-pyconfig: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# multiarch DEBIAN-ARCH: the include directory's triplet.
multiarch() {
    case $1 in
        amd64) echo x86_64-linux-gnu ;;
        arm64) echo aarch64-linux-gnu ;;
        armhf) echo arm-linux-gnueabihf ;;
        ppc64el) echo powerpc64le-linux-gnu ;;
        s390x) echo s390x-linux-gnu ;;
        i386) echo i386-linux-gnu ;;
        *) return 1 ;;
    esac
}

# package_record SUITE ARCH PACKAGE: "FILENAME SHA256" of PACKAGE in the suite's index,
# read as a stream (the index is not kept). awk reads to the end: an early exit would
# fail the pipeline (SIGPIPE, pipefail).
package_record() {
    local url="$MIRROR/dists/$1/main/binary-$2/Packages.xz"
    curl -fsSL --retry 3 "$url" | xz -dc | awk -v want="$3" '
        /^Package: / { pkg = $2; file = ""; sum = "" }
        pkg == want && /^Filename: / { file = $2 }
        pkg == want && /^SHA256: / { sum = $2 }
        /^$/ && pkg == want && file != "" && !found { print file, sum; found = 1 }
        END { if (!found && pkg == want && file != "") print file, sum }'
}

# suite_arches SUITE: the architectures the suite's Release file lists.
suite_arches() {
    curl -fsSL --retry 3 "$MIRROR/dists/$1/Release" | sed -n 's/^Architectures: //p'
}

# fetch SUITE VERSION ARCH: make CACHE/VERSION/ARCH, unless it is there already.
fetch() {
    local suite=$1 version=$2 arch=$3
    local dest="$CACHE/$version/$arch" package="libpython$version-dev"
    [[ -f $dest/pyconfig.h && -f $dest/package ]] && return 0
    [[ -f $dest/absent ]] && [[ $(tail -n 1 "$dest/absent") == "mirror: $MIRROR" ]] && return 0
    local arches record file sum tmp triplet
    arches=$(suite_arches "$suite") || die "cannot read $MIRROR/dists/$suite/Release"
    if [[ " $arches " != *" $arch "* ]]; then
        mkdir -p "$dest"
        printf '%s\nmirror: %s\n' "$suite on this mirror has no $arch (Architectures: $arches)" "$MIRROR" >"$dest/absent"
        say "$version $arch: absent ($suite on $MIRROR has no $arch)"
        return 0
    fi
    record=$(package_record "$suite" "$arch" "$package") || die "cannot read $MIRROR/dists/$suite/main/binary-$arch/Packages.xz"
    [[ -n $record ]] || die "$package is not in $suite/main for $arch"
    read -r file sum <<<"$record"
    triplet=$(multiarch "$arch")
    mkdir -p "$CACHE/$version"
    tmp=$(mktemp -d "$CACHE/$version/.tmp-$arch.XXXXXX")
    # Each fetch runs in its own background subshell: its EXIT is the end of this entry.
    # shellcheck disable=SC2064  # expand $tmp now
    trap "rm -rf '$tmp'" EXIT
    curl -fsSL --retry 3 -o "$tmp/p.deb" "$MIRROR/$file" || die "cannot download $MIRROR/$file"
    echo "$sum  $tmp/p.deb" | sha256sum --quiet -c - || die "$MIRROR/$file: SHA256 differs from the index's"
    dpkg-deb --fsys-tarfile "$tmp/p.deb" \
        | tar -x -C "$tmp" "./usr/include/$triplet/python$version/pyconfig.h" \
        || die "$file has no usr/include/$triplet/python$version/pyconfig.h"
    mkdir "$tmp/entry"
    mv "$tmp/usr/include/$triplet/python$version/pyconfig.h" "$tmp/entry/pyconfig.h"
    basename "$file" >"$tmp/entry/package"
    rm -rf "$dest"
    mv "$tmp/entry" "$dest"
    say "$version $arch: $(basename "$file")"
}

for cmd in curl xz dpkg-deb sha256sum; do
    command -v "$cmd" >/dev/null || die "$cmd is not installed"
done
pids=()
for entry in $PYTHONS; do
    for arch in $ARCHES; do
        fetch "${entry%%:*}" "${entry##*:}" "$arch" &
        pids+=($!)
    done
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[[ $failed == 0 ]] || die "some pyconfig.h files could not be fetched (see above)"
printf '%s\n' "$CACHE"
