#!/usr/bin/env python3
"""Checks the documentation against the code: every relative link in the README, ARCHITECTURE.md and the
Markdown under docs/, Benchmarks/, Indexes/ and Deploy/ resolves (file, and #anchor to a heading), and
every `funnel ...` command line quoted there (code blocks and `inline code`) names a real verb and only
options that verb's `--help` lists.

It also compares the help of every verb (`funnel VERB... --help`, the whole tree) with the committed
snapshot docs/cli-help.txt, the CLI reference: a changed flag or text shows in review. `--update`
rewrites the snapshot.

Usage: Scripts/check-docs.py FUNNEL_BINARY [--update]
Exit 1 with one line per problem (file:line: what).
"""
import functools
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md", "ARCHITECTURE.md"] + [
    os.path.join(d, f) for d in ("docs", "Benchmarks", "Indexes", "Deploy", "Training")
    if os.path.isdir(os.path.join(ROOT, d)) for f in sorted(os.listdir(os.path.join(ROOT, d))) if f.endswith(".md")]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
# `funnel VERB ...` as a command: the first word of a shell command (after `$ ` or `(`), the binary
# possibly named by its path (`.build/release/funnel`); not an argument of another program.
COMMAND = re.compile(r"^\s*(?:\$\s*)?\(?\s*(?:\S*/)?funnel((?: +[a-z][a-z0-9-]*)+)((?: +[^#\n`]*)?)")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def anchor(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@functools.lru_cache(maxsize=None)
def anchors(path):
    with open(path, encoding="utf-8") as f:
        return {anchor(m.group(1)) for m in re.finditer(r"^#+ +(.+)$", f.read(), re.M)}


@functools.lru_cache(maxsize=None)
def help_of(binary, verbs):
    """(subcommands, options) from `funnel VERBS --help`, or None when the verb does not exist."""
    run = subprocess.run([binary, *verbs, "--help"], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "COLUMNS": "100"})
    if run.returncode != 0:
        return None
    text = run.stdout
    subcommands = set()
    section = re.search(r"^SUBCOMMANDS:\n((?:  .*\n|\n)*)", text, re.M)
    if section:
        subcommands = {m.group(1) for m in re.finditer(r"^  ([a-z][a-z0-9-]*)", section.group(1), re.M)}
    options = set(OPTION.findall(text)) | {"--help"}
    return subcommands, options, text


SNAPSHOT = os.path.join(ROOT, "docs", "cli-help.txt")


def help_tree(binary, verbs=()):
    """The help text of `verbs` and of every verb under it, depth first, as one document."""
    subcommands, _, text = help_of(binary, tuple(verbs))
    out = [f"$ funnel {' '.join(verbs + ('--help',))}\n{text.rstrip()}\n"]
    for sub in sorted(subcommands):
        if sub != "help":
            out += help_tree(binary, verbs + (sub,))
    return out


def code_fragments(text):
    """(line number, text, inline) of each code block line (continuations joined) and inline code span."""
    lines = text.split("\n")
    fragments, in_block, i = [], False, 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            in_block = not in_block
            i += 1
            continue
        if in_block:
            start, joined = i + 1, line
            # continuation: a trailing backslash, or an indented line of options under a command
            while i + 1 < len(lines) and (joined.rstrip().endswith("\\") or re.match(r"^\s+[\[(-]", lines[i + 1])):
                if lines[i + 1].lstrip().startswith("```"):
                    break
                i += 1
                joined = joined.rstrip().rstrip("\\") + " " + lines[i].strip()
            fragments.append((start, joined, False))
        else:
            for m in re.finditer(r"`([^`]+)`", line):
                fragments.append((i + 1, m.group(1), True))
        i += 1
    return fragments


def commands(fragment):
    """The `funnel` commands of a shell fragment, which may hold several (`a | funnel b`, `a && funnel b`)."""
    parts = re.split(r"\s(?:\|\||&&|\||;)\s", fragment)
    return [m for m in (COMMAND.search(part) for part in parts) if m]


def check_commands(page, text, binary, problems):
    for number, fragment, inline in code_fragments(text):
        for m in commands(fragment):
            words = m.group(1).split()
            verbs = []
            info = help_of(binary, ())
            for word in words:
                if info and word in info[0]:
                    verbs.append(word)
                    info = help_of(binary, tuple(verbs))
                else:
                    break
            if not verbs:
                problems.append(f"{page}:{number}: `funnel {words[0]}` is not a verb of funnel")
                continue
            if info is None:
                problems.append(f"{page}:{number}: `funnel {' '.join(verbs)} --help` failed")
                continue
            if info[0] and inline and len(words) == len(verbs) and not m.group(2).strip():
                continue  # prose naming a group of verbs, e.g. `funnel ingest`
            if info[0]:
                rest = words[len(verbs)] if len(words) > len(verbs) else "(nothing)"
                problems.append(f"{page}:{number}: `funnel {' '.join(verbs)}` needs one of {sorted(info[0])}, not {rest}")
                continue
            tail = m.group(2) + " " + " ".join(words[len(verbs):])
            for option in OPTION.findall(tail):
                if option not in info[1]:
                    problems.append(f"{page}:{number}: `funnel {' '.join(verbs)}` has no option {option}")


def check_links(page, text, problems):
    base = os.path.dirname(os.path.join(ROOT, page))
    in_block = False
    for number, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```"):
            in_block = not in_block
        if in_block:
            continue
        for m in LINK.finditer(line):
            target = m.group(1) or m.group(2)
            if re.match(r"^[a-z]+:", target):
                continue  # http(s), mailto
            path, _, fragment = target.partition("#")
            full = os.path.normpath(os.path.join(base, path)) if path else os.path.join(ROOT, page)
            if not os.path.exists(full):
                problems.append(f"{page}:{number}: link to {target}: no such file")
            elif fragment and full.endswith(".md") and fragment not in anchors(full):
                problems.append(f"{page}:{number}: link to {target}: no heading with that anchor")


def main():
    update = "--update" in sys.argv[2:]
    if len(sys.argv) not in (2, 3) or not os.access(sys.argv[1], os.X_OK):
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    problems, quoted = [], 0
    snapshot = "# Generated by Scripts/check-docs.py --update: the help of every funnel verb.\n\n" + "\n".join(help_tree(binary, ()))
    if update:
        with open(SNAPSHOT, "w", encoding="utf-8") as f:
            f.write(snapshot)
    elif not os.path.exists(SNAPSHOT) or open(SNAPSHOT, encoding="utf-8").read() != snapshot:
        problems.append("docs/cli-help.txt: the CLI's help changed; review and run Scripts/check-docs.py FUNNEL --update")
    for page in PAGES:
        with open(os.path.join(ROOT, page), encoding="utf-8") as f:
            text = f.read()
        check_links(page, text, problems)
        check_commands(page, text, binary, problems)
        quoted += sum(len(commands(fragment)) for _, fragment, _ in code_fragments(text))
    for p in problems:
        print(p)
    if problems:
        print(f"check-docs: {len(problems)} problems", file=sys.stderr)
        return 1
    print(f"check-docs: {len(PAGES)} pages, {quoted} funnel command lines parse, every relative link resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
