#!/usr/bin/env python3
"""A minimal SMTP server for the local production stack: accepts every message and stores it as
run/mail/<n>.eml, so drills can read verification links. Loopback only; stdlib only."""
import os
import socketserver
import sys

OUT = sys.argv[2] if len(sys.argv) > 2 else "mail"
os.makedirs(OUT, exist_ok=True)


class Session(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self.reply("220 localhost ESMTP sink")
        data = None
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if data is not None:
                if line == ".":
                    n = len(os.listdir(OUT))
                    with open(os.path.join(OUT, f"{n:06d}.eml"), "w", encoding="utf-8") as f:
                        f.write("\n".join(data))
                    data = None
                    self.reply("250 2.0.0 queued")
                else:
                    data.append(line[1:] if line.startswith("..") else line)
                continue
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-localhost")
                self.reply("250 8BITMIME")
            elif verb == "DATA":
                data = []
                self.reply("354 go ahead")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 ok")
            else:
                self.reply("502 not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Session).serve_forever()
