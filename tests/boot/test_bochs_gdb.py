#!/usr/bin/env python3
"""Debian's GDB debugs guests through the hypervisor's stub, under Bochs.

Bochs (2 CPUs: the shell's and the guests') boots tests/guests/gdb.cfg with
COM1 (the shell) and COM2 (gdb_port = com2) as sockets.  Bochs' serial
sockets take one client for the whole run, so the harness holds both and
GDB connects to a relay (harness.Relay) that bridges one of them.

1. gdbt, an ELF64 with symbols and two vCPUs, on COM2: `gdb gdbt` stops it;
   a raw client first feeds the live stub garbage (bad checksums, an
   overlong packet, unknown packets, an unmapped address) and gets its
   answers; then GDB in batch mode: `info threads`, `break tick`,
   `continue`, `info registers rip`, `x/s`, `set var counter`, `stepi`
   (also over a VMCALL the hypervisor emulates), `hbreak`, `watch`, Ctrl-C (SIGINT to GDB) while the guest spins, and
   `detach`.  Meanwhile the shell on COM1 answers `guests` and starts and
   runs another guest.  After the detach gdbt prints the counter GDB set
   and runs on.  Before that GDB, another one fills the four debug
   registers, continues and is killed: the next GDB finds the guest
   running, stops it by connecting, and has the debug registers free.
2. gdbrm, a real-mode guest, on COM1 handed over from the shell
   (`gdb gdbrm com1`): GDB sees i8086, disassembles 16-bit code, stops at
   a breakpoint and detaches; the shell has COM1 back.  Then Ctrl-] on a
   COM1 lent to the stub gives the line back without GDB.
"""
import os
import re
import signal
import socket
import subprocess
import time

from harness import BUILD, Machine, Relay, Results, run_gdb

ELF = os.path.join(BUILD, 'guests', 'gdbt.elf')


def gdb(m, port, cmds, pump=True, **kw):
    """harness.run_gdb against the relay; pump: read COM1 meanwhile (not when the relay has it)."""
    return run_gdb(f'127.0.0.1:{port}', cmds, idle=(lambda: m._pump(0.1)) if pump else None, **kw)


def section(out, marker):
    """GDB's output after `echo @@marker` up to the next marker."""
    start = out.find(f'@@{marker}\n')
    if start < 0:
        return ''
    start += len(marker) + 3
    end = out.find('@@', start)
    return out[start:end if end >= 0 else len(out)]


def frame(body):
    """$body#cs"""
    return b'$' + body + b'#' + b'%02x' % (sum(body) & 0xff)


def raw_exchange(port, send, want, timeout=60):
    """Send raw bytes to the stub; read until the regex `want` matches."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    s.sendall(send)
    got, end = b'', time.time() + timeout
    while not re.search(want, got) and time.time() < end:
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        got += data
    s.close()
    return got


def garbage(r, relay):
    """The live stub answers garbage with errors or empty replies, then works."""
    cases = [
        ('stub_nak_bad_checksum', b'$qC#00', rb'^-'),
        ('stub_unmapped_address_e14', frame(b'm7fff00000000,10'), rb'\$E14#'),
        ('stub_non_canonical_e14', frame(b'm800000000000,4'), rb'\$E14#'),
        ('stub_unknown_packet_empty', frame(b'vNoSuchThing'), rb'\$#00'),
        ('stub_overlong_packet_error', frame(b'q' * 5000), rb'\$E16#'),
        ('stub_bad_register_error', frame(b'p999'), rb'\$E16#'),
        ('stub_junk_then_query', b'\x00\xff+-}}garbage' + frame(b'qC'), rb'\$QC1#'),
    ]
    for name, send, want in cases:
        got = raw_exchange(relay.port, send, want)
        r.ok(name, re.search(want, got), repr(got[-200:]))


def killed_gdb(r, m, relay):
    """A GDB that holds every debug register is killed while the guest runs."""
    def kill_soon(g):
        end = time.time() + 2
        while time.time() < end:
            m._pump(0.1)
        g.kill()

    out = gdb(m, relay.port, ['watch greeting[0]', 'watch greeting[8]', 'watch greeting[16]',
                              'hbreak main', 'echo @@RUN\\n', 'continue'], elf=ELF,
              on_marker={'@@RUN': kill_soon})
    r.ok('killed_gdb_left_the_guest_running',
         'Hardware assisted breakpoint 4 at' in out and
         'gdb on COM2, running' in m.shell('guests'), out[-800:])


def vmcall_address():
    """Where gdbt's one VMCALL (in hc_write) is: an instruction the hypervisor emulates."""
    dis = subprocess.run(['objdump', '-d', ELF], capture_output=True, text=True).stdout
    return int(re.search(r'^\s*([0-9a-f]+):\s+0f 01 c1\s+vmcall', dis, re.M).group(1), 16)


def com2_session(r, m, relay):
    m.send('gdb gdbt\r')
    m.expect(r'gdb: guest gdbt stopped \(i386:x86-64, 2 threads\)', 120)
    r.ok('guests_shows_the_debugger', 'gdb on COM2, stopped' in m.shell('guests'), m.text()[-800:])
    garbage(r, relay)
    killed_gdb(r, m, relay)

    during = {}

    def while_spinning(g):
        # The shell answers, and another guest runs, while GDB holds gdbt.
        time.sleep(1)
        during['guests'] = m.shell('guests')
        m.send('guest start hello\r')
        during['hello'] = bool(m.expect(r'guest hello exited with status 0', 120))
        time.sleep(1)
        g.send_signal(signal.SIGINT)

    vmcall = vmcall_address()
    out = gdb(m, relay.port, [
        'echo @@THREADS\\n', 'info threads',
        'break tick', 'continue',
        'echo @@RIP\\n', 'info registers rip',
        'echo @@X\\n', 'x/s greeting',
        'echo @@SET\\n', 'set var counter = 1000', 'print counter', 'continue',
        'echo @@STEP\\n', 'x/2i $pc', 'stepi', 'print/x $pc',
        'echo @@VMCALL\\n', f'tbreak *{vmcall:#x}', 'continue', 'stepi', 'print/x $pc',
        'echo @@HBREAK\\n', 'delete', 'hbreak tick', 'continue',
        'echo @@WATCH\\n', 'delete', 'watch counter', 'continue',
        'echo @@INTERRUPT\\n', 'delete', 'continue',
        'echo @@END\\n', 'info threads', 'detach'], elf=ELF,
        on_marker={'@@INTERRUPT': while_spinning})
    print('# GDB said:\n' + '\n'.join('#   ' + line for line in out.splitlines()))

    threads = section(out, 'THREADS')
    r.ok('gdb_connecting_stops_a_guest_left_running',
         'Thread 1 (vCPU 0 on CPU 1)' in threads and 'Remote connection closed' not in out and
         'Ignoring packet error' not in out, out[:1500])
    r.ok('gdb_info_threads_lists_both_vcpus',
         'Thread 1 (vCPU 0 on CPU 1)' in threads and 'Thread 2 (vCPU 1 on CPU 1)' in threads,
         threads)
    bp = re.search(r'Breakpoint 1 at (0x[0-9a-f]+): file tests/guests/gdbt.c', out)
    r.ok('gdb_break_continue_stops_at_tick',
         bp and re.search(r'Thread 1 hit Breakpoint 1, tick \(n=\d+\) at tests/guests/gdbt.c',
                          out), out[-1500:])
    rip = re.search(r'rip\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+ <tick\+\d+>', section(out, 'RIP'))
    r.ok('gdb_info_registers_rip_at_breakpoint',
         bp and rip and int(rip.group(1), 16) == int(bp.group(1), 16), section(out, 'RIP'))
    r.ok('gdb_x_reads_string', '<greeting>:\t"gdbt: hello, debugger\\n"' in section(out, 'X'),
         section(out, 'X'))
    r.ok('gdb_set_var_counter', re.search(r'\$\d+ = 1000\n', section(out, 'SET')) and
         'hit Breakpoint 1, tick (n=1001)' in section(out, 'SET'), section(out, 'SET'))
    step = section(out, 'STEP')
    insns = re.findall(r'(0x[0-9a-f]+) <tick\+\d+>:\t(\S+)', step)
    after = re.search(r'\$\d+ = (0x[0-9a-f]+)', step)
    r.ok('gdb_stepi_advances_one_instruction',
         len(insns) >= 2 and after and int(after.group(1), 16) == int(insns[1][0], 16) and
         not insns[0][1].startswith(('j', 'call', 'ret')), step)
    # A step over an instruction the hypervisor emulates ends past it, and leaves
    # no single-step trap pending for the guest (it has no IDT: one would kill it).
    vm = section(out, 'VMCALL')
    pc = re.search(r'\$\d+ = (0x[0-9a-f]+)', vm)
    r.ok('gdb_stepi_over_emulated_vmcall', pc and int(pc.group(1), 16) == vmcall + 3, vm)
    hb = section(out, 'HBREAK')
    r.ok('gdb_hbreak_triggers', 'Hardware assisted breakpoint 3 at' in hb and
         'hit Breakpoint 3, tick (n=1002)' in hb, hb)
    wp = section(out, 'WATCH')
    r.ok('gdb_watch_triggers', 'Hardware watchpoint 4: counter' in wp and
         'Old value = 1002' in wp and 'New value = 1003' in wp, wp)
    r.ok('gdb_interrupt_stops_spinning_guest',
         'received signal SIGINT' in section(out, 'INTERRUPT'), section(out, 'INTERRUPT'))
    r.ok('shell_answers_during_session', 'gdb on COM2, running' in during.get('guests', ''),
         during.get('guests', 'not run'))
    r.ok('other_guest_runs_during_session', during.get('hello'), m.text()[-1500:])
    r.ok('gdb_detach', '[Inferior 1 (Remote target) detached]' in section(out, 'END'),
         section(out, 'END'))
    m.expect(r'gdb: GDB detached from guest gdbt', 60)
    r.ok('guest_prints_counter_gdb_set', '[gdbt] count 1001' in m.text(), m.text()[-1500:])
    last = int(re.findall(r'\[gdbt\] count (\d+)', m.text())[-1])
    m.expect(rf'\[gdbt\] count {last + 2}\n', 120)
    g = m.shell('guests')
    r.ok('guest_runs_on_after_detach', re.search(r'gdbt\s+running', g) and 'gdb on' not in g, g)


def main():
    r = Results()
    t0 = time.time()
    with Machine('bochs', 'iso', cpus=2, mem=256, timeout=900, iso='hv-gdb.iso',
                 com2=True) as m:
        relay = Relay(m.sock2)
        try:
            m.expect(r'\[gdbt\] count 2\n', 300)
            print(f'# gdbt counting after {time.time() - t0:.1f} s')
            com2_session(r, m, relay)
            print(f'# COM2 session done after {time.time() - t0:.1f} s')
            com1_real_mode(r, m)
            print(f'# COM1 session done after {time.time() - t0:.1f} s')
        except Exception as e:  # noqa: BLE001 - a case line, not a traceback
            r.ok('gdb_sessions_completed', False, f'{type(e).__name__}: {e}')
        finally:
            relay.close()
    r.exit()


def com1_real_mode(r, m):
    m.shell('guest start gdbrm')
    m.send('gdb gdbrm com1\r')
    m.expect(r"COM1 is GDB's until it detaches", 60)
    relay = Relay(m.sock, once=True)
    out = gdb(m, relay.port, [
        'echo @@ARCH\\n', 'show architecture', 'x/i $pc', 'x/5i 0x7c00',
        'echo @@BREAK\\n', 'break *0x7c10', 'continue', 'x/i $pc', 'info registers eip',
        'echo @@END\\n', 'detach'], pump=False)
    print('# GDB said:\n' + '\n'.join('#   ' + line for line in out.splitlines()))
    m.inject(relay.wait(30))
    arch = section(out, 'ARCH')
    r.ok('gdb_real_mode_is_i8086', '(currently "i8086")' in arch, arch)
    r.ok('gdb_real_mode_x_i_pc', re.search(r'=> 0x7c1[0-9a-f]:\t\S+', arch) and
         re.search(r'0x7c01:\txor\s+%ax,%ax', arch), arch)
    brk = section(out, 'BREAK')
    r.ok('gdb_real_mode_breakpoint', 'Breakpoint 1, 0x00007c10 in ?? ()' in brk and
         re.search(r'=> 0x7c10:\tincw\s+0x7c19', brk), brk)
    r.ok('gdb_real_mode_detach', '[Inferior 1 (Remote target) detached]' in section(out, 'END'),
         section(out, 'END'))
    said = (relay.log + relay.tail).decode(errors='replace') + m.text()
    r.ok('com1_handed_back', 'gdb: GDB detached from guest gdbrm' in said, said[-800:])
    g = m.shell('guests')
    r.ok('shell_answers_after_com1_session', re.search(r'gdbrm\s+running', g), g)

    # No GDB comes: Ctrl-] between packets gives COM1 back to the shell.
    m.send('gdb gdbrm com1\r')
    m.expect(r"COM1 is GDB's until it detaches", 60)
    m.send('\x1d')
    back = m.expect(r'gdb: Ctrl-\] on the line from guest gdbrm', 60)
    g = m.shell('guests')
    r.ok('ctrl_rbracket_gives_com1_back', back and re.search(r'gdbrm\s+running', g) and
         'gdb on' not in g, m.text()[-800:])


if __name__ == '__main__':
    main()
