#!/usr/bin/env python3
# graph-check: the package import graph drawn in docs/design.md (the mermaid
# block between the BEGIN/END package import graph markers) must match what
# `go list` says the code imports. Every package drawn must exist; every
# import between two drawn packages must be drawn, and every drawn arrow
# must be an import. An arrow to an outside module (drawn as name[label])
# must be an import of a package of that module, and no other drawn package
# may import that module. Usage: .ci/graph-check.py [repository root]; exit
# status 1 on a difference. Needs go and python3.
import json, os, re, subprocess, sys
root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
text = open(os.path.join(root, "docs", "design.md"), encoding="utf-8").read()
m = re.search(r"<!-- BEGIN package import graph -->(.*?)<!-- END package import graph -->", text, re.S)
if not m:
    print("graph-check: no package import graph block in docs/design.md"); sys.exit(1)
node = r"([\w./-]+)(?:\[([^\]]*)\])?"
drawn, labels = set(), {}
for a, al, b, bl in re.findall(node + r"\s*-->\s*" + node, m.group(1)):
    for n, l in ((a, al), (b, bl)):
        if l: labels[n] = l
    drawn.add((a, b))
mod = subprocess.run(["go", "list", "-m"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
out = subprocess.run(["go", "list", "-json", "./..."], cwd=root, capture_output=True, text=True, check=True).stdout
pkgs = {}
for obj in re.split(r"(?m)^}\n(?={)", out):
    p = json.loads(obj if obj.rstrip().endswith("}") else obj + "}")
    name = p["ImportPath"][len(mod) + 1:] if p["ImportPath"] != mod else "main"
    pkgs[name] = p.get("Imports", [])
mods = {n: l for n, l in labels.items() if n not in pkgs}  # outside modules
inside = {n for e in drawn for n in e if n not in mods}
outside = mods
bad = 0
for n in sorted(inside):
    if n not in pkgs:
        print(f"graph-check: drawn package {n} does not exist"); bad += 1
actual = set()
for src in inside & pkgs.keys():
    for imp in pkgs[src]:
        if imp.startswith(mod + "/") and imp[len(mod) + 1:] in inside:
            actual.add((src, imp[len(mod) + 1:]))
        for ext, label in outside.items():
            if imp == label or imp.startswith(label + "/") or imp.startswith("github.com/" + label):
                actual.add((src, ext))
for e in sorted(actual - drawn):
    print(f"graph-check: {e[0]} imports {e[1]}, but the graph does not draw it"); bad += 1
for e in sorted(drawn - actual):
    print(f"graph-check: the graph draws {e[0]} --> {e[1]}, but the code has no such import"); bad += 1
print(f"graph-check: {len(drawn)} arrows, {len(inside)} packages, {bad} differences"); sys.exit(1 if bad else 0)
