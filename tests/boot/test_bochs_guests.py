#!/usr/bin/env python3
"""Guests under Bochs (VT-x with EPT) + OVMF, 3 CPUs (CPU 0 keeps the shell).

Boots tests/guests/guests.cfg: the autostart guests (hello in long and real
mode, CPUID and MSR probes, the mem verifier, a 2-vCPU guest on two CPUs, a
Multiboot kernel with a module, at 1 MiB and at 0x8000) must all finish as
promised; hv.cfg errors
are reported with file:line; a guest with a missing image, a too-old bzImage
or an initrd on a flat image is refused with the reason while the others
run.  Then every hostile guest is started from the shell and must be
contained, with the shell answering after each; and `bench exit` measures
the CPUID round trip.
"""
import re
import time

from harness import Machine, Results, Timeout

r = Results()
t0 = time.time()
with Machine('bochs', 'iso', cpus=3, mem=256, timeout=900, iso='hv-guests.iso') as m:
    try:
        m.expect(r'hv> ', 300)
        print(f'# prompt after {time.time() - t0:.1f} s')
        # Guests finish in any order, some before the prompt: search from the start.
        for name in ('hello', 'hello16', 'elf64', 'elf32', 'cpuid', 'msr', 'smp2', 'mem',
                     'multiboot', 'mblow'):
            m.pos = 0
            m.expect(rf'guest {name} (exited with status \d+|failed)', 300)
        m.pos = len(m.out)
        print(f'# autostart guests done after {time.time() - t0:.1f} s')
        out = m.text()
        r.ok('config_error_names_line',
             re.search(r"hv\.cfg:\d+: bad memory size 'lots'", out), out[-3000:])
        r.ok('missing_image_refused',
             "guest missing refused: image 'nosuch.bin' was not on the boot medium" in out,
             out[-3000:])
        r.ok('oversized_guest_refused',
             re.search(r'guest huge refused: 536870912 MiB of guest memory \(RAM up to '
                       r'0x2000040000000\) needs 50 physical address bits, this CPU has \d+',
                       out), out[-3000:])
        r.ok('hello_uart_output', '[hello] hello from the guest' in out, out[-3000:])
        r.ok('hello_hypercall_output', '[hello] hello through the hypercall' in out, out[-3000:])
        r.ok('hello_exit_0', 'guest hello exited with status 0' in out, out[-3000:])
        r.ok('real_mode_guest', '[hello16] hello from real mode' in out and
             'guest hello16 exited with status 16' in out, out[-3000:])
        r.ok('elf64_guest', '[elf64] hello from an ELF64 image' in out and
             'guest elf64 exited with status 0' in out, out[-3000:])
        r.ok('elf32_guest', '[elf32] hello from an ELF32 image' in out and
             'guest elf32 exited with status 32' in out, out[-3000:])
        r.ok('bad_image_refused', 'guest elfmode refused: an ELF64 image needs mode = long' in out,
             out[-3000:])
        r.ok('multiboot_guest', '[multiboot] cmdline: multiboot.bin hello answer=42 #kept' in out
             and '[multiboot] all checks passed' in out and
             'guest multiboot exited with status 0' in out, out[-3000:])
        r.ok('multiboot_segment_at_0x8000', '[mblow] cmdline: multiboot_low.bin hello '
             'answer=42 #kept' in out and '[mblow] all checks passed' in out and
             'guest mblow exited with status 0' in out, out[-3000:])
        r.ok('old_bzimage_refused', 'guest oldlinux refused: bzImage protocol 2.06 is too old '
             '(need 2.12 with a 64-bit entry)' in out, out[-3000:])
        r.ok('initrd_needs_bzimage', "guest initrdflat refused: initrd = mbmod.txt needs a Linux "
             "bzImage, but 'hello.bin' is a flat binary" in out, out[-3000:])
        r.ok('cpuid_probe', 'guest cpuid exited with status 0' in out, out[-3000:])
        r.ok('msr_probe', 'guest msr exited with status 0' in out, out[-3000:])
        r.ok('mem_guest_verifies', '[mem] report 1 = 0' in out and
             'guest mem exited with status 0' in out, out[-3000:])
        r.ok('smp2_two_vcpus', '[smp2] report 0 = 40000' in out and
             'guest smp2 exited with status 0' in out, out[-3000:])

        # Their memory is freed by the shell's idle poll: let its lines pass before a command.
        for name in ('hello', 'hello16', 'elf64', 'elf32', 'cpuid', 'msr', 'smp2', 'mem',
                     'multiboot', 'mblow'):
            m.pos = 0
            m.expect(rf'guest {name}: memory freed', 120)
        m.pos = len(m.out)
        g = m.command('guests', 120)
        r.ok('guests_list', re.search(r'^mem\s+exited', g, re.M) and
             re.search(r'^missing\s+failed', g, re.M), g)

        hostile = [
            ('oob', r'guest oob failed: EPT violation at GPA 3f000000 outside guest memory'),
            ('vmxins', r'guest vmxins exited with status 0'),
            ('hcall', r'guest hcall exited with status 0'),
            ('io', r'guest io exited with status 0'),
            ('triple', r'guest triple failed: triple fault'),
        ]
        for name, pat in hostile:
            m.send(f'guest start {name}\r')
            try:
                m.expect(pat, 180)
                # Reaped once its vCPU left its CPU (after a failing vCPU's register dump).
                m.expect(rf'guest {name}: memory freed[^\n]*\n', 60)
                contained = True
            except Timeout as e:
                contained = False
                print(f'# {e}')
            out = m.command('cpus', 120)
            r.ok(f'hostile_{name}_contained', contained and '3 of 3 CPUs online' in out, out)

        # Two guests at once on two CPUs: spin (CPU 2) keeps running while hello
        # (CPU 1) starts and finishes; the shell answers throughout.
        m.send('guest start spin\r')
        m.expect(r'\[spin\] spinning with interrupts off', 120)
        m.send('guest start hello\r')
        m.expect(r'guest hello exited with status 0', 180)
        g = m.command('guests', 120)
        r.ok('two_guests_two_cpus', re.search(r'^spin\s+running\s+1\s+2\s', g, re.M), g)
        v = m.command('vcpu spin 0', 120)
        r.ok('vcpu_registers', re.search(r'RIP 00000000001000\w\w', v), v)
        vm = m.command('vmcs 2', 120)
        r.ok('vmcs_decoded', 'current VMCS on CPU 2 (guest spin)' in vm and
             'EPT pointer' in vm, vm)
        e = m.command('exits spin', 120)
        r.ok('exits_counted', re.search(r'preemption timer\s+\d+', e), e)
        out = m.command('guest stop spin', 120)
        r.ok('spinning_guest_stopped', 'guest spin stopped' in out, out)
        # Attached, the terminal is the guest's: no hypervisor prompt until Ctrl-].
        m.send('console hello\r')
        c = m.expect('console attached to hello', 60).group(0).decode()
        m.send('\x1d')
        m.expect('console detached from hello', 60)
        m.expect('hv> ', 60)
        r.ok('console_attach_detach', 'console attached to hello' in c, c)

        # Guest console input: typed bytes reach the guest's 16550, its output comes back raw.
        # The guest's line and the prompt race: wait for the line only.
        m.send('guest start echo\r')
        m.expect(r'\[echo\] echo ready', 120)
        m.send('console echo\r')
        m.expect('console attached to echo', 60)
        m.send('hi there')
        try:
            m.expect('HI THERE', 120)
            echoed = True
        except Timeout:
            echoed = False
        m.send('q')
        m.expect('guest echo exited with status 0', 120)
        # A guest that ends gives the terminal back by itself.
        m.expect(r'console detached from echo \(guest exited\)', 60)
        m.expect('hv> ', 60)
        r.ok('console_input_reaches_guest', echoed, m.text()[-800:])

        b = m.command('bench exit', 300)
        cal = re.search(r'calibration loop (\d+)\.(\d+) TSC ticks per instruction', b)
        rt = re.search(r'CPUID exit round trip (\d+)\.(\d+) TSC ticks', b)
        ok = cal and rt
        if ok:
            print(f'# bench: {cal.group(1)}.{cal.group(2)} ticks/instruction, '
                  f'CPUID round trip {rt.group(1)}.{rt.group(2)} ticks')
        r.ok('bench_exit', ok and int(rt.group(1)) > 10, b)

        # The same 10 000 xAPIC accesses with APIC virtualization (the default
        # where the CPU has it: Bochs's Skylake-X does) and without.
        per_k = {}
        for name in ('apicbench', 'apicbench0'):
            m.shell(f'guest start {name}', 60)
            m.expect(f'guest {name} exited with status 0', 120)
            m.expect(f'guest {name}: memory freed', 60)
            out = m.shell(f'exits {name}', 60)
            total = sum(int(n) for n in re.findall(r'^\s*\d+ .*?(\d+)\s*$', out, re.M))
            acc = re.findall(rf'\[{name}\] report 0 = (\d+)', m.text())
            per_k[name] = 1000.0 * total / int(acc[-1]) if acc else None
        print(f'# exits per 1000 xAPIC accesses: {per_k["apicbench"]} with APIC '
              f'virtualization, {per_k["apicbench0"]} without')
        r.ok('apicv_cuts_apic_exits', per_k['apicbench'] is not None and
             per_k['apicbench0'] is not None and per_k['apicbench0'] >= 900 and
             per_k['apicbench'] * 20 < per_k['apicbench0'], str(per_k))
        print(f'# guest tests done after {time.time() - t0:.1f} s')
    except Timeout as e:
        r.ok('bochs_guests_session', False, str(e))
r.exit()
