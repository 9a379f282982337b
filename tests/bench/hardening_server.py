#!/usr/bin/env python3
"""A small HTTP(S) server that records what reaches it, for the hardening
tests (tests/integration/hardening_test.sh).

usage: hardening_server.py PORT LOG MODE [CERT KEY]

Listens on 127.0.0.1:PORT (HTTPS with CERT and KEY) and appends to LOG, one
JSON object a line, {"connection": N} for every connection as it is accepted
(before any TLS handshake) and {"head": TEXT} with each request's request
line and header lines exactly as they arrived.

MODE
  ok    answers GET with a credentials document, as the container
        credentials endpoint does, and anything else with ListTrainingJobs'
        empty answer
  huge  answers HEAD with 200 and a small object's headers, and anything
        else with 403 and a body of 1 GiB, written from one 1 MiB buffer as
        fast as the client reads it, so nothing that big is ever held here
"""
import json
import socketserver
import ssl
import sys
import threading

PORT, LOG, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
TLS = None
if len(sys.argv) > 5:
    TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    TLS.load_cert_chain(sys.argv[4], sys.argv[5])
HUGE = 1 << 30
CHUNK = b"x" * (1 << 20)
CREDENTIALS = json.dumps({"AccessKeyId": "AKIDHARDENING", "SecretAccessKey": "hardening-secret",
                          "Token": "", "Expiration": "2099-01-01T00:00:00Z"}).encode()
lock = threading.Lock()


def log(entry):
    with lock, open(LOG, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def reply(out, status, headers, body=b""):
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers]
    out.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    out.flush()


def answer(method, out):
    if MODE == "huge" and method == "HEAD":
        reply(out, "200 OK", [("Content-Length", "100"), ("ETag", '"0123456789abcdef"')])
    elif MODE == "huge":
        reply(out, "403 Forbidden", [("Content-Type", "application/xml"),
                                     ("Content-Length", str(HUGE))])
        sent = 0
        while sent < HUGE:
            out.write(CHUNK)
            sent += len(CHUNK)
    elif method == "GET":
        reply(out, "200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(CREDENTIALS)))], CREDENTIALS)
    else:
        body = b'{"TrainingJobSummaries": []}'
        reply(out, "200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                              ("Content-Length", str(len(body)))], body)


class Recorder(socketserver.StreamRequestHandler):
    def handle(self):
        log({"connection": self.client_address[1]})
        stream = self.request
        if TLS is not None:
            try:
                stream = TLS.wrap_socket(stream, server_side=True)
            except (ssl.SSLError, OSError) as e:
                log({"tls": str(e)})
                return
        reader, writer = stream.makefile("rb"), stream.makefile("wb")
        try:
            while self.serve_one(reader, writer):
                pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def serve_one(self, reader, writer):
        lines = []
        while True:
            line = reader.readline(65536)
            if not line:
                return False
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line)
        head = b"".join(lines).decode("latin-1")
        log({"head": head})
        length = 0
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        reader.read(length)
        answer(head.split(" ", 1)[0], writer)
        return True


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", PORT), Recorder).serve_forever()
