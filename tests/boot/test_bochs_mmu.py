#!/usr/bin/env python3
"""The EPT MMU and reclaim under Bochs (VT-x with EPT, A/D bits) + OVMF, 3 CPUs.

Boots tests/guests/mmu.cfg (guests may use 6 MiB of host memory in all).

EPT MMU: memloop verifies every byte of its pages pass after pass while the
shell zaps ranges of its EPT and replaces its roots (`ept zap`, `ept
invalidate`); it must keep passing, the old roots must go (one root left),
and when it stops every root and table page must be freed.

Reclaim: with memloop running, `age`, `reclaim`, `page`, `rmap` show and
drive it; then memz1 and memz2 (8 MiB each, about 12 MiB touched, twice the
limit) verify their data over 4 passes at the same time: both must pass,
and `mem` must show evictions and refaults.
"""
import re
import time

from harness import Machine, Results, Timeout

r = Results()
t0 = time.time()


def num(rx, text, default=None):
    mt = re.search(rx, text)
    return int(mt.group(1), 16 if 'a-f' in rx else 10) if mt else default


with Machine('bochs', 'iso', cpus=3, mem=256, timeout=900, iso='hv-mmu.iso') as m:
    try:
        m.expect(r'hv> ', 300)
        print(f'# prompt after {time.time() - t0:.1f} s')

        # --- EPT MMU: zaps and root invalidations under a verifying guest ---
        m.shell('guest start memloop', 60)
        m.expect(r'\[memloop\] pass ok', 300)
        roots = m.shell('ept roots memloop', 60)
        r.ok('ept_roots_shown',
             re.search(r'root [0-9a-f]+\s+refcount [2-9]\d*\s+valid\s+table pages [1-9]', roots),
             roots)
        zapped = invalidated = 0
        ranges = [(0x200000, 0x40000), (0x240000, 0x100000), (0x0, 0x400000),
                  (0x300000, 0x1000), (0x280000, 0x20000)]
        for i, (gpa, length) in enumerate(ranges):
            z = m.shell(f'ept zap memloop {gpa:#x} {length:#x}', 60)
            zapped += num(r'zapped (\d+) leaves', z, 0)
            if i % 2 == 0:
                inv = m.shell('ept invalidate memloop', 60)
                invalidated += 'invalidated the roots of memloop' in inv
        r.ok('ept_zap_zaps', zapped > 0, f'zapped {zapped}')
        r.ok('ept_invalidate_runs', invalidated == 3, f'{invalidated} of 3')
        m.pos = len(m.out)
        m.expect(r'\[memloop\] pass ok', 300)
        m.expect(r'\[memloop\] pass ok', 300)
        walk = m.shell('ept walk memloop 0x200000', 60)
        r.ok('ept_walk_maps', re.search(r'GPA 200000 -> HPA [0-9a-f]+ \((4 KiB|2 MiB) leaf\)', walk),
             walk)
        # memloop's block at 2 MiB is touched first by the guest: one 2 MiB leaf, split by the
        # zaps of parts of it above (or zapped whole by the invalidations, then mapped again).
        mem = m.shell('mem', 60)
        leaves = re.search(r'EPT leaves: 4 KiB (\d+), 2 MiB (\d+); 2 MiB blocks taken (\d+)', mem)
        r.ok('memloop_2m_block', leaves and int(leaves.group(3)) >= 1, mem)
        eptst = m.shell('ept roots memloop', 60)
        r.ok('memloop_2m_leaf_split', num(r'split (\d+)', eptst, 0) >= 1, eptst)
        roots = m.shell('ept roots memloop', 60)
        r.ok('old_roots_freed', len(re.findall(r'  root ', roots)) == 1 and
             'roots alive 1,' in roots and re.search(r'refcount [2-9]\d*\s+valid', roots), roots)
        ill = m.shell('ept zap memloop 0x200000 zero', 60)
        r.ok('ept_bad_argument', "bad length 'zero'" in ill, ill)

        # --- Reclaim driven from the shell while memloop verifies ---
        age = m.shell('age memloop', 60)
        r.ok('age_histogram', re.search(r'aging pass: \d+ pages young', age) and
             re.search(r'memloop\s+resident\s+\d+\s+generations', age), age)
        m.shell('age memloop', 60)
        page = m.shell('page memloop 0x200000', 60)
        hpa = num(r'resident at HPA ([0-9a-f]+)', page)
        r.ok('page_resident', hpa is not None, page)
        if hpa:
            rm = m.shell(f'rmap {hpa:#x}', 60)
            r.ok('rmap_shows_mapping', 'backs GPA 200000 of guest memloop' in rm and
                 re.search(r'[1-9] mapping\(s\)', rm), rm)
        rec = m.shell('reclaim 200', 120)
        freed = num(r'reclaim: (\d+) of 200 pages freed', rec, 0)
        r.ok('reclaim_frees', freed > 0, rec)
        m.pos = len(m.out)
        m.expect(r'\[memloop\] pass ok', 300)
        mem = m.shell('mem', 60)
        r.ok('reclaim_refaults', num(r'memloop\s+resident \d+, evicted \d+, populated \d+, '
                                     r'evictions \d+, refaults (\d+)', mem, 0) > 0, mem)
        m.shell('guest stop memloop', 60)
        m.pos = 0
        gone = m.expect(r'guest memloop: memory freed; EPT roots alive (\d+), table pages (\d+)',
                        60)
        r.ok('roots_and_tables_freed', gone.group(1) == b'0' and gone.group(2) == b'0',
             gone.group(0))
        m.pos = len(m.out)
        r.ok('memloop_no_mismatch', 'MISMATCH' not in m.text(), m.text()[-2000:])

        # --- Overcommit: two guests touching twice the limit ---
        m.shell('guest start memz1 memz2', 60)
        for name in ('memz1', 'memz2'):
            m.pos = 0
            m.expect(rf'guest {name} (exited with status \d+|failed)', 600)
        for name in ('memz1', 'memz2'):
            m.pos = 0
            m.expect(rf'guest {name}: memory freed[^\n]*\n', 120)
        m.pos = len(m.out)
        out = m.text()
        print(f'# overcommit guests done after {time.time() - t0:.1f} s')
        for name in ('memz1', 'memz2'):
            r.ok(f'{name}_verifies', f'guest {name} exited with status 0' in out and
                 f'[{name}] report 1 = 0' in out, out[-3000:])
        mem = m.shell('mem', 60)
        ev = num(r'reclaim: evicted (\d+)', mem, 0)
        rf = num(r'refaulted (\d+)', mem, 0)
        print(f'# overcommit: {ev} evictions, {rf} refaults')
        for line in mem.splitlines():
            if line.startswith(('guests:', 'reclaim:', 'store:', 'EPT shootdowns')):
                print(f'# {line}')
        r.ok('overcommit_evicts_and_refaults', ev > 1000 and rf > 1000, mem)
        # 2 MiB leaves: memz touches whole blocks first (when the limit leaves room for one),
        # and reclaim evicts parts of them.
        huge = re.findall(r'2 MiB blocks taken (\d+), 2 MiB leaves split (\d+)',
                          out[out.rfind('guest start memz1'):])
        taken = sum(int(t) for t, _ in huge)
        split = sum(int(s) for _, s in huge)
        print(f'# 2 MiB leaves: {taken} blocks taken, {split} leaves split (memz1, memz2)')
        r.ok('overcommit_2m_leaves_split_under_reclaim', len(huge) == 2 and taken >= 1 and split >= 1,
             out[-3000:])
        # All that stays charged is the store's own bookkeeping, kept for the next guests.
        charged = num(r'guests: (\d+) of', mem)
        meta = num(r'data pages \+ (\d+) meta pages', mem)
        r.ok('nothing_leaked', charged is not None and charged == meta and
             re.search(r'store: 0 handles .* 0 entries .* in 0 data pages', mem), mem)
        # --- A guest whose memory cannot be found: stopped, the other one unharmed ---
        m.shell('guest start memloop memr', 60)
        m.pos = 0
        fail = m.expect(r'guest memr (failed: out of memory.*|exited with status \d+)',
                        600).group(0).decode()
        print(f'# {fail}')
        r.ok('oom_guest_stopped', 'failed: out of memory' in fail, fail)
        m.pos = len(m.out)
        m.expect(r'\[memloop\] pass ok', 300)
        m.expect(r'\[memloop\] pass ok', 300)
        m.shell('guest stop memloop', 60)
        r.ok('other_guest_unharmed', 'MISMATCH' not in m.text() and
             'guest memloop failed' not in m.text(), m.text()[-2000:])
        cpus = m.shell('cpus', 60)
        r.ok('hypervisor_still_fine', cpus.count('online') >= 3, cpus)
        print(f'# mmu tests done after {time.time() - t0:.1f} s')
    except Timeout as e:
        r.ok('bochs_mmu_session', False, str(e))
r.exit()
