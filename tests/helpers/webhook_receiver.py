#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/helpers/webhook_receiver.py: a webhook receiver for the tests.

    webhook_receiver.py [--secret-file FILE] [--log FILE]
                        [--fail-first N] [--fail-code CODE] [--retry-after VALUE]

Listens on 127.0.0.1, port 0 (the kernel picks a free one), and prints the
port on the first line of stdout. Every POST is checked the way README.md
tells a receiver to check it: X-Drumbeat-Signature is "t=<unix seconds>,
v1=<hex HMAC-SHA256 of '<t>.<body>'>" keyed with the shared secret in
--secret-file. Each request is recorded as one JSON line in --log (flushed at
once), and kept for GET /_received:
    {"n", "method", "path", "headers" (lower-case names), "body",
     "signature_valid" (true, false, or null without --secret-file), "status"}

It answers by path (the first segments; the rest is free, e.g. a name):
    /status/<code>[/...]           that status
    /retry-after/<value>[/...]     429 with "Retry-After: <value>" (use %20 for
                                   the spaces of an HTTP date)
    /flaky/<n>/<code>[/...]        <code> for the first n requests to this
                                   exact path, then 200
    /delay/<ms>[/...]              waits, then 200
    /_received                     (GET) the recorded requests as a JSON array
    anything else                  200 {"ok":true}
--fail-first N makes the first N POSTs overall answer --fail-code (default
500), with --retry-after added when given. A request with a bad signature is
still answered 200 (and recorded as invalid), so tests see it.
It exits when its stdin closes, so a test that dies never leaves it behind.
"""
import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
RECEIVED = []
PATH_COUNTS = {}
STATE = {"posts": 0}
ARGS = None
SECRET = None
LOG = None


def verify(headers, body):
    """True/False for a signature checked against SECRET; None without one."""
    if SECRET is None:
        return None
    value = headers.get("x-drumbeat-signature", "")
    parts = dict(p.split("=", 1) for p in value.split(",") if "=" in p)
    t, v1 = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or not v1:
        return False
    want = hmac.new(SECRET, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    # A receiver also refuses old timestamps (replays): 5 minutes here.
    return hmac.compare_digest(want, v1) and abs(time.time() - int(t)) <= 300


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body, extra=None):
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def do_GET(self):
        if self.path.split("?", 1)[0] == "/_received":
            with LOCK:
                body = json.dumps(RECEIVED).encode()
            self.reply(200, body)
        else:
            self.reply(404, b'{"error":"not found"}')

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.split("?", 1)[0]
        parts = path.strip("/").split("/")
        status, extra, delay = 200, {}, 0.0
        with LOCK:
            STATE["posts"] += 1
            n = STATE["posts"]
            PATH_COUNTS[path] = PATH_COUNTS.get(path, 0) + 1
            seen = PATH_COUNTS[path]
        if n <= ARGS.fail_first:
            status = ARGS.fail_code
            if ARGS.retry_after is not None:
                extra["Retry-After"] = ARGS.retry_after
        elif parts[0] == "status" and len(parts) > 1:
            status = int(parts[1])
        elif parts[0] == "retry-after" and len(parts) > 1:
            status = 429
            extra["Retry-After"] = urllib.parse.unquote(parts[1])
        elif parts[0] == "flaky" and len(parts) > 2 and seen <= int(parts[1]):
            status = int(parts[2])
        elif parts[0] == "delay" and len(parts) > 1:
            delay = int(parts[1]) / 1000.0
        record = {
            "n": n, "method": "POST", "path": self.path, "headers": headers,
            "body": body.decode("utf-8", "replace"),
            "signature_valid": verify(headers, body), "status": status,
        }
        with LOCK:
            RECEIVED.append(record)
            if LOG is not None:
                LOG.write(json.dumps(record) + "\n")
                LOG.flush()
        if delay > 0:
            time.sleep(delay)
        reply = b'{"ok":true}' if status < 300 else ('{"error":"status %d"}' % status).encode()
        self.reply(status, reply, extra)

    def log_message(self, fmt, *args):
        pass


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


def main():
    global ARGS, SECRET, LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--secret-file")
    ap.add_argument("--log")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--fail-code", type=int, default=500)
    ap.add_argument("--retry-after")
    ARGS = ap.parse_args()
    if ARGS.secret_file:
        with open(ARGS.secret_file, "rb") as f:
            SECRET = f.read().strip()
    if ARGS.log:
        LOG = open(ARGS.log, "a", encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
