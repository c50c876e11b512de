# SPDX-License-Identifier: MIT
"""A fault-injecting HTTP proxy in front of the real nginx.

    faultproxy.py UPSTREAM_URL PORTFILE LOGFILE

Listens on a free 127.0.0.1 port (written to PORTFILE) and forwards GET,
HEAD, PUT, POST and DELETE to UPSTREAM_URL, except that the first path
component picks a fault, applied per object path (query included):

    /busy/...    the first two GETs (or PUTs) answer 503 with Retry-After: 1
    /slow/...    the first GET (or PUT) answers 429 (no Retry-After)
    /httpNNN/... the first two GETs (or PUTs) answer status NNN (e.g.
                 /http500/, /http502/, /http504/), no Retry-After
    /cut/...     the first GET sends half its body, then closes
    /reset/...   the first two GETs get no answer: the connection is reset
                 (RST).  Two, because libcurl itself sends a request again
                 once when a reused connection dies before any answer: the
                 second (on a new connection) reaches the client's own retry
    /hangup/...  the first two GETs get no answer: the connection is closed
                 (FIN), with the same libcurl retry
    /stall/...   no request is answered; the connection stays open until
                 the client gives up (or 120 s)
    /down/...    every request answers 503
    /readonly/.. every PUT, POST and DELETE answers 503 (reads are forwarded)
    /flaky/...   the first POST with an uploadId (CompleteMultipartUpload)
                 answers 200 with an InternalError <Error> body, as S3 may

A write is forwarded with its body and the headers an S3 server checks it
by (Content-MD5, If-None-Match), not its signature: the path changes on the
way, so the upstream must accept unsigned requests (s3rver does).

Each request is logged as "time method path range status" (tab-separated);
a request not answered logs "reset", "hangup" or "stall" as its status.
"""
import http.server
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.request

UPSTREAM, PORTFILE, LOGFILE = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
seen = {}


def log(method, path, rng, status):
    with lock, open(LOGFILE, "a") as f:
        f.write("%.3f\t%s\t%s\t%s\t%s\n" % (time.time(), method, path, rng or "-", status))


def count(path):
    with lock:
        seen[path] = seen.get(path, 0) + 1
        return seen[path]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def fail(self, status, retry_after=None):
        self.send_response(status)
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def no_answer(self, how):
        """Leave the request unanswered: reset, close, or hold the connection."""
        self.close_connection = True
        if how == "reset":
            # SO_LINGER 0: close sends RST at once, not FIN; the file the
            # handler reads through holds the socket open, so close it first
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        elif how == "stall":
            # until the client closes its end (recv gives b"") or 120 s pass
            self.connection.settimeout(120)
            try:
                while self.connection.recv(4096):
                    pass
            except OSError:
                pass

    def error_in_200(self):
        body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError'
                b'</Code><Message>injected</Message></Error>')
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, fault, rest):
        rng = self.headers.get("Range")
        # counted per method and path: a PUT's 503s leave its GETs alone
        n = count(self.command + " " + self.path) if self.command != "HEAD" else 0
        retried = self.command in ("GET", "PUT")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        status = None
        if fault == "down" or (fault == "readonly" and self.command in ("PUT", "POST", "DELETE")):
            status = 503
        elif fault == "busy" and retried and n <= 2:
            status = 503
        elif fault == "slow" and retried and n == 1:
            status = 429
        elif fault[:4] == "http" and fault[4:].isdigit() and retried and n <= 2:
            status = int(fault[4:])
        if (fault in ("reset", "hangup") and self.command == "GET" and n <= 2) or fault == "stall":
            log(self.command, self.path, rng, fault)
            return self.no_answer(fault)
        if status:
            log(self.command, self.path, rng, status)
            return self.fail(status, "1" if fault == "busy" else None)
        if fault == "flaky" and self.command == "POST" and "uploadId=" in self.path and n == 1:
            log(self.command, self.path, rng, "200-Error")
            return self.error_in_200()
        req = urllib.request.Request(UPSTREAM + rest, data=body, method=self.command)
        for h in ("Range", "If-Match", "Content-MD5", "If-None-Match"):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        try:
            resp = urllib.request.urlopen(req)
        except urllib.error.HTTPError as e:
            resp = e
        body = resp.read()
        log(self.command, self.path, rng, resp.status)
        self.send_response(resp.status)
        for h in ("Content-Range", "ETag", "Last-Modified"):
            if resp.headers.get(h):
                self.send_header(h, resp.headers[h])
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(body)))
        elif resp.headers.get("Content-Length"):
            self.send_header("Content-Length", resp.headers["Content-Length"])
        self.end_headers()
        if self.command != "HEAD":
            if fault == "cut" and self.command == "GET" and n == 1:
                self.wfile.write(body[:len(body) // 2])
                self.close_connection = True
                return
            self.wfile.write(body)

    def do_GET(self):
        parts = self.path.split("/", 2)
        self.forward(parts[1], "/" + (parts[2] if len(parts) > 2 else ""))

    do_HEAD = do_PUT = do_POST = do_DELETE = do_GET


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
__import__("os").rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
