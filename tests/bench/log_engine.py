#!/usr/bin/env python3
"""A Docker Engine that knows one container, fahr-fake-1, whose log grows
by 3 messages on every read of it, for the local driver's log reader.

usage: log_engine.py SOCKET QUERY_LOG

Its 13 messages are "line 00\\n" .. "line 11\\n" and "the end" (no newline);
four messages share each time, so a read ends amid messages of one time.
GET .../logs answers as the engine does: multiplexed frames, with
timestamps=1 each message prefixed by its RFC 3339 time (nine digits of
nanoseconds) and a space, since=SECONDS.NANOSECONDS returning the messages
of that time or later. The container runs until all 13 were offered. Each
logs query is appended to QUERY_LOG.
"""
import http.server
import json
import socketserver
import sys
import time

SOCKET, QUERY_LOG = sys.argv[1:3]
MESSAGES = [f"line {i:02d}\n" for i in range(12)] + ["the end"]
BASE = 1700000000
reads = 0


def stamp(i):
    """The time of message i: (seconds, nanoseconds), four messages each."""
    return (BASE + i // 4, 5)


def rfc3339(seconds, nanoseconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanoseconds:09d}Z"


def frame(payload):
    data = payload.encode()
    return b"\x01\x00\x00\x00" + len(data).to_bytes(4, "big") + data


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, kind="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global reads
        path, _, query = self.path.partition("?")
        if path == "/containers/fahr-fake-1/json":
            over = reads * 3 >= len(MESSAGES)
            state = {"Status": "exited" if over else "running", "ExitCode": 0}
            return self.answer(200, json.dumps({"State": state}).encode())
        if path != "/containers/fahr-fake-1/logs":
            return self.answer(404, b'{"message": "no such container"}')
        with open(QUERY_LOG, "a") as log:
            log.write(query + "\n")
        params = dict(p.partition("=")[::2] for p in query.split("&"))
        since = (0, 0)
        if "since" in params:
            seconds, _, nanoseconds = params["since"].partition(".")
            since = (int(seconds), int(nanoseconds.ljust(9, "0")))
        reads += 1
        body = b""
        for i, message in enumerate(MESSAGES[: reads * 3]):
            if stamp(i) < since:
                continue
            prefix = rfc3339(*stamp(i)) + " " if params.get("timestamps") == "1" else ""
            body += frame(prefix + message)
        self.answer(200, body, "application/vnd.docker.multiplexed-stream")


socketserver.UnixStreamServer.allow_reuse_address = True
with socketserver.UnixStreamServer(SOCKET, Handler) as server:
    server.serve_forever()
