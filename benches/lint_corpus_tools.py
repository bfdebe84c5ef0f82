#!/usr/bin/env python3
"""Helpers of benches/lint_real_folders.sh, each reading JSON reports it wrote.

  summary REPORT                  rollsafe report -> one line of counts by rule
  squawk-summary REPORT           squawk --reporter json -> one line of counts by rule
  unmatched ROLLSAFE SQUAWK [--list]  squawk findings with no rollsafe finding in the same
                                  statement, by squawk rule (--list: each of them too)
  sample SEED N REPORT...         N findings drawn at random (seeded) from the pooled reports
  median TIMES                    "wall_s peak_kb" lines -> "median wall, median peak"
"""
import collections
import json
import os
import random
import re
import statistics
import sys


def by_rule(names):
    c = collections.Counter(names)
    return ", ".join("%s %d" % kv for kv in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def summary(path):
    r = json.load(open(path))
    print("files %d (history %d), statements %d, unparsed %d, findings %d: %s" % (
        len(r["files"]), r.get("history_files", 0), r["statements"], r["unparsed"],
        len(r["findings"]), by_rule(f["rule"] for f in r["findings"])))


def squawk_summary(path):
    s = json.load(open(path))
    print("findings %d: %s" % (len(s), by_rule(f["rule_name"] for f in s)))


# Statement boundaries by a plain reading of the file: a line ending in ';' outside a
# dollar-quoted body ends a statement. Enough to pair two tools' findings on one statement.
DOLLAR = re.compile(r"\$[A-Za-z_]*\$")


def statement_of_line(text):
    """line number (1-based) -> index of the statement it belongs to."""
    out, stmt, open_tag = {}, 0, None
    for n, line in enumerate(text.split("\n"), 1):
        out[n] = stmt
        for tag in DOLLAR.findall(line):
            if open_tag is None:
                open_tag = tag
            elif tag == open_tag:
                open_tag = None
        code = line.split("--", 1)[0].rstrip()
        if open_tag is None and code.endswith(";"):
            stmt += 1
    return out


def unmatched(rollsafe_path, squawk_path, listing=False):
    r = json.load(open(rollsafe_path))
    s = json.load(open(squawk_path))
    statements = {}

    def stmt(path, line):
        if path not in statements:
            statements[path] = statement_of_line(open(path, encoding="utf-8", errors="replace").read())
        return statements[path].get(line, -1)

    seen = {(f["file"], stmt(f["file"], f["line"])) for f in r["findings"]}
    # squawk's lines count from 0.
    missing = [f for f in s if (f["file"], stmt(f["file"], f["line"] + 1)) not in seen]
    print("squawk findings %d, with no rollsafe finding on the same statement %d: %s" % (
        len(s), len(missing), by_rule(f["rule_name"] for f in missing)))
    if listing:
        for f in missing:
            name = f["file"].removeprefix(os.environ.get("STRIP", ""))
            print("    %s:%d [%s] %s" % (name, f["line"] + 1, f["rule_name"], f["message"]))


def sample(seed, n, paths):
    pool = []
    for p in paths:
        r = json.load(open(p))
        pool += r["findings"]
    rng = random.Random(seed)
    picked = rng.sample(range(len(pool)), min(n, len(pool)))
    print("random sample: seed %d, %d of %d findings" % (seed, len(picked), len(pool)))
    for i, k in enumerate(sorted(picked), 1):
        f = pool[k]
        name = f["file"].removeprefix(os.environ.get("STRIP", ""))
        print("  %2d %s:%d [%s] %s" % (i, name, f["line"], f["rule"], f["message"]))


def median(path):
    rows = [line.split() for line in open(path) if line.strip()]
    wall = statistics.median(float(w) for w, _ in rows)
    peak = statistics.median(int(m) for _, m in rows)
    print("median of %d: %.2f s, %.1f MB" % (len(rows), wall, peak / 1024))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "summary":
        summary(args[0])
    elif cmd == "squawk-summary":
        squawk_summary(args[0])
    elif cmd == "unmatched":
        unmatched(args[0], args[1], listing="--list" in args)
    elif cmd == "sample":
        sample(int(args[0]), int(args[1]), args[2:])
    elif cmd == "median":
        median(args[0])
    else:
        sys.exit("unknown command " + cmd)
