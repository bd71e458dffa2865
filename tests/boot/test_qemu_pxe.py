#!/usr/bin/env python3
"""QEMU TCG + OVMF booted over PXE (QEMU's built-in TFTP) with 4 CPUs."""
import re
import time

from harness import Machine, Results, Timeout

r = Results()
t0 = time.time()
with Machine('qemu', 'pxe', cpus=4, timeout=240) as m:
    try:
        m.expect(r'hv> ', 150)
        print(f'# prompt after {time.time() - t0:.1f} s')
        boot = m.text()
        r.ok('pxe_tftp_server', 'booted over PXE; TFTP server 10.0.2.2' in boot, boot[-800:])
        r.ok('pxe_boot_4_cpus', 'smp: 4 of 4 CPUs online' in boot, boot[-800:])
        out = m.command('cfg')
        r.ok('pxe_cfg_from_tftp', re.search(r'hv\.cfg \(\d+ bytes, from pxe\)', out) and
             'console = serial' in out, out)
        out = m.command('cpus')
        r.ok('pxe_shell_answers', '4 of 4 CPUs online' in out, out)
        m.send('poweroff\r')
        r.ok('pxe_poweroff', m.wait_exit(30) == 0, 'QEMU did not exit with 0')
    except Timeout as e:
        r.ok('qemu_pxe_session', False, str(e))
r.exit()
