#!/usr/bin/env python3
# docs-check: every relative link in README.md and docs/*.md must name a file
# inside the repository, and every #anchor a heading of the linked Markdown
# file (GitHub's heading slugs). Links to other sites and links out of the
# repository are refused. Links inside fenced code blocks and `code` are
# ignored. Usage: .ci/docs-check.py [repository root]; exit status 1 on a bad
# link. Pure python3, no downloads.
import os, re, sys
root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
files = [os.path.join(root, "README.md")] + sorted(
    os.path.join(root, "docs", f) for f in os.listdir(os.path.join(root, "docs")) if f.endswith(".md"))
def slug(h):
    h = re.sub(r"[`*_]", "", h.strip()).lower()
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")
def anchors(path):
    out, code = set(), False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"): code = not code; continue
        m = not code and re.match(r"#{1,6} (.*)", line)
        if m: out.add(slug(m.group(1)))
    return out
bad = n = 0
for f in files:
    code = False
    for i, line in enumerate(open(f, encoding="utf-8"), 1):
        if line.startswith("```"): code = not code; continue
        if code: continue
        for t in re.findall(r"\]\(([^)\s]+)\)", re.sub(r"`[^`]*`", "", line)):
            n += 1
            where = f"{os.path.relpath(f, root)}:{i}: {t}"
            if re.match(r"[a-z]+:", t): print("external link:", where); bad += 1; continue
            path, _, frag = t.partition("#")
            target = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
            if not (target + os.sep).startswith(root + os.sep) and target != root:
                print("outside the repository:", where); bad += 1; continue
            if not os.path.exists(target):
                print("missing file:", where); bad += 1; continue
            if frag and target.endswith(".md") and frag not in anchors(target):
                print("missing anchor:", where); bad += 1
print(f"{n} links checked, {bad} bad"); sys.exit(1 if bad else 0)
