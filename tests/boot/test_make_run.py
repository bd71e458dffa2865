#!/usr/bin/env python3
"""`make run` as a new user types it: on a host without nested VT-x it picks
Bochs, says why in one line, and the default guests (scripts/hv.cfg) run and
print; no guest file is missing from the medium.  Port 5900 (Bochs' rfb
display) is held busy meanwhile, as another VNC server would hold it."""
import os
import re
import select
import signal
import socket
import subprocess
import time

from harness import ROOT, Results

r = Results()


def host_has_nested_vmx():
    try:
        with open('/sys/module/kvm_intel/parameters/nested') as f:
            nested = f.read().strip() in ('Y', '1')
        with open('/proc/cpuinfo') as f:
            vmx = re.search(r'^flags\s*:.*\bvmx\b', f.read(), re.M) is not None
    except OSError:
        return False
    return nested and vmx and os.access('/dev/kvm', os.W_OK)


busy = socket.socket()
try:
    busy.bind(('127.0.0.1', 5900))
    busy.listen(1)
    print('# holding 127.0.0.1:5900')
except OSError:
    print('# 127.0.0.1:5900 is busy already')

# stdin a pipe held open: console.py ends when its input ends.
env = {k: v for k, v in os.environ.items() if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL')}
p = subprocess.Popen(['make', '--no-print-directory', 'run'], cwd=ROOT, env=env,
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, start_new_session=True)
out = b''
want = [rb'hello from the guest', rb'guest hello exited with status 0',
        rb'guest mem exited with status 0']
t0 = time.time()
deadline = t0 + 600
while time.time() < deadline and not all(re.search(w, out) for w in want):
    rl, _, _ = select.select([p.stdout], [], [], 1.0)
    if rl:
        data = os.read(p.stdout.fileno(), 65536)
        if not data:
            break
        out += data
print(f'# guests done after {time.time() - t0:.1f} s')
try:
    os.killpg(p.pid, signal.SIGTERM)
except ProcessLookupError:
    pass
try:
    p.wait(20)
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
busy.close()
text = out.decode(errors='replace')

if host_has_nested_vmx():
    r.ok('make_run_picks_kvm', 'run: QEMU (kvm)' in text, text[-1500:])
else:
    r.ok('make_run_says_why_bochs', 'offers no nested VT-x' in text
         and 'make run EMU=qemu' in text, text[-1500:])
    r.ok('make_run_picks_bochs', 'run: Bochs (VT-x with EPT)' in text, text[-1500:])
r.ok('make_run_medium_has_every_guest', 'cannot read' not in text,
     re.findall(r'.*cannot read.*', text))
r.ok('make_run_hello_guest_prints', 'hello from the guest' in text, text[-1500:])
r.ok('make_run_hello_guest_exits_0', 'guest hello exited with status 0' in text, text[-1500:])
r.ok('make_run_mem_guest_exits_0', 'guest mem exited with status 0' in text, text[-1500:])
r.exit()
