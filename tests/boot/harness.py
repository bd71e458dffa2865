#!/usr/bin/env python3
"""Boot the hypervisor under an emulator and talk to its serial shell.

Used by the boot tests (tests/boot/test_*.py) and by scripts/run.sh.  One
Machine owns one emulator process; its serial line is a TCP socket on
127.0.0.1 (QEMU: -serial tcp server; Bochs: com1 socket-server), so a test
can wait for output and type into the shell.  Everything runs under a
deadline: an emulator that hangs is killed, never waited on forever.
"""
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, 'build')
ANSI = re.compile(rb'\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1bc')
OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd'
OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd'
OVMF_BOCHS = '/usr/share/ovmf/OVMF.fd'
PROMPT = 'hv> '
PORT_BUSY = re.compile(r'Address already in use|[Ff]ailed to bind|bind\(\) or listen\(\) failed')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Timeout(Exception):
    pass


# "WARNING at FILE:LINE: ..." lines the hypervisor printed (WARN_ONCE, the
# lock order check) on any machine this test program ran: each is a failure.
# What hv/cpu/panic.c prints for a WARN (and a PANIC): "WARNING on CPU n at file:line: ...".
HV_WARNING = re.compile(rb'(?:WARNING|PANIC) on CPU \d+ at [^\r\n]*')
hv_warnings = []
machines_run = [0]


class Machine:
    """An emulator running the hypervisor, with its serial line as a socket."""

    def __init__(self, kind='qemu', media='usb', cpus=4, mem=512, timeout=180,
                 extra=None, iso='hv.iso', ips=None, quiet=False, com2=False):
        self.kind, self.media, self.cpus, self.mem = kind, media, cpus, mem
        self.ips, self.quiet = ips, quiet
        self.deadline = time.time() + timeout
        self.tmp = tempfile.mkdtemp(prefix='hvtest-')
        self.port = free_port()
        self.out = b''          # everything received, ANSI stripped
        self.pos = 0            # how far expect() has consumed
        self.sock = None
        # com2 (Bochs): a second serial line, a socket too (self.sock2), for the GDB stub.
        self.com2 = com2
        self.port2 = free_port() if com2 else None
        self.sock2 = None
        self.started = time.time()
        self.extra = extra or []
        self.iso = iso
        self.logf = open(os.path.join(self.tmp, 'serial.log'), 'wb')
        # free_port() only finds a port that was free a moment ago: another
        # process may take it before the emulator binds it.  Such a start is
        # retried on a new port; any other early exit is the test's failure.
        for attempt in range(3):
            cmd = self._qemu_cmd() if kind == 'qemu' else self._bochs_cmd()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=open(os.path.join(self.tmp, 'emu.out'), 'wb'),
                                         stderr=subprocess.STDOUT, cwd=self.tmp)
            try:
                self.sock = self._connect(self.port)
                if self.com2:
                    self.sock2 = self._connect(self.port2)
                return
            except RuntimeError:
                if attempt == 2 or not PORT_BUSY.search(self.emu_output()):
                    raise
                self.port = free_port()
                self.port2 = free_port() if com2 else None

    # ---- emulator command lines ----
    def _qemu_cmd(self):
        vars_copy = os.path.join(self.tmp, 'vars.fd')
        shutil.copy(OVMF_VARS, vars_copy)
        cmd = ['qemu-system-x86_64', '-machine', 'q35', '-smp', str(self.cpus),
               '-m', str(self.mem), '-nodefaults', '-display', 'none', '-no-reboot',
               '-monitor', 'none',
               '-serial', f'tcp:127.0.0.1:{self.port},server=on,wait=on',
               '-drive', f'if=pflash,format=raw,unit=0,file={OVMF_CODE},readonly=on',
               '-drive', f'if=pflash,format=raw,unit=1,file={vars_copy}',
               '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']
        if self.media == 'usb':
            cmd += ['-device', 'qemu-xhci,id=xhci',
                    '-drive', f'file={BUILD}/usb.img,format=raw,if=none,id=stick,readonly=on',
                    '-device', 'usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0']
        elif self.media == 'pxe':
            cmd += ['-netdev', f'user,id=n0,tftp={BUILD}/tftp,bootfile=BOOTX64.EFI',
                    '-device', 'virtio-net-pci,netdev=n0,bootindex=0,romfile=']
        elif self.media == 'dir':
            cmd += ['-drive', f'file=fat:{BUILD}/esp,format=raw,if=none,id=d0,readonly=on',
                    '-device', 'virtio-blk-pci,drive=d0,bootindex=0']
        return cmd + self.extra

    def _bochs_cmd(self):
        rc = os.path.join(self.tmp, 'bochsrc')
        with open(rc, 'w') as f:
            f.write(bochsrc(self.cpus, self.mem, f'{BUILD}/{self.iso}',
                            f'socket-server, dev=127.0.0.1:{self.port}',
                            os.path.join(self.tmp, 'bochs.log'), self.ips, self.quiet,
                            f'socket-server, dev=127.0.0.1:{self.port2}' if self.com2 else None))
        with open(os.path.join(self.tmp, 'dbg.rc'), 'w') as f:
            f.write('c\nquit\n')
        return ['bochs-bin', '-q', '-f', rc, '-rc', os.path.join(self.tmp, 'dbg.rc')]

    def _connect(self, port):
        while time.time() < self.deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f'{self.kind} exited early ({self.proc.returncode}): '
                                   + self.emu_output()[-2000:])
            try:
                sock = socket.create_connection(('127.0.0.1', port), timeout=1)
                sock.settimeout(0.2)
                return sock
            except OSError:
                time.sleep(0.2)
        raise Timeout('could not connect to the serial port')

    def emu_output(self):
        try:
            with open(os.path.join(self.tmp, 'emu.out'), 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    # ---- serial I/O ----
    def _pump(self, wait=0.2):
        try:
            self.sock.settimeout(wait)
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            data = b''
        if not data:
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
            return False
        self.logf.write(data)
        self.logf.flush()
        self.out += ANSI.sub(b'', data).replace(b'\r', b'')
        return True

    def text(self):
        return self.out.decode(errors='replace')

    def expect(self, pattern, timeout=60):
        """Wait for a regex after the last match; return the match."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        end = min(self.deadline, time.time() + timeout)
        while True:
            m = rx.search(self.out, self.pos)
            if m:
                self.pos = m.end()
                return m
            if time.time() > end:
                raise Timeout(f'waiting for {pattern!r}; last output:\n'
                              + self.out[-1500:].decode(errors='replace'))
            if not self._pump() and self.proc.poll() is not None:
                m = rx.search(self.out, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                raise Timeout(f'{self.kind} exited ({self.proc.returncode}) while waiting '
                              f'for {pattern!r}; last output:\n'
                              + self.out[-1500:].decode(errors='replace'))

    def send(self, s, slow=True):
        # Bochs's UART has no FIFO backpressure on a socket: type at a human pace.
        for ch in s.encode():
            self.sock.sendall(bytes([ch]))
            if slow:
                time.sleep(0.01 if self.kind == 'qemu' else 0.05)

    def shell(self, line, timeout=60):
        """A shell command while guests print: their lines may cut its echo, so wait
        only for the next prompt; returns everything since the command was sent."""
        start = self.pos = len(self.out)
        self.send(line + '\r')
        self.expect(r'\nhv> ', timeout)
        return self.out[start:self.pos].decode(errors='replace')

    def command(self, line, timeout=60):
        """Type a shell command and return its output up to the next prompt."""
        self.send(line + '\r')
        self.expect(re.escape(line) + r'\n', timeout)
        start = self.pos
        self.expect(re.escape(PROMPT), timeout)
        return self.out[start:self.pos - len(PROMPT)].decode(errors='replace')

    def inject(self, data):
        """Bytes another reader took off the serial line (a Relay), as if _pump had."""
        self.logf.write(data)
        self.out += ANSI.sub(b'', data).replace(b'\r', b'')

    def wait_exit(self, timeout=30):
        end = min(self.deadline, time.time() + timeout)
        while time.time() < end:
            if self.proc.poll() is not None:
                while self._pump(0.05):
                    pass
                return self.proc.returncode
            self._pump(0.1)
        return None

    def close(self):
        if not getattr(self, 'closed', False):
            self.closed = True
            machines_run[0] += 1
            hv_warnings.extend(w.decode(errors='replace') for w in HV_WARNING.findall(self.out))
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.sock:
            self.sock.close()
        if self.sock2:
            self.sock2.close()
        self.logf.close()
        if os.environ.get('HV_KEEP_TMP'):
            print(f'# kept {self.tmp}')
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class Relay:
    """A TCP port for GDB, bridged to a serial line's socket by a thread.

    Bochs' socket-server serial port takes one client for its whole run (and
    dies of SIGPIPE when it leaves), so GDB cannot connect to the line the
    harness holds: it connects to 127.0.0.1:port here.  once=True: the relay
    ends when that GDB disconnects, and whatever the line sent after it is
    in `tail` (for Machine.inject), so the caller can go on reading the line
    itself (COM1 handed back to the shell).  Otherwise GDB may reconnect, and
    what the line sends while no GDB is there is dropped.
    """

    def __init__(self, serial_sock, once=False, port=0):
        self.serial, self.once = serial_sock, once
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(('127.0.0.1', port))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.client = None
        self.tail = b''
        self.log = b''          # every byte the line sent while relayed
        self.sent = self.received = 0
        self.done = threading.Event()
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self._stop:
                rl = [self.serial, self.listener] + ([self.client] if self.client else [])
                ready, _, _ = select.select(rl, [], [], 0.2)
                if self.client in ready:
                    data = self.client.recv(65536)
                    if not data:
                        self.client.close()
                        self.client = None
                        if self.once:
                            break
                    else:
                        self.serial.sendall(data)
                        self.sent += len(data)
                if self.listener in ready:
                    conn, _ = self.listener.accept()
                    if self.client:
                        self.client.close()
                    self.client = conn
                if self.serial in ready:
                    data = self.serial.recv(65536)
                    if not data:
                        break
                    self.received += len(data)
                    self.log += data
                    if self.client:
                        self.client.sendall(data)
        except OSError:
            pass
        finally:
            self.done.set()

    def wait(self, timeout):
        """Until the GDB of a once-relay has gone; then what the line said since."""
        self.done.wait(timeout)
        self.close()
        try:
            self.serial.setblocking(False)
            while True:
                data = self.serial.recv(65536)
                if not data:
                    break
                self.tail += data
        except (BlockingIOError, OSError):
            pass
        finally:
            self.serial.settimeout(0.2)
        return self.tail

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.listener.close()
        if self.client:
            self.client.close()
            self.client = None


def run_gdb(target, cmds, elf=None, on_marker=None, idle=None, timeout=300):
    """Debian's GDB in batch mode: `target remote TARGET`, then each command
    (an error in one does not stop the next).  on_marker: {text: fn(process)}
    called once GDB has printed the text (`echo` one before a `continue` to
    act while the guest runs: SIGINT to the process is Ctrl-C).  idle: called
    while waiting (read a serial line meanwhile).  Returns what GDB printed."""
    args = ['gdb', '-nx', '-batch', '-ex', 'set pagination off', '-ex', 'set confirm off',
            '-ex', 'set remotetimeout 30', '-ex', f'target remote {target}']
    for c in cmds:
        args += ['-ex', c]
    if elf:
        args.append(elf)
    g = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, cwd=ROOT)
    os.set_blocking(g.stdout.fileno(), False)
    out, done, end = b'', set(), time.time() + timeout
    while time.time() < end:
        chunk = g.stdout.read()
        if chunk:
            out += chunk
        for marker, fn in (on_marker or {}).items():
            if marker not in done and marker.encode() in out:
                done.add(marker)
                fn(g)
        if g.poll() is not None:
            out += g.stdout.read() or b''
            break
        (idle or (lambda: time.sleep(0.05)))()
    else:
        g.kill()
        g.wait()
        out += b'\n(GDB killed at the deadline)'
    return out.decode(errors='replace')


def bochsrc(cpus, mem, iso, com1, log, ips=None, quiet=False, com2=None):
    """ips: emulated instructions per emulated second, which sets the TSC
    rate the guest sees (Bochs' default, 4 M, makes a 250 Hz kernel tick every
    16 K instructions).  quiet: drop Bochs' per-exit error lines.  com2: the
    mode of a second serial port (Bochs waits for a client on each socket)."""
    # Only what the hypervisor uses: no sound (Bochs aborts in its ALSA mixer
    # thread on a machine without a sound card), no parallel port, gameport or
    # mouse.  rfb is the one headless display Debian builds; it tries ports
    # 5900-5949 in turn, so a busy 5900 or two Bochs at once do not matter.
    ips_opt = f', ips={ips}' if ips else ''
    com2_line = f'com2: enabled=1, mode={com2}\n' if com2 else ''
    return f'''megs: {mem}
romimage: file={OVMF_BOCHS}
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=corei7_skylake_x, count={cpus}, quantum=16, ignore_bad_msrs=1, reset_on_triple_fault=0{ips_opt}
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
com1: enabled=1, mode={com1}
{com2_line}display_library: rfb, options="timeout=0"
plugin_ctrl: speaker=0, parallel=0, gameport=0, sb16=0, es1370=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
mouse: enabled=0
clock: sync=none, time0=local
magic_break: enabled=1
port_e9_hack: enabled=1
log: {log}
debug: action=ignore
info: action=ignore
panic: action=fatal
''' + ('error: action=ignore\n' if quiet else '')


def run_check_guest(m, name, timeout):
    """Start guest NAME from the shell and wait for its end (or refusal); return (status or
    None, why, its check lines as (PASS|FAIL|SKIP, name, detail)).  The behaviour and C
    guests print `PASS name`, `FAIL name: detail` or `SKIP name: why`; a guest that does not
    end in time is stopped."""
    start = len(m.out)
    m.send(f'guest start {name}\r')
    try:
        e = m.expect(rf'guest {name} (exited with status (\d+)|failed: [^\n]*|refused: [^\n]*)\n',
                     timeout)
        status = int(e.group(2)) if e.group(2) is not None else None
        why = e.group(1).decode(errors='replace')
    except Timeout:
        status, why = None, f'no end after {timeout} s'
        try:
            m.command(f'guest stop {name}', 120)
        except Timeout:
            pass
    # The shell's idle poll frees an ended guest's memory and says so; wait for it, so that
    # its line does not cut into the echo of the next command.
    if status is not None or why.startswith('failed'):
        try:
            m.expect(rf'guest {name}: memory freed[^\n]*\n', 60)
        except Timeout:
            pass
    out = m.out[start:].decode(errors='replace')
    m.command('guests', 120)            # the shell answers before the next guest
    # A line may follow the shell's prompt ("hv> [name] PASS ...").
    return status, why, re.findall(rf'^(?:hv> )?\[{name}\] (PASS|FAIL|SKIP) (\w+)(?:: ([^\n]*))?$',
                                   out, re.M)


class Results:
    """TAP-ish case lines for tests/run.py."""

    def __init__(self):
        self.failed = 0

    def ok(self, name, cond, why=''):
        if cond:
            print(f'ok - {name}')
        else:
            self.failed += 1
            print(f'not ok - {name}: {why}')
        sys.stdout.flush()
        return cond

    def exit(self):
        if machines_run[0]:
            self.ok('hypervisor_printed_no_warning', not hv_warnings, '; '.join(hv_warnings[:4]))
        sys.exit(1 if self.failed else 0)
