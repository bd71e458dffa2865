#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run the two builds of bench_mmu (rwlock+cmpxchg, global-lock baseline) and
print their figures side by side with ratios.  Usage: bench_mmu.py NEW BASELINE"""
import subprocess
import sys


def run(prog):
    out = subprocess.run([prog], stdout=subprocess.PIPE, check=True).stdout.decode()
    return dict(l.split('=', 1) for l in out.splitlines() if '=' in l)


def main():
    new, base = run(sys.argv[1]), run(sys.argv[2])
    print(f"{'figure':40} {'rwlock+cmpxchg':>16} {'global lock':>16} {'ratio':>8}")
    for k in new:
        if k == 'variant':
            continue
        a, b = float(new[k]), float(base.get(k, 'nan'))
        ratio = f"{a / b:.2f}" if b else '-'
        print(f"{k:40} {a:16.3f} {b:16.3f} {ratio:>8}")
    n1, n2 = float(new['fault_in_1t_per_s']), float(new['fault_in_2t_per_s'])
    b1, b2 = float(base['fault_in_1t_per_s']), float(base['fault_in_2t_per_s'])
    print(f"scaling 1->2 threads: rwlock+cmpxchg {n2 / n1:.2f}x, global lock {b2 / b1:.2f}x")
    print(f"2 threads, rwlock+cmpxchg over global lock: {n2 / b2:.2f}x")
    print("yielding cuts the longest write hold by "
          f"{float(new['zap_1gib_noyield_max_hold_us']) / max(float(new['zap_1gib_yield_max_hold_us']), 1e-3):.0f}x")


if __name__ == '__main__':
    main()
