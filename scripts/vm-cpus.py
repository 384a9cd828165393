#!/usr/bin/env python3
"""Where the vCPUs of a VM from scripts/in-kvm-vm.sh stand, from its QEMU
monitor: one line per CPU, "CPU CPL RIP HLT" (e.g. "0 3 401139 0").

    scripts/vm-cpus.py MONITOR_SOCKET

Under TCG, a CPU running a nested guest shows the nested guest's state.
Prints nothing when the monitor does not answer.
"""
import re
import socket
import sys


def ask(path, command, timeout=3.0):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    out = b""
    try:
        s.connect(path)
        s.sendall(command.encode() + b"\n")
        while True:
            data = s.recv(65536)
            if not data:
                break
            out += data
    except OSError:  # the timeout ends the answer: QEMU keeps it open
        pass
    finally:
        s.close()
    return out.decode(errors="replace")


def main(argv):
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    text = ask(argv[0], "info registers -a")
    cpu = None
    for line in text.splitlines():
        m = re.match(r"CPU#(\d+)", line)
        if m:
            cpu = m.group(1)
        m = re.match(r"RIP=([0-9a-f]+) .*CPL=(\d) .*HLT=(\d)", line)
        if m and cpu is not None:
            print(cpu, m.group(2), m.group(1).lstrip("0") or "0", m.group(3))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
