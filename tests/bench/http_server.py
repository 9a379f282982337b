#!/usr/bin/env python3
"""A small HTTP server for the host transport's unit test (tests/unit/test_http.c).

Usage: http_server.py UNIX_SOCKET_PATH
Listens on 127.0.0.1 (a free port, printed as the first line of stdout) and
on UNIX_SOCKET_PATH, and answers by path; /NAME/ID paths count requests per
ID, so every test has answers of its own:
  /ok                  200 "hello"
  /flaky/ID            503 the first time, then 200 "second"
  /bad/ID              400 with an error body, every time
  /stall               200 with a Content-Length, a few bytes, then silence
  /big                 200 with 300000 bytes of a known pattern
  /cut/ID              the first time: 200 announcing 300000 bytes, 1000 sent
                       and the connection closed; then as /big
  /echo/ID             reads the body; 503 the first time, then 200 with the
                       body sent back
  /teapot              418 "short and stout"
  /hangup/ID           reads the request, then closes without an answer
  /huge                404 with 2 MiB of body
  /engine/ok           200 '{"ok":true}' (a Docker engine's plain answer)
  /engine/enormous     200 with 65 MiB of body, made as it is sent
"""
import os
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

COUNTS = {}
LOCK = threading.Lock()


def pattern(n):
    return bytes((i * 7 + 3) % 251 for i in range(n))


BIG = pattern(300000)


def seen(ident):
    with LOCK:
        COUNTS[ident] = COUNTS.get(ident, 0) + 1
        return COUNTS[ident]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def address_string(self):
        return "client"

    def answer(self, status, body, extra=None):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Test", "yes")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        body = self.read_body()  # always: a keep-alive connection goes on after it
        parts = self.path.split("/")
        name = parts[1] if len(parts) > 1 else ""
        ident = "/".join(parts[1:3])
        if name == "ok":
            self.answer(200, b"hello")
        elif name == "flaky":
            first = seen(ident) == 1
            self.answer(503 if first else 200, b"busy" if first else b"second")
        elif name == "bad":
            seen(ident)
            self.answer(400, b'{"__type":"Throttling","message":"slow down"}')
        elif name == "stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            time.sleep(40)
        elif name == "big":
            self.answer(200, BIG)
        elif name == "cut":
            if seen(ident) == 1:
                self.send_response(200)
                self.send_header("Content-Length", str(len(BIG)))
                self.end_headers()
                self.wfile.write(BIG[:1000])
                self.wfile.flush()
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self.answer(200, BIG)
        elif name == "echo":
            if seen(ident) == 1:
                self.answer(503, b"again")
            else:
                self.answer(200, body)
        elif name == "hangup":
            seen(ident)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif name == "teapot":
            self.answer(418, b"short and stout")
        elif name == "huge":
            self.answer(404, b"e" * (2 << 20))
        elif self.path == "/engine/ok":
            self.answer(200, b'{"ok":true}')
        elif self.path == "/engine/enormous":
            self.send_response(200)
            self.send_header("Content-Length", str(65 << 20))
            self.end_headers()
            block = b"[" * (1 << 20)
            try:
                for _ in range(65):
                    self.wfile.write(block)
            except OSError:
                pass  # the client hung up: what it should do
        else:
            self.answer(404, b"no such path")

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


class TCPServer(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up early is what some tests do


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def main():
    unix_path = sys.argv[1]
    tcp = TCPServer(("127.0.0.1", 0), Handler)
    if os.path.exists(unix_path):
        os.unlink(unix_path)
    unix = UnixServer(unix_path, Handler)
    threading.Thread(target=unix.serve_forever, daemon=True).start()
    print(tcp.server_address[1], flush=True)
    tcp.serve_forever()


if __name__ == "__main__":
    main()
