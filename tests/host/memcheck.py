#!/usr/bin/env python3
"""Run host test binaries under Valgrind's memcheck: a read of uninitialised
memory, an invalid access or a leak of a definitely lost block fails the case.
Usage: memcheck.py [BINARY...]; without arguments every host test binary in
build/host that is not built for a sanitizer (make memcheck; part of make test)."""
import glob
import os
import subprocess
import sys

BUILD = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'build', 'host')
VALGRIND = ['valgrind', '--tool=memcheck', '--error-exitcode=99', '--leak-check=full',
            '--errors-for-leak-kinds=definite', '--track-origins=yes', '-q']


def main():
    failed = 0
    progs = sys.argv[1:] or sorted(
        p for p in glob.glob(os.path.join(BUILD, '**', '*'), recursive=True)
        if os.path.isfile(p) and os.access(p, os.X_OK) and not p.endswith(('-tsan', '-asan')))
    if not progs:
        print(f'not ok - memcheck: no host test binaries in {BUILD}: run make host-tests')
        return 1
    for prog in progs:
        name = 'memcheck_' + os.path.relpath(prog, BUILD).replace('/', '_')
        # Valgrind runs threads one at a time: stress durations stay as the test sets them.
        try:
            # Coverage minimums that need threads truly in parallel relax on this.
            env = dict(os.environ, HOST_TEST_UNDER_VALGRIND='1')
            p = subprocess.run(VALGRIND + [prog], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=900, env=env)
            out, rc = p.stdout.decode(errors='replace'), p.returncode
        except subprocess.TimeoutExpired as e:
            out, rc = (e.stdout or b'').decode(errors='replace'), 'timeout (900 s)'
        if rc == 0:
            print(f'ok - {name}')
        else:
            failed += 1
            reports = [ln for ln in out.splitlines() if ln.startswith('==')]
            print(f'not ok - {name}: exit {rc}')
            print('\n'.join(reports[:60] or out.splitlines()[-40:]))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
