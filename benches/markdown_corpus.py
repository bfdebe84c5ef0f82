#!/usr/bin/env python3
"""Counts what rollsafe makes of a collection of Markdown runbooks (issue 13).

Called by benches/markdown_corpus.sh with the `check --json` result and the list of pages; runs
`rollsafe show --json` on every page that loads and reads the page source itself, so the figures
do not trust rollsafe's own idea of what a prompt, a fence language or a link list is.

Figures:
  pages, loaded            Markdown files, and how many `check` accepts
  steps, commands          steps, and steps with a command
  runnable                 commands rollsafe would run in live mode (kind "run")
  paste / reference        commands shown to paste into a console, or to read
  prompted                 runnable commands with a prompt (`$ `, `user@host:~$ `, `[ env ] x> `,
                           `irb(main)...>`, `mysql> `, `=# `, a first line `# ` + command), or
                           console output (`=> `, tracebacks, `(N rows)`)
  non-shell runnable       runnable commands whose source fence is tagged with a language that is
                           not a shell (sql, ruby, promql, mermaid, json, yaml, ...)
  link-list steps          steps titled by the text of a list item that is nothing but a link
                           or titled by a URL or a `.md` path (and not by a heading of the page)
  inline-only items        list items whose action is one inline code span, and how many of those
                           steps have a command
  page kinds               what `show --json` says each page is (after issue 13)
"""

import json
import re
import subprocess
import sys
from collections import Counter

SHELLS = {"", "sh", "bash", "shell", "console", "shell-session", "zsh", "shellsession", "terminal", "fish", "ksh"}
NOT_SHELL = {
    "sql", "psql", "pgsql", "postgresql", "plpgsql", "mysql", "ruby", "rb", "irb", "rails", "python", "py",
    "promql", "mermaid", "plantuml", "puml", "json", "jsonc", "yaml", "yml", "toml", "ini", "conf", "config",
    "hcl", "terraform", "tf", "jsonnet", "libsonnet", "go", "golang", "javascript", "js", "diff", "xml",
    "html", "graphql", "redis", "lua", "logql", "nginx", "dockerfile", "csv", "markdown", "md", "text",
    "txt", "plain", "plaintext", "output", "log", "properties", "java", "groovy", "rust", "c", "elixir",
}

PROMPT = re.compile(
    r"""^\s*(
        \$\s                                   # $ cmd
      | ([\w.~/-]+\s)?%\s                      # zsh: dir % cmd
      | \$$
      | [\w.-]+@[\w.:~/-]+.{0,40}?[$\#]\s      # user@host:~$ cmd
      | \[\s*[\w.-]+\s*\]\s*[\w.-]+[>$\#]\s?   # [ gstg ] production>
      | irb\([^)]*\)[^>]*>                     # irb(main):001:0>
      | (mysql|mariadb|redis[\w.:-]*|[\w-]+=[\#>]|gitlabhq_production=>)[>\#]?\s   # consoles
      | [\w-]+(\(\w+\))?=[\#>]\s               # psql: db=# / db=>
      | >>>\s                                  # python
      | >\s                                    # a console's `> ` (or a PS2 left in)
    )""",
    re.X,
)
# A root shell's `# ` before a command (not a comment in words): `# pstree -p $(pgrep x)`, `# kill 12`.
ROOT = re.compile(
    r"^\s*\#\s+(?=\S)(?=.*(\s-{1,2}[A-Za-z]|\$\(|\|\s)|(sudo|kill|ps|pstree|systemctl|service|cat|ls|grep"
    r"|tail|journalctl|df|du|lsblk|mount|find|for\s+\w+\s+in|cd|chmod|chown|rm|mv|cp)\b|[./~])"
)
OUTPUT = re.compile(r"^\s*(=>\s|Traceback \(most recent|\(\d+ rows?\)$|-+\+-+)")

FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^\s`{,]*)")
LINK_ITEM = re.compile(
    # Task items (`- [ ] [repo](url)`) are things to tick off, not links.
    r"^\s*(?:[-*+]|\d+[.)])\s+\*{0,2}\[([^\]]+)\]\([^)]*\)\*{0,2}\s*[:.,;-]?\s*(.*)$"
)
INLINE_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?`([^`]+)`\s*$")
PATHLIKE = re.compile(r"^https?://\S*$|^\S+\.md(#\S*)?$")


def fences(text):
    """(lang, body lines stripped) for every fenced block of the page."""
    out, cur = [], None
    for line in text.splitlines():
        m = FENCE.match(line)
        if cur is None and m:
            cur = (m.group(2)[0], len(m.group(2)), m.group(3).lower(), [])
        elif cur is not None and m and m.group(2)[0] == cur[0] and len(m.group(2)) >= cur[1] and not m.group(3):
            out.append((cur[2], [l.strip() for l in cur[3] if l.strip()]))
            cur = None
        elif cur is not None:
            cur[3].append(line)
    return out


def fence_lang(command, page_fences):
    """The language of the fence a command came from, if one holds its lines."""
    lines = [l.strip() for l in command.splitlines() if l.strip()]
    if not lines:
        return None
    for lang, body in page_fences:
        joined = " ".join(body)
        if all(l in joined for l in lines[:3]):
            return lang
    return None


def main():
    binary, check_json, listing = sys.argv[1:4]
    with open(check_json) as f:
        results = json.load(f)
    files = [l.strip() for l in open(listing) if l.strip()]
    c = Counter()
    kinds = Counter()
    examples = {"prompted": [], "nonshell": [], "linklist": []}
    c["pages"] = len(files)
    for r in results:
        if not r["ok"]:
            continue
        c["loaded"] += 1
        path = r["file"]
        text = open(path, encoding="utf-8", errors="replace").read()
        page_fences = fences(text)
        link_texts = set()
        inline_items = set()
        headings = set()
        for line in text.splitlines():
            h = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if h:
                headings.add(" ".join(h.group(1).replace("`", "").replace("*", "").split()))
            m = LINK_ITEM.match(line)
            if m and len(m.group(2)) <= 40:
                link_texts.add(" ".join(m.group(1).replace("`", "").split()))
            m = INLINE_ITEM.match(line)
            if m:
                c["inline-only items"] += 1
                inline_items.add(" ".join(m.group(1).split()))
        shown = subprocess.run([binary, "show", "--json", path], capture_output=True, text=True)
        if shown.returncode != 0:
            c["show failed"] += 1
            continue
        pb = json.loads(shown.stdout)
        if pb.get("page"):
            kinds[pb["page"]] += 1
        c["sources (links)"] += len(pb.get("sources", []))
        for phase in pb["phases"]:
            for step in phase["steps"]:
                c["steps"] += 1
                title = step["title"]
                cmd = step.get("command")
                # A table of contents repeats headings: a step titled by a heading is not a link.
                if title not in headings and ((title in link_texts and not cmd) or PATHLIKE.match(title)):
                    c["link-list steps"] += 1
                    examples["linklist"].append(f"{path}: {title}")
                if title in inline_items and cmd:
                    c["inline-only with command"] += 1
                if not cmd:
                    continue
                c["commands"] += 1
                kind = (step.get("command_kind") or {"kind": "run"})["kind"]
                if kind != "run":
                    c[kind] += 1
                    continue
                c["runnable"] += 1
                lines = cmd.splitlines()
                if any(PROMPT.match(l) or OUTPUT.match(l) for l in lines) or ROOT.match(lines[0]):
                    c["prompted"] += 1
                    examples["prompted"].append(f"{path}: {lines[0][:70]}")
                lang = fence_lang(cmd, page_fences)
                if lang is not None and lang not in SHELLS and lang in NOT_SHELL:
                    c["non-shell runnable"] += 1
                    examples["nonshell"].append(f"{path}: ```{lang} {lines[0][:60]}")
    order = ["pages", "loaded", "steps", "commands", "runnable", "paste", "reference", "prompted",
             "non-shell runnable", "link-list steps", "inline-only items", "inline-only with command", "sources (links)", "show failed"]
    for k in order:
        print(f"{k:20} {c[k]}")
    if c["runnable"]:
        print(f"{'prompted %':20} {100.0 * c['prompted'] / c['runnable']:.1f}")
    if kinds:
        print("page kinds          ", ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    if "-v" in sys.argv[4:]:
        for name, xs in examples.items():
            print(f"\n{name} ({len(xs)}):")
            for x in xs[:40]:
                print("  " + x)


if __name__ == "__main__":
    main()
