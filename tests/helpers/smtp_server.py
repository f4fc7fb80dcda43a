#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/helpers/smtp_server.py: a real SMTP server (aiosmtpd) for the tests.

Listens on 127.0.0.1 (an ephemeral port unless --port), prints the port as the
first line of stdout, and serves until SIGTERM. Every accepted message is
written, byte for byte as received (after dot-unstuffing), to
<dir>/<recipient>.eml (then .2.eml, .3.eml for repeats) with its envelope in a
matching .json file, written under a temporary name and renamed, so a reader
never sees half a file.

Behaviour comes from a JSON file (--config FILE) and/or options:
  {"dir": "out",                        where messages go (required)
   "enhanced": true,                    advertise ENHANCEDSTATUSCODES
   "rules": [{"stage": "MAIL"|"RCPT"|"DATA", "match": "addr", "reply": "550 5.1.1 ..."}],
                                        answer a stage with reply when the sender
                                        (MAIL) or recipient (RCPT, DATA) equals match
   "drop_after_data": ["addr"],         after a message for addr is received, close
                                        the connection without replying (it is
                                        still written: the server may have kept it)
   "auth": {"user": "u", "password": "p"},  require AUTH PLAIN/LOGIN
   "tls": {"cert": "cert.pem", "key": "key.pem"},  offer and require STARTTLS
   "implicit_tls": {"cert": "cert.pem", "key": "key.pem"},
                                        TLS from the first byte (SMTPS, port 465
                                        style); AUTH is then offered at once
   "data_delay_ms": 200,                wait this long before answering DATA's
                                        end (sessions then overlap)
   "sessions_file": "sessions.json"}    keep {"open": N, "max_open": N,
                                        "connections": N} there: the connections
                                        open now, the most ever open at once,
                                        and the total accepted
Run it with /usr/bin/python3 (the python3 on PATH may lack aiosmtpd).
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, cfg):
        self.cfg = cfg
        self.dir = cfg["dir"]
        self.rules = cfg.get("rules", [])
        self.drop = set(a.lower() for a in cfg.get("drop_after_data", []))
        self.seq = 0
        self.open = self.max_open = self.connections = 0
        os.makedirs(self.dir, exist_ok=True)

    def count(self, delta):
        self.open += delta
        self.connections += delta > 0
        self.max_open = max(self.max_open, self.open)
        path = self.cfg.get("sessions_file")
        if path:
            with open(path + ".tmp", "w") as f:
                json.dump({"open": self.open, "max_open": self.max_open,
                           "connections": self.connections}, f)
            os.rename(path + ".tmp", path)

    def rule(self, stage, address):
        for r in self.rules:
            if r["stage"].upper() == stage and r["match"].lower() == (address or "").lower():
                return r["reply"]
        return None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.cfg.get("enhanced", True):
            responses.insert(len(responses) - 1, "250-ENHANCEDSTATUSCODES")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self.rule("MAIL", address)
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rule("RCPT", address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    def save(self, server, session, envelope):
        rcpt = envelope.rcpt_tos[0].lower()
        safe = "".join(c if c.isalnum() or c in "@.+-_" else "_" for c in rcpt)
        n = 1
        while True:
            name = safe + (".eml" if n == 1 else ".%d.eml" % n)
            if not os.path.exists(os.path.join(self.dir, name)):
                break
            n += 1
        self.seq += 1
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                "auth": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None}
        for ext, data in ((".json", json.dumps(meta).encode()), (".eml", envelope.original_content)):
            final = os.path.join(self.dir, name[:-4] + ext)
            tmp = os.path.join(self.dir, ".tmp.%d.%d" % (os.getpid(), self.seq))
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, final)
        return name

    async def handle_DATA(self, server, session, envelope):
        delay = self.cfg.get("data_delay_ms", 0)
        if delay:
            await asyncio.sleep(delay / 1000)
        for rcpt in envelope.rcpt_tos:
            reply = self.rule("DATA", rcpt)
            if reply:
                return reply
        name = self.save(server, session, envelope)
        if any(r.lower() in self.drop for r in envelope.rcpt_tos):
            # The message is kept but the reply is never sent: the client
            # cannot know it was accepted.
            server.transport.abort()
            return "250 2.0.0 never seen by the client"
        return "250 2.0.0 Ok: queued as Q%d-%s" % (self.seq, name)


class CountingSMTP(SMTP):
    """aiosmtpd's server, counting its connections (Handler.count)."""

    def connection_made(self, transport):
        self.event_handler.count(1)
        super().connection_made(transport)

    def connection_lost(self, exc):
        self.event_handler.count(-1)
        super().connection_lost(exc)


def authenticator(cfg):
    want = cfg["auth"]

    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login.decode() == want["user"] and
              auth_data.password.decode() == want["password"])
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return check


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config")
    ap.add_argument("--dir")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    cfg = {}
    if args.config:
        with open(args.config) as f:
            cfg = json.load(f)
    if args.dir:
        cfg["dir"] = args.dir
    handler = Handler(cfg)
    kw = {"hostname": "test.invalid", "ident": "drumbeat test server"}
    if "tls" in cfg:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cfg["tls"]["cert"], cfg["tls"]["key"])
        kw.update(tls_context=ctx, require_starttls=True)
    smtps = None
    if "implicit_tls" in cfg:
        smtps = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        smtps.load_cert_chain(cfg["implicit_tls"]["cert"], cfg["implicit_tls"]["key"])
    if "auth" in cfg:
        # aiosmtpd 1.4 counts only STARTTLS as TLS; an SMTPS connection is
        # encrypted from the start, so AUTH needs no STARTTLS there.
        kw.update(authenticator=authenticator(cfg), auth_required=True,
                  auth_require_tls="tls" in cfg)
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(lambda: CountingSMTP(handler, **kw), "127.0.0.1", args.port,
                                   ssl=smtps)
    print(srv.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    srv.close()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
