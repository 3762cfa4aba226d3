#!/usr/bin/env bash
# Quick start, step 1: build example_project into a verified manylinux wheel with
# `python -m build` (an isolated build that finds manywheel as a wheel built from this
# checkout), then show manywheel's verdict on it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
out=$(realpath -m "${1:-$here/example_project/dist}")
$python -m pip install --quiet --disable-pip-version-check build
mw_dist=$(mktemp -d "${TMPDIR:-/tmp}/manywheel-dist-XXXXXX")
trap 'rm -rf "$mw_dist"' EXIT
echo "== building manywheel itself (a wheel for the isolated build to install)"
PYTHON=$python "$here/tools/manywheel-wheel.sh" "$mw_dist"
echo "== python -m build example_project"
# From an empty directory: a build/ directory in the working directory would shadow pypa/build.
(cd "$mw_dist" && PIP_FIND_LINKS="$mw_dist${PIP_FIND_LINKS:+ $PIP_FIND_LINKS}" $python -m build --outdir "$out" "$here/example_project")
wheel=$(ls -t "$out"/*.whl | head -1)
echo "== manywheel check $wheel"
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$here/src" $python -m manywheel check "$wheel"
