#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Record the ACPI tables a QEMU machine's firmware builds, as a C array.

Boots QEMU with no boot device, lets the firmware install its tables, saves
guest RAM through the monitor (pmemsave), finds every valid RSDP in it and
keeps the bytes of every table reachable from them (RSDP, XSDT/RSDT, the
tables they list, the DSDT).  The output is a C header for
tests/boot/test_acpi.c: records of <u64 phys><u32 len><len bytes>, and the
RSDP addresses.  Example (about a minute under TCG):

  tests/boot/record_acpi.py --name q35_ovmf --seconds 35 --mem 128 -- \\
      -machine q35 -smp 4 -bios /usr/share/ovmf/OVMF.fd > out.h
"""
import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time


def checksum_ok(b):
    return sum(b) & 0xff == 0


def monitor(path, cmds):
    s = socket.socket(socket.AF_UNIX)
    for _ in range(50):
        try:
            s.connect(path)
            break
        except OSError:
            time.sleep(0.1)
    for c in cmds:
        s.sendall((c + '\n').encode())
        time.sleep(2)
    s.close()


def find_rsdps(mem):
    found, i = [], mem.find(b'RSD PTR ')
    while i >= 0:
        r = mem[i:i + 36]
        if len(r) >= 20 and checksum_ok(r[:20]):
            if r[15] < 2:
                found.append(i)
            else:
                n = struct.unpack_from('<I', r, 20)[0]
                if 36 <= n <= 4096 and checksum_ok(mem[i:i + n]):
                    found.append(i)
        i = mem.find(b'RSD PTR ', i + 1)
    return found


def reachable(mem, rsdps):
    chunks = {}

    def table(a):
        if a + 8 > len(mem):
            return b''
        n = struct.unpack_from('<I', mem, a + 4)[0]
        t = mem[a:a + n]
        chunks[a] = t
        return t

    for rsdp in rsdps:
        rev = mem[rsdp + 15]
        chunks[rsdp] = mem[rsdp:rsdp + (36 if rev >= 2 else 20)]
        roots = [(struct.unpack_from('<I', mem, rsdp + 16)[0], 4)]
        if rev >= 2:
            roots.append((struct.unpack_from('<Q', mem, rsdp + 24)[0], 8))
        for root, esz in roots:
            if not root:
                continue
            t = table(root)
            for k in range(36, len(t) - esz + 1, esz):
                a = struct.unpack_from('<I' if esz == 4 else '<Q', t, k)[0]
                s = table(a)
                if s[:4] == b'FACP':
                    dsdt = {struct.unpack_from('<I', s, 40)[0]}
                    if len(s) >= 148:
                        dsdt.add(struct.unpack_from('<Q', s, 140)[0])
                    for d in dsdt - {0}:
                        table(d)
    merged = []
    for a, c in sorted(chunks.items()):
        if merged and a <= merged[-1][0] + len(merged[-1][1]):
            pa, pc = merged[-1]
            merged[-1] = (pa, mem[pa:max(pa + len(pc), a + len(c))])
        else:
            merged.append((a, c))
    return merged


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--name', required=True)
    ap.add_argument('--seconds', type=float, default=35)
    ap.add_argument('--mem', type=int, default=128, help='guest MiB')
    ap.add_argument('qemu_args', nargs='*')
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        sock, dump = os.path.join(d, 'mon'), os.path.join(d, 'mem')
        q = subprocess.Popen(['qemu-system-x86_64', '-m', str(a.mem), '-display', 'none',
                              '-serial', 'none', '-net', 'none',
                              '-monitor', 'unix:%s,server,nowait' % sock] + a.qemu_args)
        time.sleep(a.seconds)
        monitor(sock, ['pmemsave 0 %#x "%s"' % (a.mem << 20, dump), 'quit'])
        q.wait(timeout=30)
        mem = open(dump, 'rb').read()

    rsdps = find_rsdps(mem)
    if not rsdps:
        sys.exit('no valid RSDP found')
    blob = b''.join(struct.pack('<QI', p, len(c)) + c for p, c in reachable(mem, rsdps))
    print('/* Recorded by tests/boot/record_acpi.py %s */' % ' '.join(a.qemu_args))
    for i, r in enumerate(rsdps):
        print('#define REC_%s_RSDP%d %#xull	/* revision %d */' % (a.name.upper(), i, r,
                                                            mem[r + 15]))
    print('static const uint8_t rec_%s[] = {' % a.name)
    for i in range(0, len(blob), 16):
        print('\t' + ' '.join('0x%02x,' % b for b in blob[i:i + 16]))
    print('};')


if __name__ == '__main__':
    main()
