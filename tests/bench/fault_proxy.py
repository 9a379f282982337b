#!/usr/bin/env python3
"""A reverse proxy that injects faults, for fahr's fault tests.

usage: fault_proxy.py PORT UPSTREAM_URL PLAN_FILE LOG_FILE [CERT KEY]

With CERT and KEY it speaks HTTPS (TLS ends here; upstream is plain HTTP).
Every request is passed on to UPSTREAM_URL unchanged (the Host header too,
so signatures still hold), unless a rule of PLAN_FILE (JSON, read afresh for
each request) matches it first. A rule:

  {"match": "GetObject",   # what the request must contain: an X-Amz-Target
                           # ("SageMaker.DescribeTrainingJob"), or one of the
                           # S3 names GetObject / HeadObject (by method), or a
                           # substring of the path; "connect" matches a new
                           # connection, which rst resets once the client has
                           # sent its first bytes (its TLS ClientHello, or
                           # its request) and before any answer
   "fault": "reset" | "rst" | "status" | "stall" | "corrupt" | "headers",
   "times": 2,             # how many matching requests get it (then none)
   "skip": 1,              # how many matching requests pass first (0)
   "after_bytes": 1000,    # reset, rst, corrupt: how far into the body;
                           # rst: -1 answers nothing at all
   "status": 503, "body": "...", "content_type": "...",   # status
   "seconds": 3,           # stall: before answering
   "set": {"ETag": "..."}, "remove": ["x-amz-checksum-crc32"]}   # headers

reset sends the headers and `after_bytes` of the body, then closes the
connection cleanly (a FIN); rst does the same but aborts it (SO_LINGER
{1, 0}: a TCP RST, "Connection reset by peer"), its status and headers
first unless `after_bytes` is -1; corrupt flips the byte at `after_bytes`;
stall waits, then answers normally; headers changes the answer's headers
as real S3's would differ (a KMS object's ETag, a CRC64NVME the emulator
cannot make).
Each request is logged to LOG_FILE as one JSON line:
method, path, Range header, and the fault given (or null); a connection
reset by a "connect" rule as {"method": "connect", "fault": "rst"}.
"""
import http.client
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, UPSTREAM = int(sys.argv[1]), urllib.parse.urlparse(sys.argv[2])
PLAN_FILE, LOG_FILE = sys.argv[3], sys.argv[4]
TLS = None
if len(sys.argv) > 6:
    TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    TLS.load_cert_chain(sys.argv[5], sys.argv[6])
LOCK = threading.Lock()
USED = {}  # rule index -> matching requests seen


def matches(rule, method, path, headers):
    what = rule["match"]
    if method is None or what == "connect":  # a new connection, no request yet
        return method is None and what == "connect"
    target = headers.get("X-Amz-Target", "")
    if what == "GetObject":
        return method == "GET" and target == "" and path.count("/") >= 2 and "?" not in path
    if what == "HeadObject":
        return method == "HEAD"
    return what == target or (target == "" and what in path)


PLAN_TEXT = [None]  # the plan USED counts for; a new plan starts afresh


def pick_fault(method, path, headers):
    try:
        text = open(PLAN_FILE).read()
        plan = json.loads(text)
    except (OSError, ValueError):
        text, plan = None, []
    with LOCK:
        if text != PLAN_TEXT[0]:
            PLAN_TEXT[0] = text
            USED.clear()
        for index, rule in enumerate(plan):
            if not matches(rule, method, path, headers):
                continue
            seen = USED.get(index, 0)
            skip = rule.get("skip", 0)
            if seen < skip + rule.get("times", 1):
                USED[index] = seen + 1
                if seen >= skip:
                    return rule
    return None


def log(method, path, range_header, fault):
    with LOCK, open(LOG_FILE, "a") as log_file:
        log_file.write(json.dumps({"method": method, "path": path, "range": range_header,
                                   "fault": fault and fault["fault"]}) + "\n")


def abort(connection):
    """A TCP RST instead of a FIN: linger on, time 0, then the descriptor
    closed at once (socketserver would shut it down, a FIN, first)."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    os.close(connection.detach())


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        if TLS is not None:
            self.request = TLS.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = pick_fault(self.command, self.path, self.headers)
        log(self.command, self.path, self.headers.get("Range"), fault)
        kind = fault and fault["fault"]
        if kind == "status":
            data = fault.get("body", "").encode()
            self.send_response(fault["status"])
            self.send_header("Content-Type", fault.get("content_type", "application/xml"))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":  # a HEAD answer has no body
                self.wfile.write(data)
            return
        if kind == "stall":
            time.sleep(fault.get("seconds", 5))
        if kind == "rst" and fault.get("after_bytes", 0) < 0:
            abort(self.connection)
            self.close_connection = True
            return
        upstream = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=300)
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            upstream.putheader(name, value)
        upstream.endheaders(body if length else None)
        response = upstream.getresponse()
        data = response.read() if self.command != "HEAD" else b""
        self.send_response(response.status)
        headers = response.getheaders()
        if kind == "headers":
            changed = {name.lower() for name in fault.get("set", {})}
            changed |= {name.lower() for name in fault.get("remove", [])}
            headers = [(n, v) for n, v in headers if n.lower() not in changed]
            headers += list(fault.get("set", {}).items())
        for name, value in headers:
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length",
                         response.getheader("Content-Length") if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if kind == "reset":
            self.wfile.write(data[:fault.get("after_bytes", 0)])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if kind == "rst":
            self.wfile.write(data[:fault.get("after_bytes", 0)])
            abort(self.connection)
            self.close_connection = True
            return
        if kind == "corrupt" and data:
            at = min(fault.get("after_bytes", 0), len(data) - 1)
            data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    def verify_request(self, request, client_address):
        fault = pick_fault(None, None, {})
        if fault is None:
            return True
        log("connect", None, None, fault)
        try:  # the client's first bytes: its connect() is done, not refused
            request.settimeout(5)
            request.recv(1)
        except OSError:
            pass
        abort(request)
        return False

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # a client gone, a handshake cut
            super().handle_error(request, client_address)


Server(("127.0.0.1", PORT), Proxy).serve_forever()
