#!/usr/bin/env python3
"""Waits until a DNS server on 127.0.0.1:PORT answers a query.

Usage: dns_ready.py PORT [SECONDS]. Sends an A query for "ready.invalid"
every 100 ms; exits 0 at the first reply of any kind (an answer, NXDOMAIN,
REFUSED: the server is up and reading), 1 when SECONDS (default 10) pass
without one. A test that starts dnsmasq in the background runs this before
pointing the daemon at it, so a slow start on a busy machine cannot turn
into failed lookups.
"""
import socket
import struct
import sys
import time


def query(qid):
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)  # RD, one question
    name = b"".join(bytes([len(p)]) + p for p in (b"ready", b"invalid")) + b"\0"
    return header + name + struct.pack("!HH", 1, 1)  # A, IN


def main():
    port = int(sys.argv[1])
    deadline = time.monotonic() + (float(sys.argv[2]) if len(sys.argv) > 2 else 10.0)
    qid = 0x4242
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.1)
        while time.monotonic() < deadline:
            try:
                s.sendto(query(qid), ("127.0.0.1", port))
                reply, _ = s.recvfrom(512)
                if len(reply) >= 12:  # a DNS header: whatever it says, the server reads
                    return 0
            except (socket.timeout, ConnectionRefusedError):
                time.sleep(0.1)  # not listening yet: the ICMP error comes back at once
            qid = (qid + 1) & 0xFFFF
    return 1


if __name__ == "__main__":
    sys.exit(main())
