#!/usr/bin/env python3
"""Pick kernel modules and everything they depend on, in load order.

    kmods.py --from DIR --out DIR NAME...

Looks for NAME.ko under --from (the modules extracted from Debian's
linux-image package), follows the `depends=` of each module's .modinfo
section, copies the modules to --out and writes --out/load.order: one file
name per line, every module after the ones it depends on.  A dependency that
is not under --from is an error: a new kernel that needs another module
fails here, not at boot.  There is no modules.dep in the package (depmod
makes it at install time), hence the .modinfo.
"""
import argparse
import os
import shutil
import struct
import sys


def modinfo(path):
    """The key=value strings of an ELF64 module's .modinfo section."""
    with open(path, 'rb') as f:
        elf = f.read()
    if elf[:4] != b'\x7fELF' or elf[4] != 2:
        sys.exit(f'kmods: {path} is not an ELF64 module')
    shoff, = struct.unpack_from('<Q', elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', elf, 0x3a)

    def section(i):
        name, _, _, _, off, size = struct.unpack_from('<IIQQQQ', elf, shoff + i * shentsize)
        return name, off, size
    _, stroff, _ = section(shstrndx)
    for i in range(shnum):
        name, off, size = section(i)
        end = elf.index(b'\0', stroff + name)
        if elf[stroff + name:end] == b'.modinfo':
            return [s.decode() for s in elf[off:off + size].split(b'\0') if s]
    return []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--from', dest='src', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('names', nargs='+')
    args = ap.parse_args()

    found = {}
    for dirpath, _, files in os.walk(args.src):
        for f in files:
            if f.endswith('.ko'):
                found[f[:-3].replace('-', '_')] = os.path.join(dirpath, f)

    order, seen = [], set()

    def visit(name, chain):
        name = name.replace('-', '_')
        if name in seen:
            return
        if name in chain:
            sys.exit(f'kmods: dependency loop: {" -> ".join(chain + [name])}')
        if name not in found:
            sys.exit(f'kmods: {name} (needed by {" -> ".join(chain) or "the list"}) '
                     f'is not under {args.src}')
        deps = [d for info in modinfo(found[name]) if info.startswith('depends=')
                for d in info[len('depends='):].split(',') if d]
        for d in deps:
            visit(d, chain + [name])
        seen.add(name)
        order.append(name)

    for n in args.names:
        visit(n, [])
    os.makedirs(args.out, exist_ok=True)
    for n in order:
        shutil.copyfile(found[n], os.path.join(args.out, n + '.ko'))
    with open(os.path.join(args.out, 'load.order'), 'w') as f:
        f.write(''.join(n + '.ko\n' for n in order))
    print(' '.join(order))


if __name__ == '__main__':
    main()
