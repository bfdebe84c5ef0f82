#!/usr/bin/env bash
# What rollsafe makes of a real collection of Markdown runbooks (issue 13).
#
#   benches/markdown_corpus.sh CORPUS_DIR [ROLLSAFE_BINARY] [-v]
#
# CORPUS_DIR is a checkout of a public runbook collection (never vendored here), e.g.
#   git clone https://github.com/mattrussi/gitlab-com-runbooks /tmp/gl
#   git clone https://github.com/prometheus-operator/runbooks /tmp/po
# Prints: time and peak memory of one `rollsafe check` over every *.md page, then the figures
# counted by benches/markdown_corpus.py (pages loaded, steps, commands, prompted commands,
# non-shell fences made runnable, link-list steps). -v lists examples of each problem.
# Figures with corpus repo + commit: docs/markdown-corpus.md.
set -euo pipefail
corpus=${1:?usage: markdown_corpus.sh CORPUS_DIR [ROLLSAFE_BINARY] [-v]}
here=$(cd "$(dirname "$0")" && pwd)
bin=${2:-$here/../target/release/rollsafe}
[ -x "$bin" ] || bin=$here/../target/debug/rollsafe
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
find "$corpus" -name '*.md' -not -path '*/node_modules/*' | LC_ALL=C sort >"$work/files"
export XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config
set +e
xargs -d '\n' /usr/bin/time -v -o "$work/time" "$bin" check --json <"$work/files" >"$work/check.json"
set -e
echo "binary              $bin"
awk -F': ' '/Elapsed \(wall clock\)/ {print "check wall time     " $2}
            /User time/ {u=$2} /System time/ {printf "check cpu time      %.2f s\n", u+$2}
            /Maximum resident set size/ {printf "check peak memory   %.1f MB\n", $2/1024}' "$work/time"
python3 "$here/markdown_corpus.py" "$bin" "$work/check.json" "$work/files" "${3:-}"
