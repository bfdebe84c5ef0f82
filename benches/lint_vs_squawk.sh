#!/usr/bin/env bash
# rollsafe lint against squawk on the same generated corpus (benches/support/lint_corpus.rs,
# default 500 files of 24 statements = 12,000 PostgreSQL migration statements).
# Each tool is run once over the whole corpus per round, both with JSON output to /dev/null and
# the same file list; ROUNDS rounds, alternating, median wall time reported, then the ratio.
#
#   benches/lint_vs_squawk.sh            # needs: cargo, squawk (pip install squawk-cli)
#   FILES=1000 PER_FILE=24 ROUNDS=9 PG=16 benches/lint_vs_squawk.sh
#   CPUS=0 benches/lint_vs_squawk.sh     # both pinned to CPU 0 (taskset): single-core comparison
#
# Timing is wall clock on a possibly busy machine: compare the ratio, not absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=${FILES:-500}
PER_FILE=${PER_FILE:-24}
ROUNDS=${ROUNDS:-7}
PG=${PG:-16}

# The squawk binary itself, not a pyenv shim in front of it (a shell script that would add its own
# start-up time to squawk's); SQUAWK=/path/to/squawk overrides.
squawk=${SQUAWK:-$( (pyenv which squawk 2>/dev/null) || command -v squawk || true)}
if [ -z "$squawk" ]; then
    echo "squawk not found: pip install squawk-cli" >&2
    exit 2
fi
echo "squawk: $squawk ($("$squawk" --version))"

cargo build --release --quiet --bin rollsafe --example lint_corpus
rollsafe=target/release/rollsafe

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "corpus: $(target/release/examples/lint_corpus "$dir/sql" "$FILES" "$PER_FILE") in $dir/sql"
files=("$dir"/sql/*.sql)

export NO_COLOR=1 ROLLSAFE_DB="$dir/rollsafe.db"
pin=()
if [ -n "${CPUS:-}" ]; then
    pin=(taskset -c "$CPUS")
    echo "pinned to CPU(s) $CPUS"
fi
run_rollsafe() { "${pin[@]}" "$rollsafe" lint --engine "postgres:$PG" --json "${files[@]}" >"$1" || true; }
run_squawk() { "${pin[@]}" "$squawk" --pg-version "$PG" --reporter json "${files[@]}" >"$1" 2>/dev/null || true; }

# What each found, so a tool that silently skips the corpus is visible.
run_rollsafe "$dir/rollsafe.json"
run_squawk "$dir/squawk.json"
python3 - "$dir/rollsafe.json" "$dir/squawk.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
print(f"rollsafe: {r['statements']} statements, {r['unparsed']} unparsed, {len(r['findings'])} findings")
print(f"squawk:   {len(s)} findings")
PY

ms() { echo $(( $(date +%s%N) / 1000000 )); }
rs=() sq=()
for _ in $(seq "$ROUNDS"); do
    t=$(ms); run_rollsafe /dev/null; rs+=($(( $(ms) - t )))
    t=$(ms); run_squawk /dev/null; sq+=($(( $(ms) - t )))
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
r=$(median "${rs[@]}")
s=$(median "${sq[@]}")
echo "rollsafe lint: median ${r} ms over $ROUNDS runs (${rs[*]})"
echo "squawk:        median ${s} ms over $ROUNDS runs (${sq[*]})"
awk -v r="$r" -v s="$s" 'BEGIN { if (r > 0) printf "squawk / rollsafe = %.2f (rollsafe is %s)\n", s / r, (r < s ? "faster" : "slower") }'
