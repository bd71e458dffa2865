#!/usr/bin/env python3
"""Attach this terminal to the hypervisor's serial line under Bochs.

Bochs's COM1 is a TCP socket (tests/boot/harness.py starts it); this bridges
it to the terminal in raw mode so the shell's line editing works.  Ctrl-C
(outside the shell's own use, typed twice within a second) quits.
GDB_PORT=N: COM2 too, relayed to 127.0.0.1:N for GDB's `target remote`
(Bochs' own socket takes one client, and must have it from the start).
"""
import os
import select
import sys
import termios
import time
import tty

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tests', 'boot'))
from harness import Machine, Relay  # noqa: E402


def main():
    kind, cpus, mem = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    # ISO=hv-linux.iso IPS=100000000: another image, a faster guest TSC (see harness.py).
    gdb_port = int(os.environ['GDB_PORT']) if os.environ.get('GDB_PORT') else None
    m = Machine(kind, 'iso', cpus=cpus, mem=mem, timeout=10 ** 7,
                iso=os.environ.get('ISO', 'hv.iso'),
                ips=int(os.environ['IPS']) if os.environ.get('IPS') else None,
                com2=gdb_port is not None)
    relay = Relay(m.sock2, port=gdb_port) if gdb_port else None
    if relay:
        print(f"console: COM2 on 127.0.0.1:{gdb_port}: 'gdb NAME com2' in the shell, then in "
              f"GDB: target remote 127.0.0.1:{gdb_port}\r")
    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd) if os.isatty(fd) else None
    last_ctrl_c = 0.0
    try:
        if old:
            tty.setraw(fd)
        while m.proc.poll() is None:
            rl, _, _ = select.select([m.sock, fd], [], [], 0.5)
            if m.sock in rl:
                data = m.sock.recv(65536)
                if not data:
                    break
                os.write(sys.stdout.fileno(), data)
            if fd in rl:
                data = os.read(fd, 1024)
                if not data:
                    break
                if b'\x03' in data:
                    now = time.time()
                    if now - last_ctrl_c < 1.0:
                        break
                    last_ctrl_c = now
                m.sock.sendall(data)
    finally:
        if old:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
        if relay:
            relay.close()
        m.close()
        print('\r\nconsole: Bochs stopped')


if __name__ == '__main__':
    main()
