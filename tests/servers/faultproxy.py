# SPDX-License-Identifier: MIT
"""A fault-injecting HTTP proxy in front of the real nginx.

    faultproxy.py UPSTREAM_URL PORTFILE LOGFILE

Listens on a free 127.0.0.1 port (written to PORTFILE) and forwards GET and
HEAD to UPSTREAM_URL, except that the first path component picks a fault,
applied per object path:

    /busy/...    the first two GETs answer 503 with Retry-After: 1
    /slow/...    the first GET answers 429 (no Retry-After)
    /cut/...     the first GET sends half its body, then closes
    /down/...    every request answers 503

Each request is logged as "time method path range status" (tab-separated).
"""
import http.server
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

    def forward(self, fault, rest):
        rng = self.headers.get("Range")
        n = count(self.path) if self.command == "GET" else 0
        status = None
        if fault == "down":
            status = 503
        elif fault == "busy" and 0 < n <= 2:
            status = 503
        elif fault == "slow" and n == 1:
            status = 429
        if status:
            log(self.command, self.path, rng, status)
            return self.fail(status, "1" if fault == "busy" else None)
        req = urllib.request.Request(UPSTREAM + rest, method=self.command)
        for h in ("Range", "If-Match"):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        try:
            resp = urllib.request.urlopen(req)
        except urllib.error.HTTPError as e:
            resp = e
        body = resp.read()
        log(self.command, self.path, rng, resp.status)
        self.send_response(resp.status)
        for h in ("Content-Range", "ETag", "Last-Modified", "Content-Length"):
            if resp.headers.get(h):
                self.send_header(h, resp.headers[h])
        self.end_headers()
        if self.command == "GET":
            if fault == "cut" and n == 1:
                self.wfile.write(body[:len(body) // 2])
                self.close_connection = True
                return
            self.wfile.write(body)

    def do_GET(self):
        parts = self.path.split("/", 2)
        self.forward(parts[1], "/" + (parts[2] if len(parts) > 2 else ""))

    do_HEAD = do_GET


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
__import__("os").rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
