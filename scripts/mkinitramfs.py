#!/usr/bin/env python3
"""Write a gzip'd newc cpio initramfs without a cpio binary.

    mkinitramfs.py -o OUT --busybox PATH [--file DEST=SRC:MODE ...] [--dir DEST=SRCDIR ...]
                   [--tree DIR]

The archive holds /bin/busybox with a symlink per applet in APPLETS, the
directories a busybox system needs, /dev/console (c 5:1) and /dev/ttyS0
(c 4:64) so that the kernel can open the console before devtmpfs is
mounted, /etc/inittab (tests/guests/linux/inittab unless given), each
--file, and the files of each --dir (mode 644; kernel modules).  It is
reproducible: entries sorted by path, owner root, mtime 0, inode numbers in
order, and a gzip header without name or time.  --tree also writes the same
files (no device nodes) into DIR, for a disk image (mke2fs -d).
"""
import argparse
import gzip
import io
import os
import stat
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

APPLETS = """
    [ awk cat chmod chroot cmp cp cttyhack cut date dd df dmesg echo env false free grep
    fstrim halt head hexdump ifconfig init insmod ip kill ln ls lsmod md5sum mkdir mknod mount
    mv nc nproc ping poweroff printf ps pwd reboot rm sed seq setsid sh sleep sort stat
    switch_root sync tail tee test time top touch tr true umount uname uptime wc xargs
""".split()

DIRS = ['bin', 'dev', 'etc', 'mnt', 'proc', 'root', 'sys', 'tmp']
NODES = {'dev/console': (stat.S_IFCHR | 0o600, 5, 1),
         'dev/ttyS0': (stat.S_IFCHR | 0o660, 4, 64)}


class Cpio:
    """newc ("070701") records, written into memory."""

    def __init__(self):
        self.out = io.BytesIO()
        self.ino = 0

    def _pad(self):
        self.out.write(b'\0' * (-self.out.tell() % 4))

    def add(self, name, mode, data=b'', rdev=(0, 0)):
        self.ino += 1
        nlink = 2 if stat.S_ISDIR(mode) else 1
        fields = [self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name) + 1, 0]
        self.out.write(b'070701' + b''.join(b'%08X' % f for f in fields))
        self.out.write(name.encode() + b'\0')
        self._pad()
        self.out.write(data)
        self._pad()

    def finish(self):
        self.ino = -1
        self.add('TRAILER!!!', 0)
        return self.out.getvalue()


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def write_tree(root, entries):
    """The entries as files, directories and links under @root (device nodes left out)."""
    for path in sorted(entries):
        mode, data, _ = entries[path]
        full = os.path.join(root, path)
        if stat.S_ISDIR(mode):
            os.makedirs(full, exist_ok=True)
            os.chmod(full, stat.S_IMODE(mode))
        elif stat.S_ISLNK(mode):
            os.symlink(data.decode(), full)
        elif stat.S_ISREG(mode):
            with open(full, 'wb') as f:
                f.write(data)
            os.chmod(full, stat.S_IMODE(mode))
    # Time 0 everywhere (children before their directories), as in the archive.
    for path in sorted(entries, reverse=True):
        if not stat.S_ISCHR(entries[path][0]):
            os.utime(os.path.join(root, path), (0, 0), follow_symlinks=False)
    os.utime(root, (0, 0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-o', '--output', required=True)
    ap.add_argument('--busybox', required=True, help='a static busybox binary')
    ap.add_argument('--file', action='append', default=[], metavar='DEST=SRC:MODE',
                    help='add SRC as DEST with octal MODE')
    ap.add_argument('--dir', action='append', default=[], metavar='DEST=SRCDIR',
                    help='add the files of SRCDIR under DEST')
    ap.add_argument('--tree', help='also write the files into this directory')
    args = ap.parse_args()

    entries = {}                # path without leading '/' -> (mode, data, rdev)
    for d in DIRS:
        entries[d] = (stat.S_IFDIR | 0o755, b'', (0, 0))
    entries['tmp'] = (stat.S_IFDIR | 0o1777, b'', (0, 0))
    for path, (mode, major, minor) in NODES.items():
        entries[path] = (mode, b'', (major, minor))
    entries['bin/busybox'] = (stat.S_IFREG | 0o755, read(args.busybox), (0, 0))
    for applet in APPLETS:
        entries['bin/' + applet] = (stat.S_IFLNK | 0o777, b'busybox', (0, 0))
    entries['etc/inittab'] = (stat.S_IFREG | 0o644,
                              read(os.path.join(ROOT, 'tests/guests/linux/inittab')), (0, 0))
    for spec in args.file:
        dest, _, rest = spec.partition('=')
        src, _, mode = rest.rpartition(':')
        if not dest.startswith('/') or not src or not mode:
            sys.exit(f'mkinitramfs: bad --file {spec!r} (expected DEST=SRC:MODE)')
        entries[dest.lstrip('/')] = (stat.S_IFREG | int(mode, 8), read(src), (0, 0))
    for spec in args.dir:
        dest, _, src = spec.partition('=')
        if not dest.startswith('/') or not os.path.isdir(src):
            sys.exit(f'mkinitramfs: bad --dir {spec!r} (expected DEST=SRCDIR)')
        for f in os.listdir(src):
            entries[os.path.join(dest.lstrip('/'), f)] = (stat.S_IFREG | 0o644,
                                                          read(os.path.join(src, f)), (0, 0))

    # Every parent directory exists, and sorting puts it before its children.
    for path in list(entries):
        parent = os.path.dirname(path)
        while parent and parent not in entries:
            entries[parent] = (stat.S_IFDIR | 0o755, b'', (0, 0))
            parent = os.path.dirname(parent)

    if args.tree:
        write_tree(args.tree, entries)
    cpio = Cpio()
    for path in sorted(entries):
        mode, data, rdev = entries[path]
        cpio.add(path, mode, data, rdev)
    raw = cpio.finish()

    buf = io.BytesIO()
    with gzip.GzipFile(filename='', mode='wb', fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    tmp = args.output + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(buf.getvalue())
    os.replace(tmp, args.output)


if __name__ == '__main__':
    main()
