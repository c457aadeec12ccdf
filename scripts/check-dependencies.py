#!/usr/bin/env python3
"""Checks Package.swift against the code: every module a target's Swift files import is declared
as that target's dependency, and every local target or product it declares is imported by at
least one of its files. Run by scripts/test.sh; exits 1 with one line per mismatch."""
import json
import os
import re
import subprocess
import sys

# Modules the toolchain provides: never declared in Package.swift.
TOOLCHAIN = {"Glibc", "Musl", "Foundation", "FoundationEssentials", "Dispatch", "Synchronization",
             "Testing", "XCTest", "_Concurrency", "Observation", "RegexBuilder"}
IMPORT = re.compile(r"^(?:@[\w()]+\s+)*import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?(\w+)",
                    re.MULTILINE)

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True,
                                    capture_output=True, text=True).stdout)


def declared(target):
    names = set()
    for dependency in target.get("dependencies", []):
        for kind in ("byName", "target", "product"):
            if kind in dependency:
                names.add(dependency[kind][0])  # product name == module name for every package we use
    return names


def directory(target):
    if target.get("path"):
        return os.path.join(root, target["path"])
    return os.path.join(root, "Tests" if target["type"] == "test" else "Sources", target["name"])


problems = []
for target in package["targets"]:
    folder = directory(target)
    imports = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            if name.endswith(".swift"):
                path = os.path.join(dirpath, name)
                for module in IMPORT.findall(open(path, encoding="utf-8").read()):
                    imports.setdefault(module, os.path.relpath(path, root))
    if not imports and target["type"] in ("system-target", "regular") and not any(
            name.endswith(".swift") for _, _, files in os.walk(folder) for name in files):
        continue  # a C or system-library target
    declares = declared(target)
    for module, path in sorted(imports.items()):
        if module not in TOOLCHAIN and module not in declares and module != target["name"]:
            problems.append(f"{target['name']}: {path} imports {module}, which Package.swift does not declare for it")
    for module in sorted(declares - set(imports)):
        problems.append(f"{target['name']}: declares {module} but none of its Swift files imports it")

for line in problems:
    print(f"check-dependencies: {line}")
if problems:
    sys.exit(1)
print(f"check-dependencies: {len(package['targets'])} targets, imports and declared dependencies agree")
