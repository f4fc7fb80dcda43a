#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/helpers/http_receiver.py: a small HTTP server for tests.

Listens on 127.0.0.1, port 0 (the kernel picks a free one), and prints the
port on the first line of stdout. It records every request and replies by
path:
    /status/<code>      replies with that status code
    /delay/<ms>         waits that long, then replies 200
    /requests           replies with the recorded requests as JSON
    anything else       replies 200 "ok"
It exits when its stdin closes, so a test that dies never leaves it behind.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUESTS = []
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        status, reply = 200, b"ok"
        if parts[0] == "requests":
            with LOCK:
                reply = json.dumps(REQUESTS).encode()
        else:
            with LOCK:
                REQUESTS.append({
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                })
            if parts[0] == "status" and len(parts) > 1:
                status = int(parts[1])
                reply = ("status %d" % status).encode()
            elif parts[0] == "delay" and len(parts) > 1:
                time.sleep(int(parts[1]) / 1000.0)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    do_GET = do_POST = do_PUT = do_DELETE = handle_any

    def log_message(self, fmt, *args):
        pass


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
