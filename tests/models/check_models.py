#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check the Promela models of the MMU protocols with spin, exhaustively.

For each case: spin -a (with the case's -D flags), gcc pan.c -DSAFETY, ./pan,
all in build/models/CASE/.  A correct model (or a variant that must stay safe)
passes when the search is complete and finds no error; a mutant passes when
spin rejects it with an assertion violation.  See docs/models.md.
"""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, 'build', 'models')

SAFE, REJECT = 'safe', 'reject'

# (case name, model, -D flags, expectation)
CASES = [
    ('model_inval_seq', 'inval_seq', [], SAFE),
    ('model_inval_seq_end_unlocked', 'inval_seq', ['END_UNLOCKED'], SAFE),
    # Retrying on any open invalidation only adds spurious retries.
    ('variant_inval_seq_MUT_NO_RANGE_CHECK', 'inval_seq',
     ['MUT_NO_RANGE_CHECK', 'END_UNLOCKED'], SAFE),
    ('mutant_inval_seq_MUT_NO_RECHECK', 'inval_seq', ['MUT_NO_RECHECK'], REJECT),
    ('mutant_inval_seq_MUT_NO_IN_PROGRESS_CHECK', 'inval_seq',
     ['MUT_NO_IN_PROGRESS_CHECK'], REJECT),
    ('mutant_inval_seq_MUT_NO_SEQ_CHECK', 'inval_seq', ['MUT_NO_SEQ_CHECK'], REJECT),
    ('mutant_inval_seq_MUT_SNAPSHOT_AFTER_RESOLVE', 'inval_seq',
     ['MUT_SNAPSHOT_AFTER_RESOLVE'], REJECT),
    ('mutant_inval_seq_MUT_NO_WIDEN', 'inval_seq', ['MUT_NO_WIDEN'], REJECT),
    ('mutant_inval_seq_MUT_SKIP_BY_START', 'inval_seq', ['MUT_SKIP_BY_START'], REJECT),
    # The order inside the end side matters only when it runs without mmu_lock.
    ('mutant_inval_seq_MUT_DEC_BEFORE_SEQ', 'inval_seq',
     ['MUT_DEC_BEFORE_SEQ', 'END_UNLOCKED'], REJECT),
    ('mutant_inval_seq_MUT_SEQ_CHECK_FIRST', 'inval_seq',
     ['MUT_SEQ_CHECK_FIRST', 'END_UNLOCKED'], REJECT),
    ('model_root', 'root', [], SAFE),
    ('mutant_root_MUT_GET_INVALID', 'root', ['MUT_GET_INVALID'], REJECT),
    ('mutant_root_MUT_GET_FROM_ZERO', 'root', ['MUT_GET_FROM_ZERO'], REJECT),
    ('mutant_root_MUT_FREE_BEFORE_ZAP', 'root', ['MUT_FREE_BEFORE_ZAP'], REJECT),
    ('mutant_root_MUT_FORCE_ZERO', 'root', ['MUT_FORCE_ZERO'], REJECT),
    ('mutant_root_MUT_NO_GRACE', 'root', ['MUT_NO_GRACE'], REJECT),
    ('model_tlb', 'tlb', [], SAFE),
    ('mutant_tlb_MUT_REQ_BEFORE_MODE', 'tlb', ['MUT_REQ_BEFORE_MODE'], REJECT),
    ('mutant_tlb_MUT_MODE_BEFORE_QUEUE', 'tlb', ['MUT_MODE_BEFORE_QUEUE'], REJECT),
    ('mutant_tlb_MUT_NO_WAIT', 'tlb', ['MUT_NO_WAIT'], REJECT),
    ('model_gfn_state', 'gfn_state', [], SAFE),
    ('mutant_gfn_state_MUT_NO_RETRY_LOST_CMPXCHG', 'gfn_state',
     ['MUT_NO_RETRY_LOST_CMPXCHG'], REJECT),
    ('mutant_gfn_state_MUT_EVICT_OUTSIDE_INVALIDATION', 'gfn_state',
     ['MUT_EVICT_OUTSIDE_INVALIDATION'], REJECT),
    ('mutant_gfn_state_MUT_REFAULT_UNCLAIMED', 'gfn_state', ['MUT_REFAULT_UNCLAIMED'], REJECT),
    ('mutant_gfn_state_MUT_AGE_PLAIN_STORE', 'gfn_state', ['MUT_AGE_PLAIN_STORE'], REJECT),
    ('mutant_gfn_state_MUT_EVICT_PINNED', 'gfn_state', ['MUT_EVICT_PINNED'], REJECT),
    ('model_wakeup', 'wakeup', [], SAFE),
    ('mutant_wakeup_MUT_STI_BEFORE_CHECK', 'wakeup', ['MUT_STI_BEFORE_CHECK'], REJECT),
    ('mutant_wakeup_MUT_KICK_BEFORE_POST', 'wakeup', ['MUT_KICK_BEFORE_POST'], REJECT),
]

PAN_CFLAGS = ['-DSAFETY', '-DMEMLIM=2048', '-w']
# Mutants fail within a few thousand states: compiling pan.c fast wins there.
OPT = {SAFE: '-O2', REJECT: '-O0'}
PAN_ARGS = ['-m100000']
TIMEOUT = 300


def run(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=TIMEOUT)
    return p.returncode, p.stdout.decode(errors='replace')


def check(case):
    """Returns (ok, message) for one case."""
    name, model, defines, expect = case
    wd = os.path.join(BUILD, name)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    src = model + '.pml'
    # A copy, so that spin's and pan's by-products (the trail) stay in wd.
    shutil.copy(os.path.join(HERE, src), wd)
    rc, out = run(['spin'] + ['-D' + d for d in defines] + ['-a', src], wd)
    if rc != 0 or not os.path.exists(os.path.join(wd, 'pan.c')):
        return False, 'spin -a failed: ' + out.strip()[-300:]
    rc, out = run(['gcc', OPT[expect]] + PAN_CFLAGS + ['-o', 'pan', 'pan.c'], wd)
    if rc != 0:
        return False, 'gcc pan.c failed: ' + out.strip()[-300:]
    _, out = run(['./pan'] + PAN_ARGS, wd)
    with open(os.path.join(wd, 'pan.out'), 'w') as f:
        f.write(out)

    errors = re.search(r'errors: (\d+)', out)
    states = re.search(r'(\d+) states, stored', out)
    if not errors or not states:
        return False, 'no pan summary (see %s/pan.out)' % wd
    errors, states = int(errors.group(1)), int(states.group(1))
    incomplete = [m for m in ('max search depth too small', 'MEMLIM',
                              'out of memory', 'aborted')
                  if m in out]
    if expect == SAFE:
        if errors:
            why = re.search(r'pan:\d+: (.*)', out)
            return False, '%d errors: %s (trail in %s)' % (
                errors, why.group(1) if why else '?', wd)
        if incomplete:
            return False, 'search incomplete: ' + ', '.join(incomplete)
        if 'invalid end states\t+' not in out:
            return False, 'end states were not checked'
        return True, '%d states' % states
    if errors == 0:
        return False, 'not rejected: %d states, no error' % states
    why = re.search(r'pan:\d+: (assertion violated .*?)( \(at depth \d+\))?$',
                    out, re.M)
    if not why:
        return False, 'rejected, but not by an assertion: ' + \
            (re.search(r'pan:\d+: (.*)', out) or ['', '?'])[1]
    return True, 'rejected: ' + why.group(1)


def main():
    if shutil.which('spin') is None or shutil.which('gcc') is None:
        for case in CASES:
            print('ok - %s # SKIP spin or gcc not installed' % case[0])
        return 0
    os.makedirs(BUILD, exist_ok=True)
    # The largest searches take up to ~1.3 GB (gfn_state) and ~600 MB: two at a time.
    jobs = max(1, min(2, os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(check, CASES))
    failed = 0
    for (name, *_), (ok, msg) in zip(CASES, results):
        if ok:
            print('ok - %s: %s' % (name, msg))
        else:
            failed += 1
            print('not ok - %s: %s' % (name, msg))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
