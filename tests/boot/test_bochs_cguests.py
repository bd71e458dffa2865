#!/usr/bin/env python3
"""The C test guests under Bochs (VT-x with EPT) + OVMF, 2 CPUs (CPU 0 keeps the shell).

Boots tests/guests/cguests.cfg and starts each guest from the shell, one at a
time: one C program (tests/guests/c/) built by GCC for real, protected and long
mode at -O0 and -O2, each a Multiboot kernel.  It checks the Multiboot
promises, guest memory, the local APIC and the I/O APIC against the
Multiboot Specification and the Intel SDM, and prints `PASS name`,
`FAIL name: detail` or `SKIP name: why` on COM1; it exits through port 0xF4
with the number of failures.

One case per guest: every check in the sources (CHECK/CHECK_EQ/rt_skip names in
tests/guests/c/*.c) printed PASS, SKIP only where its mode allows it, no FAIL,
status 0.  After each guest the shell's `exits NAME` is printed, to compare
with APIC virtualization later.
"""
import glob
import os
import re
import time

from harness import ROOT, Machine, Results, Timeout, run_check_guest

GUESTS = [f'cg_{m}_{o}' for m in ('real', 'prot', 'long') for o in ('O0', 'O2')]
# Checks a mode may skip, and why the guest says it does.
SKIPS = {'real': {'apic_cr8_is_tpr'}, 'prot': {'apic_cr8_is_tpr'}, 'long': set()}
GUEST_TIMEOUT = 240


def real_mode_skips():
    """The FORM checks of apic.c, which the real-mode image has no room for."""
    with open(os.path.join(ROOT, 'tests/guests/c/apic.c')) as f:
        return set(re.findall(r'\bFORM\(\s*"(\w+)"', f.read()))


SKIPS['real'] |= real_mode_skips()
# The big-guest checks run only in cg_big (bigmem on its command line).
BIG_CHECKS = {'big_map_ram_above_4g', 'big_pages_keep_their_data', 'big_untouched_pages_read_zero'}
for _mode in SKIPS:
    SKIPS[_mode] |= BIG_CHECKS


def check_names():
    """Every check name in the C sources, in order."""
    names = []
    for path in sorted(glob.glob(os.path.join(ROOT, 'tests/guests/c/*.c'))):
        with open(path) as f:
            src = f.read()
        for n in re.findall(r'\b(?:CHECK|CHECK_EQ|rt_skip|FORM|FORM16)\(\s*"(\w+)"', src):
            if n not in names:
                names.append(n)
    return names


def exits_summary(m, name):
    """`exits NAME` as 'reason count, ...'."""
    out = m.command(f'exits {name}', 120)
    rows = re.findall(r'^\s+\d+ (.+?)\s+(\d+)$', out, re.M)
    return ', '.join(f'{r} {c}' for r, c in rows)


r = Results()
names = check_names()
t0 = time.time()
with Machine('bochs', 'iso', cpus=2, mem=256, timeout=1100, iso='hv-cguests.iso') as m:
    try:
        m.expect(r'hv> ', 300)
        print(f'# prompt after {time.time() - t0:.1f} s; {len(names)} checks per guest')
        for name in GUESTS:
            mode = name.split('_')[1]
            t1 = time.time()
            status, why, lines = run_check_guest(m, name, GUEST_TIMEOUT)
            seen = {n: kind for kind, n, _ in lines}
            fails = [f'FAIL {n}: {d}' for k, n, d in lines if k == 'FAIL']
            bad_skips = [f'SKIP {n}: {d}' for k, n, d in lines
                         if k == 'SKIP' and n not in SKIPS[mode]]
            missing = [n for n in names if n not in seen]
            print(f'# {name}: {why} after {time.time() - t1:.1f} s; {len(lines)} lines, '
                  f'{len(fails)} FAIL, {len(bad_skips)} unexpected SKIP')
            print(f'# exits {name}: {exits_summary(m, name)}')
            msg = '\n'.join([f'{name} {why}'] + fails + bad_skips +
                            ([f'never printed: {" ".join(missing)}'] if missing else []))
            r.ok(name, status == 0 and not fails and not bad_skips and not missing, msg)
        print(f'# C guests done after {time.time() - t0:.1f} s')

        # --- 64 GiB on this 256 MiB machine: sparse pages across all of it ---
        t1 = time.time()
        start = len(m.out)
        status, why, lines = run_check_guest(m, 'cg_big', GUEST_TIMEOUT)
        seen = {n: kind for kind, n, _ in lines}
        fails = [f'FAIL {n}: {d}' for k, n, d in lines if k == 'FAIL']
        print(f'# cg_big: {why} after {time.time() - t1:.1f} s; {len(lines)} lines')
        r.ok('big_guest_64g_pages_across_its_range', status == 0 and not fails and
             all(seen.get(n) == 'PASS' for n in BIG_CHECKS),
             '\n'.join([f'cg_big {why}'] + fails + [f'{n}: {seen.get(n)}' for n in BIG_CHECKS]))
        # Its memory is freed when it exits; the line says what its metadata cost.
        m.pos = start
        try:
            meta = m.expect(rb'guest cg_big: memory freed;[^\n]* metadata (\d+) KiB backed of '
                            rb'(\d+) KiB', 120)
        except Timeout:
            meta = None
        mem = m.out[start:].decode(errors='replace')
        if meta:
            print(f'# cg_big metadata: {int(meta.group(1))} KiB backed of {int(meta.group(2))} KiB')
        # 69 pages touched and their neighbours: some dozens of 8 KiB chunks, against 130 MiB.
        r.ok('big_guest_metadata_lazily_backed',
             meta and int(meta.group(1)) < 2048 and int(meta.group(2)) > 100 * 1024, mem[-3000:])
    except Timeout as e:
        r.ok('bochs_cguests_session', False, str(e))
r.exit()
