#!/usr/bin/env python3
"""Check the hypervisor's layering (docs/design.md, "The map").

A module is a file without its extension (hv/vdev/lapic.c and .h are one).
An edge A -> B means A includes B's header or A's object uses a symbol that
B's object defines (calls and data, from `nm` on build/hv-obj).  Two checks:

1. No loop spans folders: every strongly connected set of modules lies in
   one folder, but for the pairs listed in ALLOWED_LOOPS.
2. Direction rules: no edge from a folder to one it may not use (RULES).

Prints one line per case ("ok - ..." / "not ok - ...") for tests/run.py, and
every violation with the files or symbols that make it.
"""
import fnmatch
import os
import re
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_DIRS = ['lib', 'smp', 'ept', 'rmap', 'store', 'hv']
OBJ_DIR = 'build/hv-obj'

# (from folder pattern, folder patterns it must not use, why)
RULES = [
    ('lib', ['*'], 'lib/ is the bottom: it uses nothing but itself'),
    ('ept', ['hv*', 'store', 'rmap'], 'the EPT MMU is portable: lib/ and smp/ only'),
    ('rmap', ['hv*'], 'rmap/ is portable: lib/, smp/, ept/ and store/ only'),
    ('store', ['hv*', 'ept', 'rmap'], 'the page store is portable: lib/ and the locks of smp/'),
    ('smp', ['hv/cpu', 'hv/vmx', 'hv/core', 'hv/vdev', 'hv/virtio', 'hv/load', 'hv/guest',
             'hv/mm', 'hv/gdb', 'hv/shell', 'ept', 'rmap', 'store'],
     'smp/ is the machine under hv/: main.c hands AP start-up its per-CPU set-up'),
    ('hv/lib', ['hv/*', 'smp', 'ept', 'rmap', 'store'], 'hv/lib/ is freestanding helpers'),
    ('hv/cpu', ['hv/core', 'hv/vmx', 'hv/vdev', 'hv/virtio', 'hv/load', 'hv/guest', 'hv/mm',
                'hv/gdb', 'hv/shell', 'ept', 'rmap', 'store'], 'hv/cpu/ knows no guests'),
    ('hv/core', ['hv/vmx', 'hv/vdev', 'hv/virtio', 'hv/load', 'hv/guest', 'hv/gdb', 'hv/shell', 'hv/mm'],
     'core holds the guest objects and requests; it calls nothing above it'),
    ('hv/vdev', ['hv/vmx', 'hv/virtio', 'hv/guest', 'hv/load', 'hv/gdb', 'hv/shell', 'hv/mm'],
     'devices see their vCPU and VM, never the VT-x code or the lifecycle'),
    ('hv/virtio', ['hv/vmx', 'hv/guest', 'hv/load', 'hv/gdb', 'hv/shell', 'hv/mm'],
     'virtio devices sit on the PCI bus of hv/vdev and reach guest memory through rmap/'),
    ('hv/load', ['hv/vmx', 'hv/vdev', 'hv/virtio', 'hv/guest', 'hv/gdb', 'hv/shell'],
     'loaders fill guest memory and the start state; they run nothing'),
    ('hv/mm', ['hv/vmx', 'hv/vdev', 'hv/virtio', 'hv/load', 'hv/guest', 'hv/gdb', 'hv/shell'],
     'guest memory is below the exit path and the lifecycle'),
    ('hv/vmx', ['hv/virtio', 'hv/guest', 'hv/load', 'hv/gdb', 'hv/shell'],
     'the exit path handles one vCPU; lifecycle and loading are above it'),
    ('hv/guest', ['hv/gdb', 'hv/shell'], 'only main.c uses the shell; the debugger is above the lifecycle'),
    ('hv/gdb', ['hv/shell', 'hv/load', 'hv/vdev', 'hv/virtio'],
     'the GDB stub drives vCPUs through hv/vmx and guest memory; the shell drives it'),
]

# Loops allowed across modules of different folders: none.  Within a folder
# a loop is the folder's own business (the lapic <-> ioapic EOI pair in
# hv/vdev is one, documented in hv/vdev/ioapic.h).
ALLOWED_LOOPS = []

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(path):
    path = os.path.relpath(path, ROOT)
    base, _ = os.path.splitext(path)
    if base.endswith('.asm'):
        base = base[:-4]
    return base


def folder_of(mod):
    return os.path.dirname(mod)


# Functions that lib/ headers declare and the environment defines (the
# hypervisor's hv/cpu, or tests/host/hosted.c): a use is an edge to lib/.
DECL = re.compile(r'^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;{]*\)\s*(?:__attribute__\(\(.*\)\))?\s*;',
                  re.M)


def lib_interfaces():
    found = {}
    libdir = os.path.join(ROOT, 'lib')
    for f in sorted(os.listdir(libdir)):
        if f.endswith('.h'):
            with open(os.path.join(libdir, f), encoding='utf-8') as fh:
                text = re.sub(r'__attribute__\(\((?:[^()]|\([^()]*\))*\)\)', '', fh.read())
            for name in DECL.findall(text):
                found.setdefault(name, 'lib/' + f[:-2])
    return found


def sources():
    for d in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, d)):
            for f in files:
                if f.endswith(('.c', '.h')):
                    yield os.path.join(dirpath, f)


def include_edges():
    edges = defaultdict(dict)
    for path in sources():
        with open(path, encoding='utf-8', errors='replace') as fh:
            text = fh.read()
        a = module_of(path)
        for inc in INCLUDE.findall(text):
            if os.path.exists(os.path.join(ROOT, inc)):
                b = module_of(os.path.join(ROOT, inc))
                if a != b:
                    edges[a].setdefault(b, f'{os.path.relpath(path, ROOT)} includes {inc}')
    return edges


def symbol_edges():
    edges = defaultdict(dict)
    objdir = os.path.join(ROOT, OBJ_DIR)
    defs, uses = {}, defaultdict(set)
    for dirpath, _, files in os.walk(objdir):
        for f in files:
            if not f.endswith('.o'):
                continue
            obj = os.path.join(dirpath, f)
            src = os.path.relpath(obj, objdir)[:-2]
            mod = src[:-4] if src.endswith('.asm') else src
            out = subprocess.run(['nm', obj], capture_output=True, text=True).stdout
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == 'U':
                    uses[mod].add(parts[1])
                elif len(parts) == 3 and parts[1] in 'TDBRCVW' and parts[1].isupper():
                    defs.setdefault(parts[2], mod)
    interfaces = lib_interfaces()
    for mod, syms in uses.items():
        for s in sorted(syms):
            d = interfaces.get(s) or defs.get(s)
            if d and d != mod:
                edges[mod].setdefault(d, f'{mod} uses {s} from {d}')
    return edges, bool(defs)


def sccs(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        work = [(v, iter(edges.get(v, {})))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(edges.get(w, {}))))
                    advanced = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(comp)

    for n in sorted(nodes):
        if n not in index:
            strong(n)
    return out


def main():
    inc = include_edges()
    sym, have_objs = symbol_edges()
    edges = defaultdict(dict)
    for g in (inc, sym):
        for a, bs in g.items():
            for b, why in bs.items():
                edges[a].setdefault(b, why)
    nodes = set(edges) | {b for bs in edges.values() for b in bs}
    failed = 0

    if not have_objs:
        print(f'not ok - layers_objects_present: no objects under {OBJ_DIR} (build first)')
        failed += 1

    bad_loops = []
    for comp in sccs(nodes, edges):
        folders = {folder_of(m) for m in comp}
        if len(comp) > 1 and len(folders) > 1 and sorted(comp) not in ALLOWED_LOOPS:
            bad_loops.append(sorted(comp))
    if bad_loops:
        print(f'not ok - layers_no_loop_across_folders: {len(bad_loops)} loop(s)')
        for comp in bad_loops:
            print('  loop: ' + ' '.join(comp))
            members = set(comp)
            for a in comp:
                for b, why in edges.get(a, {}).items():
                    if b in members and folder_of(a) != folder_of(b):
                        print(f'    {why}')
        failed += 1
    else:
        print('ok - layers_no_loop_across_folders')

    violations = []
    for a, bs in sorted(edges.items()):
        fa = folder_of(a)
        for b, why in sorted(bs.items()):
            fb = folder_of(b)
            if fa == fb:
                continue
            for src, banned, reason in RULES:
                if fa != src:
                    continue
                if any(fnmatch.fnmatch(fb, p) and fb != fa for p in banned):
                    violations.append(f'{fa} -> {fb}: {why} ({reason})')
    if violations:
        print(f'not ok - layers_directions: {len(violations)} edge(s) against the rules')
        for v in violations:
            print('  ' + v)
        failed += 1
    else:
        print('ok - layers_directions')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
