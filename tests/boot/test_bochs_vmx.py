#!/usr/bin/env python3
"""Bochs (VT-x with EPT) + OVMF from a CD, 2 CPUs: VT-x found and VMXON/VMXOFF
succeeded on both; `vmx` decodes EPT with accessed/dirty bits."""
import re
import time

from harness import Machine, Results, Timeout

r = Results()
t0 = time.time()
with Machine('bochs', 'iso', cpus=2, mem=256, timeout=400) as m:
    try:
        m.expect(r'hv> ', 300)
        print(f'# prompt after {time.time() - t0:.1f} s')
        boot = m.text()
        r.ok('bochs_boot_2_cpus', 'smp: 2 of 2 CPUs online' in boot, boot[-1500:])
        r.ok('bochs_vmxon_all_cpus', 'vmx: VMXON/VMXOFF succeeded on 2 of 2 CPUs' in boot,
             boot[-1500:])
        out = m.command('cpus', 120)
        r.ok('bochs_cpus_vmx_ok', len(re.findall(r'online\s+\d+\s+ok: VMXON/VMXOFF ok', out)) == 2,
             out)
        out = m.command('vmx', 120)
        r.ok('bochs_vmx_ept', re.search(r'^\s+EPT\s+yes', out, re.M), out)
        r.ok('bochs_vmx_ept_ad', re.search(r'accessed/dirty bits\s+yes', out), out)
        r.ok('bochs_vmx_unrestricted', re.search(r'unrestricted guest\s+yes', out), out)
        r.ok('bochs_vmx_vpid', re.search(r'^\s+VPID\s+yes', out, re.M), out)
        out = m.command('fault ud 1', 120)
        r.ok('bochs_ap_fault_recovers', 'CPU 1: recovered' in out, out)
        m.send('poweroff\r')
        rc = m.wait_exit(120)
        r.ok('bochs_poweroff_ends_emulator', rc is not None, 'Bochs still running')
    except Timeout as e:
        r.ok('bochs_session', False, str(e))
r.exit()
