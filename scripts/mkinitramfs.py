#!/usr/bin/env python3
"""Write a gzip'd newc cpio initramfs without a cpio binary.

    mkinitramfs.py -o OUT --busybox PATH [--file DEST=SRC:MODE ...]

The archive holds /bin/busybox with a symlink per applet in APPLETS, the
directories a busybox system needs, /dev/console (c 5:1) and /dev/ttyS0
(c 4:64) so that the kernel can open the console before devtmpfs is
mounted, /etc/inittab (tests/guests/linux/inittab unless given), and each
--file.  It is reproducible: entries sorted by path, owner root, mtime 0,
inode numbers in order, and a gzip header without name or time.
"""
import argparse
import gzip
import io
import os
import stat
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

APPLETS = """
    [ awk cat chmod cp cttyhack cut date dd df dmesg echo env false free grep halt head
    hexdump init kill ln ls mkdir mknod mount mv nproc poweroff printf ps pwd reboot rm
    sed seq setsid sh sleep sort stat sync tail tee test time top touch tr true umount
    uname uptime wc xargs
""".split()

DIRS = ['bin', 'dev', 'etc', 'proc', 'root', 'sys', 'tmp']
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-o', '--output', required=True)
    ap.add_argument('--busybox', required=True, help='a static busybox binary')
    ap.add_argument('--file', action='append', default=[], metavar='DEST=SRC:MODE',
                    help='add SRC as DEST with octal MODE')
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

    # Every parent directory exists, and sorting puts it before its children.
    for path in list(entries):
        parent = os.path.dirname(path)
        while parent and parent not in entries:
            entries[parent] = (stat.S_IFDIR | 0o755, b'', (0, 0))
            parent = os.path.dirname(parent)

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
