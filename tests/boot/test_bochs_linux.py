#!/usr/bin/env python3
"""Debian's stock kernel as a guest, under Bochs (VT-x with EPT) + OVMF, 3 CPUs.

Not in `make test`: `make test-linux` runs it (docs/linux-guests.md).  Each
Linux boot is billions of Bochs instructions: minutes, not seconds.

hv-linux.iso (tests/guests/linux.cfg): linux1 (1 vCPU, 256 MiB) boots to its
init line and the "linux# " prompt; `console linux1` reaches its shell
(arithmetic, `uname -r`, the CPU count); Ctrl-] gives the terminal back to
the hypervisor's shell.  Its virtio devices (docs/virtio.md): lspci, ext4 on
the disk, the exits a 4 KiB read costs.  linux2 (2 vCPUs) boots beside it with
its disk as root (root=/dev/vda) and sees 2 CPUs; they ping each other and move 10 MiB over nc (exits per packet);
linux1's balloon inflates and deflates, free page reporting gives back what it
frees; linux2 writes its disk, `reboot`s back to the prompt and finds what it
wrote; `poweroff` in linux1 ends that guest only (exit status 0, `guests` says
exited, the shell still answers).

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


# --- devices (docs/virtio.md): each helper runs with the guest's console attached ---

def check_lspci(m, name, want):
    """lspci lists the host bridge and the virtio devices @want (device IDs)."""
    out = guest(m, 'lspci')
    log(f'{name}: lspci: ' + ' | '.join(out.strip().splitlines()))
    ok = '1b36:0008' in out and all(f'1af4:{d}' in out for d in want)
    r.ok(f'{name}_lspci_lists_devices', ok, out)


def check_disk(m, name):
    """ext4 on virtio-blk: read back against the initramfs, write, sync, remount, compare."""
    out = guest(m, 'hvtest disk', 600)
    r.ok(f'{name}_disk_mounts_and_reads', 'hvtest: hv-linux rootfs' in out and
         'hvtest: disk busybox intact' in out, out)
    r.ok(f'{name}_disk_write_sync_remount', 'survives a remount' in out, out)
    r.ok(f'{name}_disk_trim_discards', 'hvtest: disk trimmed' in out, out)
    out = guest(m, 'cat /sys/block/vda/serial; echo')
    r.ok(f'{name}_disk_serial', 'hv-rootfs.img' in out, out)


def check_root(m, name):
    """The guest's root is its virtio disk, ext4, read-write (root=/dev/vda)."""
    out = guest(m, 'hvtest root')
    r.ok(f'{name}_root_on_virtio_disk', 'hvtest: root /dev/vda ext4 rw' in out, out)


def net_up(m, name, ip):
    out = guest(m, f'hvtest net {ip}')
    r.ok(f'{name}_eth0_up', f'hvtest: eth0 {ip} up' in out, out)


def check_ping(m, name, ip):
    out = guest(m, f'ping -c 3 {ip}', 300)
    r.ok(f'{name}_pings_{ip}', '3 packets received' in out, out)
    rtt = re.search(r'round-trip min/avg/max = \S+', out)
    log(f'{name} -> {ip}: ' + (rtt.group(0) if rtt else 'no round-trip line'))


def transfer(m, src, src_ip, dst, mib):
    """@dst fetches @mib MiB of random data from @src with nc: the md5sums must match."""
    attach(m, src)
    out = guest(m, f'hvtest serve {mib}', 600)
    sent = re.search(r'hvtest: serving ([0-9a-f]{32})', out)
    r.ok(f'{src}_nc_serves', sent, out)
    detach(m, src)
    attach(m, dst)
    t = time.time()
    out = guest(m, f'hvtest fetch {src_ip}', 3600)
    got = re.search(r'hvtest: got ([0-9a-f]{32}) (\d+) bytes', out)
    log(f'{src} -> {dst}: {mib} MiB in {time.time() - t:.1f} s')
    r.ok(f'{dst}_nc_receives_{mib}_mib_intact', sent and got and got.group(1) == sent.group(1)
         and int(got.group(2)) == mib << 20, out)
    detach(m, dst)


def resident(m, name):
    """The guest's resident pages, as `mem` counts them."""
    return num(rf'{name}\s+resident (\d+)', m.shell('mem'), 0)


def check_reporting(m, name, mib):
    """A guest that frees memory gives it back through free page reporting: what it
    touched and freed must not stay resident (at least 80 % of it comes back)."""
    before = resident(m, name)
    attach(m, name)
    out = guest(m, f'hvtest free {mib}', 1200)
    r.ok(f'{name}_touches_and_frees_{mib}_mib', f'hvtest: freed {mib} MiB' in out, out)
    guest(m, 'sleep 8')                 # Linux reports 2 s after pages come free
    detach(m, name)
    after = resident(m, name)
    out = m.shell(f'balloon {name}')
    log(f'{name}: resident {before} pages before touching {mib} MiB, {after} after freeing it')
    log(' '.join(out.split()))
    pages = mib << 8
    r.ok(f'{name}_free_pages_reported_back', after - before <= pages // 5,
         f'resident {before} -> {after} after {pages} pages were touched and freed\n{out}')
    freed = num(r'free page reports \d+: \d+ pages \((\d+) held memory\)', out, 0)
    r.ok(f'{name}_reporting_counted', freed >= pages * 4 // 5, out)


def hv_device_views(m, name):
    """The shell's pci and virtio views of the guest's devices, logged."""
    out = m.shell(f'pci {name}')
    for line in out.splitlines()[1:]:
        log('  ' + line.rstrip())
    r.ok(f'{name}_pci_command', 'virtio-blk' in out and 'MSI-X' in out and 'enabled' in out, out)
    out = m.shell(f'virtio {name}')
    for line in out.splitlines()[1:]:
        log('  ' + line.rstrip())
    r.ok(f'{name}_virtio_no_errors', 'driver-ok' in out and 'needs reset' not in out and
         'errors 0,' in out, out)


def exit_counts(m, name):
    """The guest's VM exits so far, per reason name, and their sum."""
    counts = {}
    for mt in re.finditer(r'(?m)^\s+\d+ (.+?)\s+(\d+)\s*$', m.shell(f'exits {name}')):
        counts[mt.group(1)] = int(mt.group(2))
    return counts, sum(counts.values())


def exits_between(before, after):
    """Reasons and counts that changed, largest first, as text."""
    diff = {k: after[0].get(k, 0) - before[0].get(k, 0) for k in after[0]}
    return ', '.join(f'{k} {v}' for k, v in sorted(diff.items(), key=lambda kv: -kv[1]) if v)


def bench_read_exits(m, name, n):
    """VM exits per 4 KiB direct read of the disk: the run of N reads less a run of 0
    (the typing, the echo and the prompt cost the same in both)."""
    runs = []
    for count in (0, n):
        e0 = exit_counts(m, name)
        attach(m, name)
        out = guest(m, f'hvtest rdbench {count}', 1200)
        detach(m, name)
        e1 = exit_counts(m, name)
        runs.append((e1[1] - e0[1], exits_between(e0, e1)))
        if count:
            r.ok(f'{name}_disk_reads_{n}_blocks', f'hvtest: read {n} blocks' in out, out)
            log(f'{name}: ' + out.strip())
            mt = re.search(r'in (\d+\.\d+) s', out)
            if mt and float(mt.group(1)) > 0:
                log(f'figure disk_direct_read_kib_per_guest_s {n * 4 / float(mt.group(1)):.0f}')
    per = (runs[1][0] - runs[0][0]) / n
    log(f'{name}: {n} direct 4 KiB reads: {runs[1][0]} exits ({runs[1][1]}); '
        f'0 reads: {runs[0][0]} exits')
    log(f'figure exits_per_4k_read {per:.2f}')
    return per


def port_frames(m, name):
    """Frames the guest's port sent and received, from `virtio NAME`."""
    out = m.shell(f'virtio {name}')
    return num(r'sent (\d+) \(', out, 0) + num(r'received (\d+) \(', out, 0)


def main_session():
    """`make test-linux`: linux1 boots alone and shows its devices, disk and the
    exits a disk read costs; linux2 boots beside it; they ping each other and move
    10 MiB (exits per packet); linux1's balloon inflates and deflates and free page
    reporting gives back what it frees; linux2 writes its disk, reboots and finds
    it there; linux2 stops, linux1 powers off."""
    with Machine('bochs', 'iso', cpus=4, mem=512, timeout=3 * BOOT + 3600,
                 iso='hv-linux.iso', ips=IPS, quiet=True) as m:
        try:
            m.expect(r'hv> ', 300)
            log('hypervisor prompt')

            # --- linux1: boot, console, detach, its devices ---
            if boot_to_prompt(m, 'linux1', 1) is None:
                return
            out = guest(m, 'echo $((6*7))')
            r.ok('linux1_shell_answers', out.strip() == '42', out)
            out = guest(m, 'uname -r')
            r.ok('linux1_debian_kernel', out.strip().startswith('6.1.0-'), out)
            out = guest(m, 'nproc')
            r.ok('linux1_one_cpu', out.strip() == '1', out)
            out = guest(m, 'dmesg | grep -E "PCI|pci|virtio" | grep -v Hot')
            for line in out.splitlines():
                log('  ' + line.rstrip())
            check_lspci(m, 'linux1', ('1041', '1042', '1045'))
            check_disk(m, 'linux1')
            detach(m, 'linux1')
            out = m.shell('guests')
            r.ok('detach_gives_shell_back', re.search(r'linux1\s+running', out), out)
            bench_read_exits(m, 'linux1', 1000)
            log('linux1 devices done')

            # --- linux2: two vCPUs beside linux1 ---
            if boot_to_prompt(m, 'linux2', 2) is None:
                return
            out = guest(m, 'nproc')
            r.ok('linux2_two_cpus', out.strip() == '2', out)
            out = guest(m, 'grep -c ^processor /proc/cpuinfo')
            r.ok('linux2_cpuinfo_two', out.strip() == '2', out)
            check_root(m, 'linux2')
            net_up(m, 'linux2', '10.0.0.2')
            detach(m, 'linux2')
            attach(m, 'linux1')
            net_up(m, 'linux1', '10.0.0.1')
            check_ping(m, 'linux1', '10.0.0.2')
            detach(m, 'linux1')
            attach(m, 'linux2')
            check_ping(m, 'linux2', '10.0.0.1')
            detach(m, 'linux2')

            # --- 10 MiB between them: exits per packet ---
            e1, e2, f0 = exit_counts(m, 'linux1'), exit_counts(m, 'linux2'), port_frames(m, 'linux1')
            transfer(m, 'linux1', '10.0.0.1', 'linux2', 10)
            e1b, e2b, f1 = exit_counts(m, 'linux1'), exit_counts(m, 'linux2'), port_frames(m, 'linux1')
            frames = f1 - f0
            if frames:
                log(f'10 MiB: {frames} frames; linux1 {e1b[1] - e1[1]} exits '
                    f'({exits_between(e1, e1b)}); linux2 {e2b[1] - e2[1]} exits '
                    f'({exits_between(e2, e2b)})')
                log(f'figure exits_per_packet {(e1b[1] - e1[1] + e2b[1] - e2[1]) / frames:.2f}')
            hv_device_views(m, 'linux2')

            # --- linux1: balloon and free page reporting ---
            before = resident(m, 'linux1')
            out = m.shell('balloon linux1 192M')
            t = time.time()
            while time.time() - t < 600:
                out = m.shell('balloon linux1')
                if 'holds 65536 KiB' in out:
                    break
                time.sleep(5)
            r.ok('linux1_balloon_inflates', 'holds 65536 KiB' in out, out)
            log(' '.join(out.split()))
            log(f'linux1: resident {before} pages, {resident(m, "linux1")} with 64 MiB in the balloon')
            r.ok('linux1_balloon_statistics', 'free-memory' in out, out)
            m.shell('balloon linux1 256M')
            t = time.time()
            while time.time() - t < 600:
                out = m.shell('balloon linux1')
                if 'holds 0 KiB' in out:
                    break
                time.sleep(5)
            r.ok('linux1_balloon_deflates', 'holds 0 KiB' in out, out)
            check_reporting(m, 'linux1', 64)
            out = m.shell('mem')
            for line in out.splitlines():
                if 'linux' in line or 'given back' in line or line.startswith('disks:'):
                    log(line.strip())
            hv_device_views(m, 'linux1')

            # --- linux2: its disk survives the guest's reboot ---
            attach(m, 'linux2')
            out = guest(m, 'hvtest keep before-reboot')
            r.ok('linux2_disk_written', 'hvtest: wrote before-reboot' in out, out)
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
            check_root(m, 'linux2')
            out = guest(m, 'hvtest kept')
            r.ok('linux2_disk_survives_reboot', 'hvtest: found before-reboot' in out, out)
            detach(m, 'linux2')
            m.shell('guest stop linux2')
            out = m.shell('guests')
            r.ok('linux2_stopped', not re.search(r'linux2\s+running', out), out)
            log('linux2 done')

            # --- linux1 powers off ---
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


def diagnose(m, names):
    """After a timeout: what the hypervisor says of the guests, for the log."""
    try:
        m.send('\x1d\r')         # detach if a console is attached; an empty line if not
        m.expect(r'hv> ', 30)
        cmds = ['guests', 'mem']
        for name in names:
            cmds += [f'exits {name}', f'virtio {name}']
            cmds += [f'vcpu {name} {i} 256' for i in range(2 if name == 'linux2' else 1)]
        for cmd in cmds:
            out = m.shell(cmd, 30)
            for line in out.splitlines():
                log(f'diag: {line}')
            # Linux's IRQ stacks (16 KiB) keep the interrupted RSP in their last word.
            mt = re.search(r'RSP ([0-9a-f]{16})', out)
            if cmd.startswith('vcpu') and mt:
                base = cmd.rsplit(' ', 1)[0]
                top = (int(mt.group(1), 16) | 0x3fff) + 1
                last = m.shell(f'{base} 4 0x{top - 32:x}', 30)
                mw = re.search(rf'(?m)^{top - 32:016x}: \S+ \S+ \S+ (\S+)', last)
                if mw:
                    for line in m.shell(f'{base} 128 0x{mw.group(1)}', 30).splitlines():
                        log(f'diag: {line}')
    except Timeout as e:
        log(f'diag: the shell did not answer: {e}')


def quick_session():
    """`make test`: linux1 and linux2 boot side by side (their vCPUs on their own
    CPUs), each answers on its console; linux1 checks its PCI devices and its
    virtio disk, linux2 runs on its disk as root, both bring up their network and ping each other, 2 MiB cross
    over nc, linux1 frees memory that free page reporting gives back; the
    shell's pci and virtio views; then linux2 powers off."""
    with Machine('bochs', 'iso', cpus=4, mem=512, timeout=BOOT + 1800,
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
            mods = {}
            for _ in range(2):
                mt = m.expect(r'\[(linux[12])\] hv-linux: (\d+) modules loaded', BOOT)
                mods[mt.group(1).decode()] = int(mt.group(2))
                log(f'{mt.group(1).decode()}: modules loaded after {time.time() - t:.1f} s wall')
            m.expect(r"\[linux[12]\] Enter 'help'", CMD)  # linux2 mounts its root disk first
            # The hypervisor's clock is the TSC, which Bochs advances once per
            # instruction of each emulated CPU: TSC ticks ~ instructions per CPU.
            dt = hv_seconds(m) - up0
            log(f'both shells up after {dt:.2f} s of hypervisor time '
                f'= {dt * IPS / 1e9:.2f} G TSC ticks (Bochs instructions per CPU)')
            # First touches of guest memory: with 2 MiB leaves (hugepages = on, the default) one
            # EPT violation maps a whole 2 MiB block; with 4 KiB leaves the boot took ~22 K.
            for name in ('linux1', 'linux2'):
                ev = exit_counts(m, name)[0].get('EPT violation', 0)
                fixed = re.search(r'faults \d+ \(fixed (\d+)', m.shell(f'ept roots {name}'))
                log(f'{name}: {ev} EPT violations up to its shell (MMIO included), '
                    f'{fixed.group(1) if fixed else "?"} of them mapped memory')
                log(f'figure linux_boot_ept_violations_{name} {ev}')
                if fixed:
                    log(f'figure linux_boot_ept_leaves_installed_{name} {fixed.group(1)}')
            mem = m.shell('mem')
            for line in mem.splitlines():
                if 'EPT leaves' in line or re.search(r'^\s+linux[12]\s+resident', line):
                    log(f'mem: {line.strip()}')
            r.ok('linux1_boots_to_init', seen.get('linux1') == 1, str(seen))
            r.ok('linux2_boots_to_init', seen.get('linux2') == 2, str(seen))
            r.ok('virtio_modules_load', mods.get('linux1') == mods.get('linux2') == 15, str(mods))
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
                    check_lspci(m, name, ('1041', '1042', '1045'))
                    check_disk(m, name)
                    net_up(m, name, '10.0.0.1')
                    detach(m, name)
                    out = m.shell('guests')
                    r.ok('detach_gives_shell_back', re.search(r'linux1\s+running', out), out)
                    continue
                check_root(m, name)
                net_up(m, name, '10.0.0.2')
                check_ping(m, name, '10.0.0.1')
                detach(m, name)
            attach(m, 'linux1')
            check_ping(m, 'linux1', '10.0.0.2')
            detach(m, 'linux1')
            transfer(m, 'linux1', '10.0.0.1', 'linux2', 2)
            hv_device_views(m, 'linux2')
            check_reporting(m, 'linux1', 48)
            hv_device_views(m, 'linux1')
            for i in range(2):
                mt = re.search(r'APICv: [^\n]*', m.shell(f'vcpu linux2 {i}'))
                log(f'linux2 vCPU {i}: {mt.group(0) if mt else "no APICv line"}')
            attach(m, 'linux2')
            since = len(m.out)
            m.send('poweroff\r')
            line = stopped(m, 'linux2', since)
            r.ok('linux2_poweroff_exits_guest', 'exited with status 0' in line, line)
            detach_if_attached(m, 'linux2', since)
            out = m.shell('guests')
            r.ok('linux2_listed_exited', re.search(r'linux2\s+exited', out), out)
            r.ok('linux1_still_running', re.search(r'linux1\s+running', out), out)
            m.shell('guest stop linux1')
            out = m.shell('cpus')
            r.ok('hypervisor_still_answers', 'online' in out, out)
        except Timeout as e:
            r.ok('bochs_linux_quick_session', False, str(e))
            diagnose(m, ('linux1', 'linux2'))


if '--quick' in sys.argv:
    quick_session()
else:
    main_session()
    overcommit_session()
log('linux tests done')
r.exit()
