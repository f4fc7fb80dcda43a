#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/helpers/enrich_api.py: a scripted JSON API for the enricher tests.

    enrich_api.py --script FILE [--log FILE]

Listens on 127.0.0.1, port 0 (the kernel picks a free one), and prints the
port on the first line of stdout. --script is a JSON file:
    {"routes": [{"prefix": "/company/", "status": 200,
                 "json": {...}            reply with this document, or
                 "text": "...",           reply with this text (as text/html), or
                 "echo": true,            reply {"got": <request body as JSON>}
                 "echo_auth": true,       add the Authorization header to the
                                          reply's "error" (as careless APIs do)
                 "headers": {"Retry-After": "7", ...},
                 "delay_ms": 3000,
                 "no_length": true}, ...]}  no Content-Length: the body ends
                                          when the connection closes
A request takes the route with the longest prefix of its path (the query is
not part of the match); no route is 404. Every request is recorded as one JSON
line in --log (flushed at once):
    {"method", "path" (raw, with the query), "headers" (lower-case names), "body"}
It exits when its stdin closes, so a test that dies never leaves it behind.
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
ROUTES = []
LOG = None


def route_for(path):
    best = None
    for r in ROUTES:
        if path.startswith(r["prefix"]) and (best is None or
                                             len(r["prefix"]) > len(best["prefix"])):
            best = r
    return best


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            if LOG is not None:
                LOG.write(json.dumps({"method": self.command, "path": self.path,
                                      "headers": headers,
                                      "body": body.decode("utf-8", "replace")}) + "\n")
                LOG.flush()
        route = route_for(self.path.split("?", 1)[0])
        status, ctype, extra = 404, "application/json", {}
        reply = b'{"error":"no route"}'
        if route is not None:
            status = route.get("status", 200)
            extra = route.get("headers", {})
            if route.get("echo"):
                try:
                    got = json.loads(body or b"null")
                except ValueError:
                    got = None
                reply = json.dumps({"got": got}).encode()
            elif "text" in route:
                ctype, reply = "text/html", route["text"].encode()
            else:
                doc = route.get("json", {})
                if route.get("echo_auth"):
                    doc = dict(doc, error="bad credentials: " + headers.get("authorization", ""))
                reply = json.dumps(doc).encode()
            time.sleep(route.get("delay_ms", 0) / 1000.0)
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if route is not None and route.get("no_length"):
                # The body runs until the connection closes: no size up front.
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(reply)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(reply)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout or size test)

    do_GET = do_POST = handle_any

    def log_message(self, fmt, *args):
        pass


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", required=True)
    ap.add_argument("--log")
    args = ap.parse_args()
    with open(args.script) as f:
        ROUTES.extend(json.load(f)["routes"])
    if args.log:
        LOG = open(args.log, "a")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
