#!/bin/sh
# Checks trapeze's API against its OpenAPI (Swagger 2.0) description, docs/api/trapeze-api.yaml,
# written to match Firecracker's (issue 22):
#   1. `swagger-cli validate` on the description;
#   2. openapi_check.js: real `trapeze --api-sock` processes answer requests, and every answer
#      (status, body) is checked against the description (see that file).
#
#   tests/api/openapi_check.sh TRAPEZE [API_YAML]
#
# The npm packages (versions pinned by package-lock.json beside this script) are installed with
# `npm ci` into a cache outside the repository, ${XDG_CACHE_HOME:-~/.cache}/trapeze/npm (or
# $TRAPEZE_NPM_DIR), and reinstalled only when the lock file changes. Exits 77 (skipped) when
# node or npm is missing; a failing install is a failure.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
trapeze=${1:?usage: openapi_check.sh TRAPEZE [API_YAML]}
doc=${2:-$here/../../docs/api/trapeze-api.yaml}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: node and npm are needed (the npm packages validate the API description)"
    exit 77
fi

npm_dir=${TRAPEZE_NPM_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/trapeze/npm}
mkdir -p "$npm_dir"
# One install at a time (ctest -j may run this beside another checkout's copy).
exec 9>"$npm_dir/.lock"
flock 9
if ! cmp -s "$here/package-lock.json" "$npm_dir/package-lock.json" ||
   [ ! -x "$npm_dir/node_modules/.bin/swagger-cli" ]; then
    cp "$here/package.json" "$here/package-lock.json" "$npm_dir/"
    echo "installing the npm packages into $npm_dir"
    npm ci --prefix "$npm_dir" --ignore-scripts --no-audit --no-fund --loglevel=error ||
        { rm -f "$npm_dir/package-lock.json"; echo "FAIL: npm ci failed"; exit 1; }
fi
flock -u 9

"$npm_dir/node_modules/.bin/swagger-cli" validate "$doc"
exec node "$here/openapi_check.js" "$trapeze" "$doc" "$npm_dir"
