#!/usr/bin/env bash
# rollsafe lint on the migration folders of real projects nobody here wrote (figures in
# docs/lint-real-folders.md). The corpora are never vendored: each is read from a local git
# mirror of the project (a bare repository or a clone), at its HEAD, into a temporary folder.
#
#   benches/lint_real_folders.sh                       # mirrors under /work/.mirror/<owner>+<name>/repo
#   MIRRORS=~/src benches/lint_real_folders.sh         # or <MIRRORS>/<owner>+<name> (a clone)
#   ROLLSAFE=/tmp/old/rollsafe benches/lint_real_folders.sh   # measure another build
#   NEWEST=20 SAMPLE=1 benches/lint_real_folders.sh    # SAMPLE=1 also lists the newest files' findings
#   SEED=7 DRAW=40 benches/lint_real_folders.sh       # DRAW findings at random from all corpora's
#                                                      # "newest, history" runs (seed printed)
#   RUNS=5 benches/lint_real_folders.sh                # median wall time and peak memory of the
#                                                      # folder run and of squawk on the same files
#   SQUAWK=/path/to/squawk LIST=1 ...                  # squawk (pip install squawk-cli) is run on the
#                                                      # PostgreSQL corpora when found; LIST=1 lists
#                                                      # its findings rollsafe has none on
#
# Per corpus (repo + commit): files, statements, unparsed, and findings by rule of
#  - the folder run with no selection (every file new, as a first-time user runs it),
#  - the newest NEWEST forward files named next to their folder (the rest read as history),
#  - the same files each linted alone (no context at all).
# A corpus whose mirror is missing is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."

MIRRORS=${MIRRORS:-/work/.mirror}
NEWEST=${NEWEST:-20}
if [ -z "${ROLLSAFE:-}" ]; then
    cargo build --release --quiet --bin rollsafe
    ROLLSAFE=target/release/rollsafe
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NO_COLOR=1 ROLLSAFE_DB="$work/rollsafe.db" STRIP="$work/"
tools=benches/lint_corpus_tools.py
RUNS=${RUNS:-0}
# The squawk binary itself, not a pyenv shim (whose start-up would count against squawk).
SQUAWK=${SQUAWK:-$( (pyenv which squawk 2>/dev/null) || command -v squawk || true)}

git_dir() {
    local d="$MIRRORS/$1"
    if [ -d "$d/repo" ]; then echo "$d/repo"; elif [ -d "$d/.git" ]; then echo "$d/.git"; elif [ -d "$d" ]; then echo "$d"; fi
}

# extract NAME REPO PATH: the folder at HEAD into $work/NAME; prints the commit.
extract() {
    local g
    g=$(git_dir "$2")
    [ -n "$g" ] || return 1
    mkdir -p "$work/$1"
    git --git-dir="$g" archive HEAD "$3" | tar -x -C "$work/$1"
    git --git-dir="$g" rev-parse HEAD
}

# Go templates in supabase/auth's migrations: the schema name they are rendered with.
render_namespace() {
    find "$1" -name '*.sql' -print0 | xargs -0 sed -i 's/{{ *index \.Options "Namespace" *}}/auth/g'
}

# ory/kratos (gobuffalo/pop): <version>_<name>[.<dialect>][.autocommit].up.sql; a dialect's own
# file replaces the generic one of the same stem. Keeps the forward files one dialect runs.
pop_dialect() {
    local dir=$1 want=$2 f base stem
    for f in "$dir"/*.sql; do
        base=$(basename "$f")
        case "$base" in *.down.sql) rm "$f"; continue ;; esac
        stem=${base%.up.sql}
        stem=${stem%.autocommit}
        case "$stem" in
        *."$want") ;;
        *.postgres | *.mysql | *.sqlite | *.sqlite3 | *.cockroach) rm "$f" ;;
        *) if compgen -G "$dir/$stem.$want.*up.sql" >/dev/null; then rm "$f"; fi ;;
        esac
    done
}

summary() { python3 "$tools" summary /dev/stdin; } # JSON report on stdin -> one line

# timed OUT CMD...: RUNS runs of CMD under /usr/bin/time; prints their median wall time and peak
# memory (maximum resident set size).
timed() {
    local out=$1
    shift
    : >"$work/times"
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %M' -o "$work/time1" "$@" >/dev/null 2>&1 || true
        tail -n 1 "$work/time1" >>"$work/times" # a failing exit adds a line before it
    done
    python3 "$tools" median "$work/times" >"$out"
}

measure() { # NAME ENGINE DIR
    local name=$1 engine=$2 dir=$3
    local lint=("$ROLLSAFE" lint --engine "$engine" --json --fail-on never)
    "${lint[@]}" "$dir" >"$work/$name.folder.json" 2>"$work/$name.err" || true
    echo "  folder run:          $(summary <"$work/$name.folder.json")"
    # squawk reads PostgreSQL only; it gets the same files the folder run read.
    local squawk=()
    if [ -n "$SQUAWK" ] && [ "${engine%%:*}" = postgres ]; then
        mapfile -t files < <(jq -r '.files[]' "$work/$name.folder.json")
        squawk=("$SQUAWK" --reporter json --pg-version "${engine#*:}" "${files[@]}")
        "${squawk[@]}" >"$work/$name.squawk.json" 2>>"$work/$name.err" || true
        echo "  squawk, same files:  $(python3 "$tools" squawk-summary "$work/$name.squawk.json")"
        echo "  squawk vs folder run: $(python3 "$tools" unmatched "$work/$name.folder.json" "$work/$name.squawk.json" ${LIST:+--list})"
    fi
    if [ "$RUNS" -gt 0 ]; then
        timed "$work/t" "${lint[@]}" "$dir"
        echo "  time, folder run:    $(cat "$work/t") (rollsafe, $RUNS runs)"
        if [ ${#squawk[@]} -gt 0 ]; then
            timed "$work/t" "${squawk[@]}"
            echo "  time, same files:    $(cat "$work/t") (squawk $("$SQUAWK" --version | awk '{print $2}'), $RUNS runs)"
        fi
    fi
    # The newest forward files, in the folder's own run order.
    mapfile -t newest < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
up = [f for f in r["files"] if not (f.endswith(".down.sql") or f.endswith("/down.sql"))]
print("\n".join(up[-int(sys.argv[2]):]))
' "$work/$name.folder.json" "$NEWEST")
    "${lint[@]}" "$dir" "${newest[@]}" >"$work/$name.newest.json" 2>>"$work/$name.err" || true
    echo "  newest $NEWEST, history: $(summary <"$work/$name.newest.json")"
    python3 - "$work/$name.alone.json" <<'PY' >/dev/null
import json, sys
json.dump({"files": [], "history_files": 0, "statements": 0, "unparsed": 0, "findings": []}, open(sys.argv[1], "w"))
PY
    for f in "${newest[@]}"; do
        "${lint[@]}" "$f" >"$work/one.json" 2>>"$work/$name.err" || true
        python3 - "$work/$name.alone.json" "$work/one.json" <<'PY'
import json, sys
acc = json.load(open(sys.argv[1])); one = json.load(open(sys.argv[2]))
for k in ("statements", "unparsed"):
    acc[k] += one[k]
acc["files"] += one["files"]; acc["findings"] += one["findings"]
json.dump(acc, open(sys.argv[1], "w"))
PY
    done
    echo "  newest $NEWEST, alone:   $(summary <"$work/$name.alone.json")"
    if [ -n "${SAMPLE:-}" ]; then
        jq -r '.findings[] | "    \(.file):\(.line) [\(.rule)] \(.message)"' "$work/$name.newest.json"
    fi
}

run() { # NAME REPO PATH ENGINE [PREP ARGS...]
    local name=$1 repo=$2 path=$3 engine=$4 commit
    shift 4
    if ! commit=$(extract "$name" "$repo" "$path" 2>/dev/null); then
        echo "$name: no mirror of ${repo/+//} under $MIRRORS, skipped"
        return
    fi
    if [ $# -gt 0 ]; then "$@" "$work/$name/$path"; fi
    echo "$name: ${repo/+//} @ $commit, $path ($engine)"
    measure "$name" "$engine" "$work/$name/$path"
}

echo "rollsafe: $ROLLSAFE"
# lemmy runs PostgreSQL 18 (docker/docker-compose.yml, .woodpecker.yml) and its files use 18's syntax.
run lemmy LemmyNet+lemmy migrations postgres:18
run supabase-auth supabase+auth migrations postgres:15 render_namespace
kratos_pg() { pop_dialect "$1" postgres; }
kratos_my() { pop_dialect "$1" mysql; }
run kratos-pg ory+kratos persistence/sql/migrations/sql postgres:16 kratos_pg
run kratos-mysql ory+kratos persistence/sql/migrations/sql mysql:8.0.35 kratos_my
if [ -n "${DRAW:-}" ]; then
    python3 "$tools" sample "${SEED:-$RANDOM}" "$DRAW" "$work"/*.newest.json
fi
