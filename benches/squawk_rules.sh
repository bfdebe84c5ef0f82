#!/usr/bin/env bash
# For each squawk rule fixture (tests/fixtures/lint/squawk/<rule>.sql): does squawk fire that
# rule at PostgreSQL $PG, and which rules does rollsafe report? The source of the table in
# docs/squawk-comparison.md (its rollsafe column is also checked by tests/lint_rules.rs).
#   benches/squawk_rules.sh [PG=16]      needs squawk (pip install squawk-cli) and a built rollsafe
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-16}
rollsafe=${ROLLSAFE:-target/debug/rollsafe}
export NO_COLOR=1 ROLLSAFE_DB=$(mktemp -u)
echo "squawk $(squawk --version | awk '{print $2}'), rollsafe at postgres:$PG"
for f in tests/fixtures/lint/squawk/*.sql; do
    rule=$(basename "$f" .sql)
    sq=$(squawk --pg-version "$PG" --reporter json "$f" 2>/dev/null || true)
    fires=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1] or "[]"); print("yes" if any(x["rule_name"].replace("timestamp-tz","timestamptz")==sys.argv[2] for x in d) else "no")' "$sq" "$rule")
    rs=$("$rollsafe" lint --engine "postgres:$PG" --json "$f" 2>/dev/null || true)
    rules=$(python3 -c 'import json,sys; print(", ".join(sorted({x["rule"] for x in json.loads(sys.argv[1])["findings"]})) or "—")' "$rs")
    printf '%-46s squawk: %-3s  rollsafe: %s\n' "$rule" "$fires" "$rules"
done
