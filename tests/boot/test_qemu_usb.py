#!/usr/bin/env python3
"""QEMU TCG + OVMF, booted from the USB stick image with 4 CPUs.

All 4 CPUs come online, the VT-x-absent message is printed, the shell
answers cpus/mem/help/version and rejects bad input, line editing works over
the real serial line, a deliberate fault on the BSP and on an AP prints a
full dump and the shell goes on, and poweroff ends QEMU.
"""
import re
import time

from harness import Machine, Results, Timeout

r = Results()
t0 = time.time()
with Machine('qemu', 'usb', cpus=4, timeout=240) as m:
    try:
        m.expect(r'hv> ', 120)
        boot = m.text()
        r.ok('usb_boot_prompt', True)
        print(f'# prompt after {time.time() - t0:.1f} s')
        r.ok('loader_read_cfg_from_disk', re.search(r'read hv\.cfg \(\d+ bytes\) from disk', boot),
             'no "[boot] read hv.cfg ... from disk" line')
        r.ok('vtx_absent_message',
             'VT-x not available on this CPU: CPUID.1:ECX.VMX=0' in boot, 'message missing')
        r.ok('boot_reports_4_cpus', 'smp: 4 of 4 CPUs online' in boot, 'boot summary wrong')

        out = m.command('cpus')
        online = re.findall(r'^\s+\d+\s+\d+\s+online\s', out, re.M)
        r.ok('cpus_all_online', len(online) == 4 and '4 of 4 CPUs online' in out, out)
        apic_ids = sorted(int(x) for x in re.findall(r'^\s+\d+\s+(\d+)\s+online', out, re.M))
        r.ok('cpus_distinct_apic_ids', apic_ids == [0, 1, 2, 3], f'APIC IDs {apic_ids}')

        out = m.command('mem')
        tot = re.search(r'total (\d+) KiB, free (\d+) KiB', out)
        r.ok('mem_totals', tot and 400000 < int(tot.group(1)) <= 524288 and
             0 < int(tot.group(2)) <= int(tot.group(1)), out)
        orders = re.findall(r'order +(\d+) \(', out)
        r.ok('mem_by_order', len(orders) == 11, out)

        out = m.command('frobnicate 3')
        r.ok('unknown_command_error', "error: unknown command 'frobnicate'" in out, out)
        out = m.command('fault xx')
        r.ok('bad_argument_error', "error: unknown fault 'xx'" in out, out)
        out = m.command('fault ud 9')
        r.ok('bad_cpu_error', "is not an online CPU" in out, out)
        out = m.command('help')
        r.ok('help_lists_commands', all(c in out for c in
             ('cpus', 'mem', 'vmx', 'uptime', 'log', 'reboot', 'poweroff', 'version')), out)
        out = m.command('version')
        r.ok('version', re.search(r'hv \d+\.\d+\.\d+ .*booted from disk', out), out)
        out = m.command('uptime')
        r.ok('uptime', re.search(r'up \d+\.\d{3} s', out), out)
        out = m.command('vmx')
        r.ok('vmx_shell_says_absent', 'VT-x absent' in out, out)

        # Line editing over the wire: tab completion, history, Ctrl-U, Ctrl-C.
        m.send('upt\t\r')
        m.expect(r'up \d+\.\d{3} s')
        m.expect('hv> ')
        r.ok('tab_completion', True)
        m.send('\x1b[A\r')
        m.expect(r'up \d+\.\d{3} s')
        m.expect('hv> ')
        r.ok('history_up', True)
        m.send('garbage\x15cpus\r')
        m.expect('4 of 4 CPUs online')
        m.expect('hv> ')
        r.ok('ctrl_u_kills_line', 'unknown command' not in m.text()[-400:], m.text()[-400:])
        m.send('partial\x03')
        m.expect(r'\^C\nhv> ')
        r.ok('ctrl_c_cancels', True)

        out = m.command('fault ud')
        ok = all(s in out for s in ('#UD invalid opcode', 'RIP ', 'CR0 ', 'CR2 ', 'CR3 ',
                                    'CR4 ', 'RAX ', 'R15 ', 'RFLAGS', 'backtrace:',
                                    'recovered'))
        r.ok('fault_bsp_dump', ok and '<do_fault+' in out and '<cmd_fault+' in out, out)
        out = m.command('cpus')
        r.ok('shell_after_bsp_fault', '4 of 4 CPUs online' in out, out)

        out = m.command('fault gp 2')
        r.ok('fault_ap_dump', 'CPU 2: exception 13 (#GP general protection)' in out, out)
        m.send('\r')
        m.expect('hv> ')
        out = m.command('cpus')
        faults = re.search(r'^\s+2\s+2\s+online\s+(\d+)', out, re.M)
        r.ok('ap_recovered_online', faults and faults.group(1) == '1', out)

        out = m.command('fault wp')
        r.ok('text_is_read_only', '#PF page fault' in out and 'error code 0x3' in out, out)

        m.send('poweroff\r')
        rc = m.wait_exit(30)
        r.ok('poweroff_ends_qemu', rc == 0, f'exit status {rc}')
    except Timeout as e:
        r.ok('qemu_usb_session', False, str(e))
r.exit()
