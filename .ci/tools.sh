#!/usr/bin/env bash
# The real migration tools the compatibility proof (tests/compat/tools.rs) applies
# the planner's files with, at pinned versions, from the registries this project
# reaches: PyPI (Alembic, Django), npm (Knex, dbmate, whose package ships its
# binary), Debian (sqitch). Which tools cannot be installed here and why:
# docs/compat-proof.md.
#
#   .ci/tools.sh install DIR   DIR/venv and DIR/node; apt sqitch if missing; writes DIR/env
#
# After it, `source DIR/env` sets ROLLSAFE_TOOLS_DIR, which the compat tests read
# (under CI=true they fail without it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

install() {
    local dir="$1"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if ! command -v sqitch >/dev/null 2>&1; then
        echo "installing: sqitch" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends sqitch libdbd-pg-perl \
            libdbd-sqlite3-perl libdbd-mariadb-perl >/dev/null
    fi
    [ -x "$dir/venv/bin/python" ] || python3 -m venv "$dir/venv"
    "$dir/venv/bin/pip" install -q --disable-pip-version-check -r "$here/tools/requirements.txt"
    mkdir -p "$dir/node"
    cp "$here/tools/package.json" "$dir/node/package.json"
    # Exact versions in package.json; no lockfile (npm writes one per platform).
    (cd "$dir/node" && npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null)
    cat >"$dir/env" <<ENV
export ROLLSAFE_TOOLS_DIR=$dir
ENV
    echo "tools in $dir: alembic $("$dir/venv/bin/alembic" --version | awk '{print $2}'), django $("$dir/venv/bin/python" -m django --version), knex $(node -p "require('$dir/node/node_modules/knex/package.json').version"), dbmate $("$dir/node/node_modules/.bin/dbmate" --version | awk '{print $3}'), sqitch $(sqitch --version | awk '{print $3}')" >&2
}

case "${1:-}" in
    install) install "${2:?usage: $0 install DIR}" ;;
    *)
        sed -n '2,12p' "$0" >&2
        exit 2
        ;;
esac
