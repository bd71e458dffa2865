#!/usr/bin/env python3
"""Single-point breakages of the MMU core, one at a time: does the suite catch them?

Reads tests/mutants/mutants.txt (the format is described at its top).  In a
scratch copy of the working tree (git's tracked and untracked, not ignored,
files; the worktree itself is never written), it first builds and runs every
test program the list names on the unchanged code, which must pass.  Then,
for each mutant: replace the original text (which must occur exactly once)
by the mutated text, build the programs the mutant names, run them at their
default durations (as `make test` does) until one fails, and put the file
back.  A program catches a mutant when it exits non-zero, prints a "not ok"
line, or runs past the timeout.

Prints `mutant  caught-by  result` per mutant, then `N caught, N survived`
and `figure mutants_survived N`.  Exit status 1 if any mutant survived (or
the unchanged code failed).

Usage: run_mutants.py [--only ID,...] [--tests PROG,...] [--repeat N] [--all]
                      [--timeout S] [--list FILE] [--keep]
  --only      these mutants only
  --tests     run these programs (e.g. ept/stress_fault_vs_zap) instead of
              each mutant's own: what does one test catch?
  --repeat N  run each mutant's programs N times: caught only if every run is
  --all       run every program named, not only up to the first that catches
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_LIST = os.path.join(ROOT, 'tests', 'mutants', 'mutants.txt')
CASE = re.compile(r'^not ok - ')


class Mutant:
    def __init__(self, ident, why):
        self.ident, self.why = ident, why
        self.file, self.tests, self.orig, self.new = None, [], None, None


def parse(path):
    """Blocks of: '== ID: why', 'file: PATH', 'tests: PROG...', '<<<', original, '===', mutated, '>>>'."""
    mutants, cur, part, lines = [], None, None, []
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip('\n')
            if part in ('orig', 'new') and line not in ('===', '>>>'):
                lines.append(line)
                continue
            if not line.strip() or line.startswith('#'):
                continue
            if line.startswith('== '):
                ident, _, why = line[3:].partition(':')
                cur = Mutant(ident.strip(), why.strip())
                mutants.append(cur)
            elif cur is None:
                sys.exit(f'{path}:{n}: expected "== ID: why"')
            elif line.startswith('file:'):
                cur.file = line[5:].strip()
            elif line.startswith('tests:'):
                cur.tests = line[6:].split()
            elif line == '<<<':
                part, lines = 'orig', []
            elif line == '===' and part == 'orig':
                cur.orig, part, lines = '\n'.join(lines) + '\n', 'new', []
            elif line == '>>>' and part == 'new':
                cur.new, part = ('\n'.join(lines) + '\n') if lines else '', None
            else:
                sys.exit(f'{path}:{n}: unexpected line: {line}')
    for m in mutants:
        if not (m.file and m.tests and m.orig is not None and m.new is not None):
            sys.exit(f'{path}: mutant {m.ident} lacks file, tests or its <<< === >>> block')
    return mutants


def scratch_copy(dest):
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=ROOT,
                           check=True, stdout=subprocess.PIPE).stdout.decode().split('\0')
    for rel in filter(None, files):
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src) and not os.path.islink(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)) or dest, exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))


def build(tree, progs):
    targets = [f'build/host/{p}' for p in progs]
    p = subprocess.run(['make', '-j2'] + targets, cwd=tree, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    return p.returncode == 0, p.stdout.decode(errors='replace')


def run_prog(tree, prog, timeout):
    """'pass', 'not ok', 'exit N' or 'timeout'."""
    env = dict(os.environ, TSAN_OPTIONS='halt_on_error=1 second_deadlock_stack=1')
    try:
        p = subprocess.run([os.path.join(tree, 'build', 'host', prog)], cwd=tree, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 'timeout', ''
    out = p.stdout.decode(errors='replace')
    if any(CASE.match(ln) for ln in out.splitlines()):
        return 'not ok', out
    return ('pass' if p.returncode == 0 else f'exit {p.returncode}'), out


def apply(tree, m):
    """Mutate m.file in @tree; returns its original text, or None if m.orig is not there once."""
    path = os.path.join(tree, m.file)
    with open(path) as f:
        text = f.read()
    if text.count(m.orig) != 1:
        return None
    with open(path, 'w') as f:
        f.write(text.replace(m.orig, m.new))
    return text


def restore(tree, m, text):
    with open(os.path.join(tree, m.file), 'w') as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--list', default=DEFAULT_LIST)
    ap.add_argument('--only', default='')
    ap.add_argument('--tests', default='')
    ap.add_argument('--repeat', type=int, default=1)
    ap.add_argument('--all', action='store_true')
    ap.add_argument('--timeout', type=int, default=300)
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()

    mutants = parse(args.list)
    if args.only:
        wanted = set(args.only.split(','))
        unknown = wanted - {m.ident for m in mutants}
        if unknown:
            sys.exit(f'unknown mutants: {", ".join(sorted(unknown))}')
        mutants = [m for m in mutants if m.ident in wanted]
    if args.tests:
        for m in mutants:
            m.tests = args.tests.split(',')
    progs = sorted({p for m in mutants for p in m.tests})
    tree = tempfile.mkdtemp(prefix='mutants-')
    rows, survived, broken = [], 0, False
    try:
        scratch_copy(tree)
        print(f'# scratch tree {tree}; baseline: {len(progs)} programs on the unchanged code')
        sys.stdout.flush()
        ok, log = build(tree, progs)
        if not ok:
            print(log[-4000:])
            print('not ok - the unchanged tree does not build')
            return 1
        for prog in progs:
            res, out = run_prog(tree, prog, args.timeout)
            if res != 'pass':
                broken = True
                print(f'not ok - baseline {prog}: {res}\n' + '\n'.join(out.splitlines()[-20:]))
        if broken:
            print('not ok - the unchanged code fails: no mutant can be judged')
            return 1
        for m in mutants:
            t0 = time.time()
            saved = apply(tree, m)
            if saved is None:
                rows.append((m.ident, '-', 'BAD: original text not found exactly once'))
                survived += 1
                continue
            ok, log = build(tree, m.tests)
            caught_runs, by = 0, []
            if not ok:
                rows.append((m.ident, '-', 'BAD: does not build'))
                print(log[-3000:])
                survived += 1
                restore(tree, m, saved)
                continue
            for _ in range(args.repeat):
                caught_here = []
                for prog in m.tests:
                    res, _ = run_prog(tree, prog, args.timeout)
                    if res != 'pass':
                        caught_here.append(f'{prog} ({res})')
                        if not args.all:
                            break
                caught_runs += bool(caught_here)
                by = by or caught_here
            restore(tree, m, saved)
            verdict = 'caught' if caught_runs == args.repeat else 'SURVIVED'
            if args.repeat > 1:
                verdict += f' {caught_runs}/{args.repeat}'
            verdict += f' ({time.time() - t0:.0f} s)'
            survived += caught_runs != args.repeat
            rows.append((m.ident, ', '.join(by) or '-', verdict))
            print(f'# {m.ident}: {verdict}')
            sys.stdout.flush()
    finally:
        if args.keep:
            print(f'# kept {tree}')
        else:
            shutil.rmtree(tree, ignore_errors=True)
    w = max([len('mutant')] + [len(r[0]) for r in rows])
    c = max([len('caught-by')] + [len(r[1]) for r in rows])
    print(f'{"mutant":<{w}}  {"caught-by":<{c}}  result')
    for r in rows:
        print(f'{r[0]:<{w}}  {r[1]:<{c}}  {r[2]}')
    print(f'{len(rows) - survived} caught, {survived} survived')
    print(f'figure mutants_survived {survived}')
    return 1 if survived else 0


if __name__ == '__main__':
    sys.exit(main())
