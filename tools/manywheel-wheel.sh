#!/usr/bin/env bash
# Build manywheel's own wheel into OUTDIR (for PIP_FIND_LINKS of isolated builds) from a copy
# of the checkout, so the checkout itself gets no build/ or *.egg-info directory.
# Usage: tools/manywheel-wheel.sh OUTDIR    (PYTHON picks the interpreter, default python3)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
out=$(mkdir -p "$1" && cd "$1" && pwd)
copy=$(mktemp -d "${TMPDIR:-/tmp}/manywheel-src-XXXXXX")
trap 'rm -rf "$copy"' EXIT
tar -C "$here" --exclude='__pycache__' --exclude='*.egg-info' -cf - pyproject.toml README.md LICENSE src | tar -C "$copy" -xf -
cd "$copy"
"$python" -m pip wheel --quiet --no-deps --disable-pip-version-check -w "$out" .
