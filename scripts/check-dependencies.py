#!/usr/bin/env python3
"""Checks Package.swift against the code: every module a target's Swift files import is declared
as that target's dependency, every local target or product it declares is imported by at least
one of its files, and the module diagram at the top draws exactly the declared local
dependencies. Run by scripts/test.sh; exits 1 with one line per mismatch."""
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

# The diagram at the top of Package.swift: "//   Module   what it is" lines, each followed by its
# "──► A, B" line (continued on deeper-indented lines) when it has local dependencies.
drawn, module, in_arrow = {}, None, False
for line in open(os.path.join(root, "Package.swift"), encoding="utf-8"):
    if not line.startswith("//"):
        break
    entry = re.match(r"^//   ([A-Za-z][\w-]*)\s{2,}\S", line)
    arrow = re.match(r"^//\s+──► (.*)$", line)
    if entry:
        module, in_arrow = entry.group(1), False
        drawn[module] = set()
    elif arrow and module:
        in_arrow = True
        drawn[module] |= {name.strip() for name in arrow.group(1).split(",") if name.strip()}
    elif in_arrow and re.match(r"^//\s{20,}[\w, ]+$", line):
        drawn[module] |= {name.strip() for name in line[2:].split(",") if name.strip()}
    else:
        in_arrow = False
local = {target["name"] for target in package["targets"]}
for target in package["targets"]:
    if target["type"] not in ("regular", "executable") or target["name"] in ("spantap-bench", "SpanTapTestSupport"):
        continue
    declares = {name for name in declared(target) if name in local}
    has_swift = any(name.endswith(".swift") for _, _, files in os.walk(directory(target)) for name in files)
    if not has_swift:
        continue
    if target["name"] not in drawn:
        problems.append(f"Package.swift diagram: {target['name']} is not drawn")
    elif drawn[target["name"]] != declares:
        problems.append(f"Package.swift diagram: {target['name']} ──► {', '.join(sorted(drawn[target['name']]))}, "
                        f"but it declares {', '.join(sorted(declares)) or 'nothing local'}")
for name in sorted(set(drawn) - local):
    problems.append(f"Package.swift diagram: draws {name}, which is no target")

for line in problems:
    print(f"check-dependencies: {line}")
if problems:
    sys.exit(1)
print(f"check-dependencies: {len(package['targets'])} targets: imports, declared dependencies and the diagram agree")
