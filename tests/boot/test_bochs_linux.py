#!/usr/bin/env python3
"""Debian's stock kernel as a guest, under Bochs (VT-x with EPT) + OVMF, 3 CPUs.

Not in `make test`: `make test-linux` runs it (docs/linux-guests.md).  Each
Linux boot is billions of Bochs instructions: minutes, not seconds.

hv-linux.iso (tests/guests/linux.cfg): linux1 (1 vCPU, 128 MiB) boots to its
init line and the "linux# " prompt; `console linux1` reaches its shell
(arithmetic, `uname -r`, the CPU count); Ctrl-] gives the terminal back to
the hypervisor's shell; `poweroff` in the guest ends that guest only (exit
status 0, `guests` says exited, the shell still answers).  linux2 (2 vCPUs)
sees 2 CPUs, and `reboot` in it brings it back to the prompt.

hv-linux-over.iso (tests/guests/linux-over.cfg, memory_limit = 112M): lnxover
(256 MiB, about 86 MiB resident after its boot) boots and `memfill 64 2`
writes and verifies 64 MiB twice while the host evicts and refaults its
pages; `mem` must show both.
"""
import re
import sys
import time

from harness import Machine, Results, Timeout

BOOT = 1200             # seconds for one Linux boot, OVMF to prompt included
CMD = 180               # seconds for one command in the guest
PROMPT = 'linux# '
# Emulated instructions per emulated second: the guest's TSC runs at this rate.
# At Bochs' default (4 M) a 250 Hz kernel tick comes every 16 K instructions
# and Linux spends its time in the timer interrupt.
IPS = 100000000
FILL_MIB = 64            # memfill in lnxover: beyond what memory_limit leaves free

r = Results()
t0 = time.time()


def log(msg):
    print(f'# [{time.time() - t0:6.1f} s] {msg}')
    sys.stdout.flush()


def hv_seconds(m):
    """The hypervisor's `uptime`, in seconds of its TSC clock."""
    mt = re.search(r'up (\d+\.\d+) s', m.shell('uptime'))
    return float(mt.group(1)) if mt else 0.0


def num(rx, text, default=None):
    mt = re.search(rx, text)
    return int(mt.group(1)) if mt else default


def wait_init(m, name, timeout=BOOT):
    """Wait for the guest's /init line; returns its CPU count and the seconds it took.

    Detached, guest lines come prefixed with [NAME]; attached, they come raw.
    """
    t = time.time()
    mt = m.expect(rf'(?:\[{name}\] )?hv-linux: init on (\d+) CPU', timeout)
    return int(mt.group(1)), time.time() - t


def attach(m, name):
    """`console NAME`, then wait for the guest's prompt."""
    m.pos = len(m.out)
    m.send(f'console {name}\r')
    m.expect(f'console attached to {name}', 60)
    m.send('\r')
    m.expect(re.escape(PROMPT), CMD)
    time.sleep(1)
    while m._pump(0.2):
        pass


def guest(m, line, timeout=CMD):
    """A command typed into the attached guest's shell: its output up to the next prompt."""
    m.pos = len(m.out)
    m.send(line + '\r')
    m.expect(re.escape(line) + r'\n', timeout)
    start = m.pos
    m.expect(r'(?m)^' + re.escape(PROMPT), timeout)
    return m.out[start:m.pos - len(PROMPT)].decode(errors='replace')


def detach(m, name):
    m.pos = len(m.out)
    m.send('\x1d', slow=False)
    m.expect(f'console detached from {name}', 60)
    m.expect(r'hv> ', 60)


def boot_to_prompt(m, name, ncpus):
    """Start NAME, wait for its init line and prompt, attach; returns the boot time."""
    t = time.time()
    m.shell(f'guest start {name}')
    try:
        cpus, dt = wait_init(m, name)
    except Timeout as e:
        r.ok(f'{name}_boots_to_init', False, str(e))
        return None
    r.ok(f'{name}_boots_to_init', cpus == ncpus, f'init saw {cpus} CPU(s)')
    attach(m, name)
    dt = time.time() - t
    up = guest(m, 'cat /proc/uptime')
    log(f'{name}: init line after {dt:.1f} s wall; guest uptime {up.split()[0] if up.split() else "?"} s')
    return dt


def stopped(m, name, since, timeout=CMD):
    """Wait until the hypervisor reports NAME ended after offset SINCE; returns the line."""
    m.pos = since
    return m.expect(rf'guest {name} (exited with status -?\d+|failed[^\n]*|stopped[^\n]*)',
                    timeout).group(0).decode(errors='replace')


def detach_if_attached(m, name, since):
    """A guest that ended gives the terminal back by itself: wait for that."""
    m.pos = since
    m.expect(f'console detached from {name} \\(guest', 60)
    m.expect(r'hv> ', 60)


def main_session():
    with Machine('bochs', 'iso', cpus=4, mem=512, timeout=3 * BOOT + 1200,
                 iso='hv-linux.iso', ips=IPS, quiet=True) as m:
        try:
            m.expect(r'hv> ', 300)
            log('hypervisor prompt')

            # --- linux1: boot, console, detach, poweroff ---
            if boot_to_prompt(m, 'linux1', 1) is None:
                return
            out = guest(m, 'echo $((6*7))')
            r.ok('linux1_shell_answers', out.strip() == '42', out)
            out = guest(m, 'uname -r')
            r.ok('linux1_debian_kernel', out.strip().startswith('6.1.0-'), out)
            out = guest(m, 'nproc')
            r.ok('linux1_one_cpu', out.strip() == '1', out)
            detach(m, 'linux1')
            out = m.shell('guests')
            r.ok('detach_gives_shell_back', re.search(r'linux1\s+running', out), out)
            attach(m, 'linux1')
            since = len(m.out)
            m.send('poweroff\r')
            line = stopped(m, 'linux1', since)
            r.ok('linux1_poweroff_exits_guest', 'exited with status 0' in line, line)
            detach_if_attached(m, 'linux1', since)
            out = m.shell('guests')
            r.ok('linux1_listed_exited', re.search(r'linux1\s+exited', out), out)
            out = m.shell('cpus')
            r.ok('hypervisor_still_answers', 'online' in out, out)
            log('linux1 done')

            # --- linux2: two vCPUs, reboot ---
            if boot_to_prompt(m, 'linux2', 2) is None:
                return
            out = guest(m, 'nproc')
            r.ok('linux2_two_cpus', out.strip() == '2', out)
            out = guest(m, 'grep -c ^processor /proc/cpuinfo')
            r.ok('linux2_cpuinfo_two', out.strip() == '2', out)
            since = m.pos = len(m.out)
            m.send('reboot\r')
            cpus, dt = wait_init(m, 'linux2')
            r.ok('linux2_reboot_boots_again', cpus == 2, f'init saw {cpus} CPU(s)')
            log(f'linux2: back at init {dt:.1f} s after reboot')
            if b'console detached from linux2' in m.out[since:]:
                attach(m, 'linux2')
            else:
                m.send('\r')
                m.expect(re.escape(PROMPT), CMD)
            out = guest(m, 'nproc')
            r.ok('linux2_after_reboot', out.strip() == '2', out)
            detach(m, 'linux2')
            m.shell('guest stop linux2')
            out = m.shell('guests')
            r.ok('linux2_stopped', not re.search(r'linux2\s+running', out), out)
            log('linux2 done')
        except Timeout as e:
            r.ok('bochs_linux_session', False, str(e))


def overcommit_session():
    with Machine('bochs', 'iso', cpus=2, mem=320, timeout=BOOT + 3600 + 600,
                 iso='hv-linux-over.iso', ips=IPS, quiet=True) as m:
        try:
            m.expect(r'hv> ', 300)
            if boot_to_prompt(m, 'lnxover', 1) is None:
                return
            out = guest(m, 'free -m')
            log('lnxover: ' + ' '.join(out.split()))
            t = time.time()
            out = guest(m, f'memfill {FILL_MIB} 2', 3600)
            log(f'lnxover: memfill {FILL_MIB} MiB x 2 in {time.time() - t:.1f} s')
            r.ok('overcommit_memfill_ok', f'memfill: {FILL_MIB} MiB x 2 passes ok' in out, out)
            detach(m, 'lnxover')
            mem = m.shell('mem')
            for line in mem.splitlines():
                if line.startswith(('guests:', 'reclaim:', 'store:')) or 'lnxover' in line:
                    log(line.strip())
            ev = num(r'reclaim: evicted (\d+)', mem, 0)
            rf = num(r'refaulted (\d+)', mem, 0)
            r.ok('overcommit_evicts_and_refaults', ev > 0 and rf > 0, mem)
            m.shell('guest stop lnxover')
        except Timeout as e:
            r.ok('bochs_linux_overcommit_session', False, str(e))


def quick_session():
    """`make test`: linux1 and linux2 boot side by side (their vCPUs on their own
    CPUs), each answers on its console, then both power off."""
    with Machine('bochs', 'iso', cpus=4, mem=512, timeout=BOOT + 900,
                 iso='hv-linux.iso', ips=IPS, quiet=True) as m:
        try:
            m.expect(r'hv> ', 300)
            t = time.time()
            up0 = hv_seconds(m)
            m.shell('guest start linux1 linux2')
            seen = {}
            for _ in range(2):
                mt = m.expect(r'\[(linux[12])\] hv-linux: init on (\d+) CPU', BOOT)
                name = mt.group(1).decode()
                seen[name] = int(mt.group(2))
                log(f'{name}: init line after {time.time() - t:.1f} s wall')
            m.expect(r"\[linux[12]\] Enter 'help'", CMD)
            # The hypervisor's clock is the TSC, which Bochs advances once per
            # instruction of each emulated CPU: TSC ticks ~ instructions per CPU.
            dt = hv_seconds(m) - up0
            log(f'both shells up after {dt:.2f} s of hypervisor time '
                f'= {dt * IPS / 1e9:.2f} G TSC ticks (Bochs instructions per CPU)')
            r.ok('linux1_boots_to_init', seen.get('linux1') == 1, str(seen))
            r.ok('linux2_boots_to_init', seen.get('linux2') == 2, str(seen))
            for name, n in (('linux1', 1), ('linux2', 2)):
                attach(m, name)
                out = guest(m, 'echo $((6*7))')
                r.ok(f'{name}_shell_answers', out.strip() == '42', out)
                out = guest(m, 'nproc')
                r.ok(f'{name}_cpus', out.strip() == str(n), out)
                up = guest(m, 'cat /proc/uptime')
                log(f'{name}: guest uptime {up.split()[0] if up.split() else "?"} s')
                if name == 'linux1':
                    out = guest(m, 'uname -r')
                    r.ok('linux1_debian_kernel', out.strip().startswith('6.1.0-'), out)
                    detach(m, name)
                    out = m.shell('guests')
                    r.ok('detach_gives_shell_back', re.search(r'linux1\s+running', out), out)
                    continue
                since = len(m.out)
                m.send('poweroff\r')
                line = stopped(m, name, since)
                r.ok(f'{name}_poweroff_exits_guest', 'exited with status 0' in line, line)
                detach_if_attached(m, name, since)
            out = m.shell('guests')
            r.ok('linux2_listed_exited', re.search(r'linux2\s+exited', out), out)
            r.ok('linux1_still_running', re.search(r'linux1\s+running', out), out)
            m.shell('guest stop linux1')
            out = m.shell('cpus')
            r.ok('hypervisor_still_answers', 'online' in out, out)
        except Timeout as e:
            r.ok('bochs_linux_quick_session', False, str(e))


if '--quick' in sys.argv:
    quick_session()
else:
    main_session()
    overcommit_session()
log('linux tests done')
r.exit()
