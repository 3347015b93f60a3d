#!/usr/bin/env python3
"""Checks the dependency rule of the source tree (docs/architecture.md, "Floors").

    check_layering.py [ROOT]        check the tree at ROOT (default: the repository)
    check_layering.py --self-test   plant one violation of each rule in a scratch copy of the
                                    floors and check that every one is reported

Every quoted #include of a C/C++/BPF source is resolved the way the build resolves it (the
including file's directory first, then the include roots the CMake targets export) and checked
against the floors, bottom up:

    dataplane/core      the packet core: includes nothing outside itself
    dataplane/common    shared pieces: the core only
    reputation          the core and dataplane/common only
    bpf, dataplane/dpdk the two data planes: the floors below, never each other
    control             everything below except dataplane/dpdk (sluice-dp is reached through
                        its control socket)

dataplane/dpdk is included only from dataplane/dpdk, tests/dataplane, tests/agreement (the
cross-plane tests), bench/dataplane and the XDP/DPDK cost comparison in bench/bpf/xdp_bench.cc. Outside dataplane/core the core is reached only through
the sluice_core target (as "core/..."), never by a relative path. CMake files include no other
folder's CMake fragment: include() takes a module name from cmake/ only.

Exit status 0 when the tree follows the rule, 1 with one "file:line: reason" per violation.
"""

import os
import re
import shutil
import sys
import tempfile

SOURCE_EXT = (".h", ".c", ".cc", ".cpp", ".hpp")
# Directories a target exports with target_include_directories, in no particular order; an
# include that matches under several of them counts as including each (conservative).
INCLUDE_ROOTS = [
    "dataplane",  # sluice_core: "core/..."
    "dataplane/common",
    "dataplane/dpdk",
    "reputation/include",
    "bpf/include",
    "bpf/loader",
    "bpf/progs",
    "control",
    "control/sluicectl",
    "control/sluiced",
    "tests",
    "tests/dataplane",
]
SKIP_DIRS = {".git", "build", "results", "__pycache__"}

# Floors: path prefix -> prefixes it may include (besides itself).
FLOORS = {
    "dataplane/core/": [],
    "dataplane/common/": ["dataplane/core/"],
    "reputation/": ["dataplane/core/", "dataplane/common/"],
    "bpf/": ["dataplane/core/", "dataplane/common/", "reputation/"],
    "dataplane/dpdk/": ["dataplane/core/", "dataplane/common/", "reputation/"],
    "control/": ["dataplane/core/", "dataplane/common/", "reputation/", "bpf/"],
}
DPDK = "dataplane/dpdk/"
DPDK_INCLUDERS = [
    "dataplane/dpdk/",
    "tests/dataplane/",
    "tests/agreement/",
    "bench/dataplane/",
    # The XDP/DPDK cost ratio: sluice-dp's pipeline function on the XDP bench's own frames and
    # 1M-prefix table (Dpdk_* next to SynClassify/*), so both sides measure the same input.
    "bench/bpf/xdp_bench.cc",
]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
CMAKE_INCLUDE_RE = re.compile(r"^\s*include\s*\(\s*([^\s)]+)", re.IGNORECASE)


def floor_of(path):
    for prefix in FLOORS:
        if path.startswith(prefix):
            return prefix
    return None


def walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("build"))
        for name in sorted(filenames):
            yield os.path.relpath(os.path.join(dirpath, name), root)


def resolve(root, includer, name):
    """Repository paths the quoted include `name` of `includer` may resolve to."""
    local = os.path.normpath(os.path.join(os.path.dirname(includer), name))
    if os.path.isfile(os.path.join(root, local)):
        return [local]
    found = []
    for inc in INCLUDE_ROOTS:
        cand = os.path.normpath(os.path.join(inc, name))
        if os.path.isfile(os.path.join(root, cand)) and cand not in found:
            found.append(cand)
    return found


def check(root):
    errors = []
    for path in walk(root):
        full = os.path.join(root, path)
        if path.endswith(SOURCE_EXT):
            errors += check_source(root, path, full)
        elif os.path.basename(path) == "CMakeLists.txt" or path.endswith(".cmake"):
            errors += check_cmake(path, full)
    return errors


def check_source(root, path, full):
    errors = []
    mine = floor_of(path)
    with open(full, encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
    for lineno, line in enumerate(lines, 1):
        m = INCLUDE_RE.match(line)
        if not m:
            continue
        name = m.group(1)
        where = f"{path}:{lineno}"
        targets = resolve(root, path, name)
        for target in targets:
            theirs = floor_of(target)
            if target.startswith(DPDK) and not any(path.startswith(p) for p in DPDK_INCLUDERS):
                errors.append(f'{where}: includes "{name}" ({target}): dataplane/dpdk is '
                              "DPDK-only (allowed from: " + ", ".join(DPDK_INCLUDERS) + ")")
            elif mine and theirs and theirs != mine and theirs not in FLOORS[mine]:
                errors.append(f'{where}: includes "{name}" ({target}): {mine.rstrip("/")} may '
                              f"not include {theirs.rstrip('/')} (floors: docs/architecture.md)")
            if (target.startswith("dataplane/core/") and mine != "dataplane/core/"
                    and ".." in name.split("/")):
                errors.append(f'{where}: includes "{name}": reach the packet core through the '
                              'sluice_core target ("core/...")')
    return errors


def check_cmake(path, full):
    errors = []
    with open(full, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = CMAKE_INCLUDE_RE.match(line.split("#", 1)[0])
            if m and ("/" in m.group(1) or m.group(1).endswith(".cmake")):
                errors.append(f"{path}:{lineno}: include({m.group(1)}): include modules from "
                              "cmake/ by name only, not another folder's CMake file")
    return errors


# One planted violation per rule: (file to create, content, expected substring of the report).
PLANTED = [
    ("dataplane/core/sl_planted.h", '#include "policy_file.h"\n', "dataplane/core/sl_planted.h:1"),
    ("dataplane/common/planted.h", '#include "pipeline.h"\n', "dataplane/common/planted.h:1"),
    ("reputation/src/planted.cc", '#include "sluice/xdp/error.h"\n', "reputation/src/planted.cc:1"),
    ("bpf/loader/planted.cc", '#include "rep_table.h"\n', "bpf/loader/planted.cc:1"),
    ("control/planted.cc", '#include "dp_control.h"\n', "control/planted.cc:1"),
    ("tests/bpf/planted.cc", '#include "pacer.h"\n', "tests/bpf/planted.cc:1"),
    ("bpf/loader/planted_rel.cc", '#include "../../dataplane/core/sl_core.h"\n',
     "bpf/loader/planted_rel.cc:1"),
    ("bpf/CMakeLists.txt", "include(${PROJECT_SOURCE_DIR}/control/x.cmake)\n",
     "bpf/CMakeLists.txt:1"),
]


def self_test(repo):
    """A scratch tree with the real floors' headers and one violation per rule."""
    scratch = tempfile.mkdtemp(prefix="sluice_layering.")
    try:
        for path in walk(repo):
            if path.endswith((".h", ".bpf.h")) and floor_of(path):
                os.makedirs(os.path.join(scratch, os.path.dirname(path)), exist_ok=True)
                shutil.copy(os.path.join(repo, path), os.path.join(scratch, path))
        clean = check(scratch)
        if clean:
            print("self-test: the scratch tree's headers already violate the rule:")
            print("\n".join(clean))
            return 1
        failed = 0
        for rel, content, expect in PLANTED:
            full = os.path.join(scratch, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(content)
            report = check(scratch)
            os.remove(full)
            if not any(expect in e for e in report):
                print(f"self-test: planted {rel} ({content.strip()}) was not reported")
                failed += 1
            else:
                print(f"self-test: planted {rel}: reported")
        return 1 if failed else 0
    finally:
        shutil.rmtree(scratch)


def main(argv):
    repo = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    if argv[1:] == ["--self-test"]:
        return self_test(repo)
    root = argv[1] if len(argv) > 1 else repo
    errors = check(root)
    for e in errors:
        print(e)
    if errors:
        print(f"{len(errors)} violation(s) of the dependency rule (docs/architecture.md)")
        return 1
    print("layering: the tree follows the dependency rule")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
