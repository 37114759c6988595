#!/usr/bin/env python3
"""One client of scripts/bench-flood.sh: flood-client.py PORT COUNT HOLD HEAD

Opens COUNT connections to 127.0.0.1:PORT, sends HEAD (a request head cut
short; backslash escapes as in Python) on each, holds them HOLD seconds and
closes them all. Prints: COUNT, connections that failed, connections the
server had closed 1 s after the last was opened, and at the end of HOLD."""
import select, socket, sys, time

port, count, hold, head = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
head = head.encode().decode("unicode_escape").encode()
socks, failed = [], 0
for _ in range(count):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(head)
        socks.append(s)
    except OSError:
        failed += 1
        s.close()


def closed_by_server():
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
    return len(poller.poll(0))


time.sleep(min(1.0, hold))
at_once = closed_by_server()
time.sleep(max(0.0, hold - 1.0))
at_end = closed_by_server()
for s in socks:
    s.close()
print(count, failed, at_once, at_end)
