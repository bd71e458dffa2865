#!/usr/bin/env python3
"""Run every test program and count cases.

Each argument is a test program (a host test binary or a boot test script).
A program prints one line per case: "ok - NAME", "not ok - NAME: why", or
"ok - NAME # SKIP why".  A program that prints no case line counts as one case
(pass iff it exits 0); one that exits non-zero without reporting a failure adds
a failed case, so a crash is never a pass.  The last line is the summary
"N passed, N failed, N skipped".
"""
import os
import re
import subprocess
import sys
import time

CASE = re.compile(r'^(not ok|ok) - (.*)$')


def run_one(prog, timeout):
    cmd = [sys.executable, prog] if prog.endswith('.py') else [prog]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        out, rc = p.stdout.decode(errors='replace'), p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode(errors='replace')
        rc = 'timeout'
    dt = time.time() - t0
    passed = failed = skipped = 0
    for line in out.splitlines():
        m = CASE.match(line.strip())
        if not m:
            continue
        if m.group(1) == 'not ok':
            failed += 1
        elif '# SKIP' in m.group(2):
            skipped += 1
        else:
            passed += 1
        print('  ' + line.strip())
    if rc != 0 and failed == 0:
        failed += 1
        print(f'  not ok - {prog}: exited {rc} without reporting a failed case')
    elif passed + failed + skipped == 0:
        passed = 1
        print(f'  ok - {prog}')
    if failed:
        tail = '\n'.join(out.splitlines()[-40:])
        print(f'  --- output of {prog} (last 40 lines) ---\n{tail}\n  ---')
    print(f'{prog}: {passed} passed, {failed} failed, {skipped} skipped ({dt:.1f}s)')
    sys.stdout.flush()
    return passed, failed, skipped


def main():
    timeout = int(os.environ.get('TEST_TIMEOUT', '900'))
    tot = [0, 0, 0]
    for prog in sys.argv[1:]:
        r = run_one(prog, timeout)
        tot = [a + b for a, b in zip(tot, r)]
    print(f'{tot[0]} passed, {tot[1]} failed, {tot[2]} skipped')
    return 1 if tot[1] else 0


if __name__ == '__main__':
    sys.exit(main())
