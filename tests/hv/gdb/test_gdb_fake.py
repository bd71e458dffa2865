#!/usr/bin/env python3
"""Debian's GDB against the stub's core, without an emulator.

GDB runs `target remote | build/host/hv/gdb/fake_gdb_target MODE`: the
hypervisor's stub (hv/gdb/stub.c, rsp.c, target.c) over a pipe, with the
fake target of tests/hv/gdb/fake_target.h behind it.  Checks that GDB takes
the target description of each mode (i386:x86-64, i386, i8086), shows the
registers, reads memory, lists the threads, hits a breakpoint, steps, is
refused a read-only register, is interrupted by Ctrl-C (SIGINT to GDB) and
detaches.  The hypervisor behind the same stub is tested under Bochs
(tests/boot/test_bochs_gdb.py).
"""
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'boot'))
from harness import BUILD, run_gdb  # noqa: E402

FAKE = os.path.join(BUILD, 'host', 'hv', 'gdb', 'fake_gdb_target')


def case(name, ok, why=''):
    print(f'ok - {name}' if ok else f'not ok - {name}: {why}')
    sys.stdout.flush()
    return ok


def gdb(mode, cmds, interrupt_after=None):
    """GDB on the fake target; SIGINT once it printed interrupt_after (echoed before a continue)."""
    def interrupt(g):
        time.sleep(0.5)
        g.send_signal(signal.SIGINT)
    return run_gdb(f'| {FAKE} {mode}', cmds, timeout=30,
                   on_marker={interrupt_after: interrupt} if interrupt_after else None)


def main():
    if not shutil.which('gdb'):
        print('ok - gdb_fake # SKIP no gdb (scripts/deps.sh installs it)')
        return 0
    if not os.path.exists(FAKE):
        return 0 if case('gdb_fake_built', False, f'{FAKE} missing (make host-tests)') else 1
    failed = 0

    out = gdb('amd64', [
        'show architecture', 'info registers', 'x/s 0x101000', 'info threads',
        'set $cr3 = 5', 'set var $rax = 0x42', 'p/x $rax', 'break *0x100040', 'continue',
        'stepi', 'p $pc', 'monitor hello', 'detach'])
    failed += not case('gdb_amd64_architecture', 'i386:x86-64' in out, out[-2000:])
    failed += not case('gdb_amd64_registers', 'rip            0x100010' in out and
                       'cr3            0x1000' in out and 'efer' in out and
                       'eflags         0x202               [ IF ]' in out, out[-2000:])
    failed += not case('gdb_amd64_memory', '0x101000:\t"hello, debugger"' in out, out[-2000:])
    failed += not case('gdb_amd64_threads', 'Thread 1 (vCPU 0 on CPU 1)' in out and
                       'Thread 2 (vCPU 1 on CPU 2)' in out, out[-2000:])
    failed += not case('gdb_amd64_readonly_register',
                       'Could not write register "cr3"' in out, out[-2000:])
    failed += not case('gdb_amd64_write_register', '$1 = 0x42' in out, out[-2000:])
    failed += not case('gdb_amd64_breakpoint', 'hit Breakpoint 1, 0x0000000000100040' in out,
                       out[-2000:])
    failed += not case('gdb_amd64_stepi', '0x100041' in out, out[-2000:])
    failed += not case('gdb_amd64_monitor', 'monitor said: hello' in out, out[-2000:])
    failed += not case('gdb_amd64_detach', '[Inferior 1 (Remote target) detached]' in out,
                       out[-2000:])

    for mode, arch, pc in (('i386', 'i386', 'eip'), ('i8086', 'i8086', 'eip')):
        out = gdb(mode, ['show architecture', f'info registers {pc}', 'x/i $pc',
                             'break *0x100030', 'continue', 'detach'])
        failed += not case(f'gdb_{mode}_architecture',
                           f'(currently "{arch}")' in out or f'(currently {arch})' in out,
                           out[-2000:])
        failed += not case(f'gdb_{mode}_registers_and_disassembly',
                           f'{pc}            0x100010' in out and '=> 0x100010:\tnop' in out,
                           out[-2000:])
        failed += not case(f'gdb_{mode}_breakpoint', 'hit Breakpoint 1, 0x00100030' in out,
                           out[-2000:])
        failed += not case(f'gdb_{mode}_no_warning', 'warning: A handler' not in out,
                           out[-2000:])

    out = gdb('amd64', ['echo READY\\n', 'continue', 'p $pc', 'detach'],
                  interrupt_after='READY')
    failed += not case('gdb_ctrl_c_interrupts', 'received signal SIGINT' in out and
                       '[Inferior 1 (Remote target) detached]' in out, out[-2000:])
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
