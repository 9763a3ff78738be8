#!/usr/bin/env python3
"""Stand-ins for Gatehouse's outbound services during the fuzz pass, all on 127.0.0.1.

- HTTP (port from argv[1]):
  - POST /sms                 the SMS webhook: records `{"phone","code","purpose"}`, answers 200;
  - GET  /codes/<number>      the last code sent to a phone or e-mail address (404 if none),
                              for the fuzz hooks that sign up throwaway accounts;
  - GET  /sns/jscode2session  WeChat: any `js_code` is a user whose openid derives from it.
- SMTP (port from argv[2]): accepts every message and records the 6-digit code in it.

Standard library only: the fuzz pass runs offline.
"""

import hashlib
import json
import re
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

CODES: dict[str, str] = {}
LOCK = threading.Lock()


def remember(number: str, code: str) -> None:
    with LOCK:
        CODES[number.lower()] = code


class Http(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if urlsplit(self.path).path == "/sms":
            try:
                sent = json.loads(raw)
                remember(str(sent["phone"]), str(sent["code"]))
            except (ValueError, KeyError, TypeError):
                pass
        self.answer(200, {"ok": True})

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path.startswith("/codes/"):
            with LOCK:
                code = CODES.get(unquote(url.path[len("/codes/") :]).lower())
            if code is None:
                self.answer(404, {"code": None})
            else:
                self.answer(200, {"code": code})
        elif url.path == "/sns/jscode2session":
            js_code = parse_qs(url.query).get("js_code", [""])[0]
            openid = "o" + hashlib.sha256(js_code.encode()).hexdigest()[:27]
            self.answer(200, {"openid": openid, "session_key": "fuzz"})
        else:
            self.answer(200, {"ok": True})


class Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for lettre: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self.reply("220 fuzz-sink ESMTP")
        rcpt: list[str] = []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("utf-8", "replace").strip()
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-fuzz-sink")
                self.reply("250-8BITMIME")
                self.reply("250 SMTPUTF8")
            elif verb == "MAIL":
                rcpt = []
                self.reply("250 OK")
            elif verb == "RCPT":
                m = re.search(r"<([^>]*)>", cmd)
                if m:
                    rcpt.append(m.group(1))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go ahead")
                body = []
                while True:
                    data = self.rfile.readline()
                    if not data or data in (b".\r\n", b".\n"):
                        break
                    body.append(data.decode("utf-8", "replace"))
                m = re.search(r"\b(\d{6})\b", "".join(body))
                if m:
                    for to in rcpt:
                        remember(to, m.group(1))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # RSET, NOOP and anything else
                self.reply("250 OK")


class ThreadingTcp(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> None:
    http_port, smtp_port = int(sys.argv[1]), int(sys.argv[2])
    smtp = ThreadingTcp(("127.0.0.1", smtp_port), Smtp)
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    http = ThreadingHTTPServer(("127.0.0.1", http_port), Http)
    http.daemon_threads = True
    http.serve_forever()


if __name__ == "__main__":
    main()
