"""The two HTTP fronts of tests/bench/kaggle_bench.py: the API (with the
credential check and the /_bench control paths) and the storage that serves
output files from pre-signed URLs (see kaggle_bench.py's docstring)."""
import base64
import email.utils
import hashlib
import hmac
import http
import json
import os
import re
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

from kaggle_bench_jobs import TERMINAL
from kaggle_bench_service import USERCONTENT
from kaggle_bench_spec import ApiError

RPC_PATH = re.compile(r"^(?:/api)?/v1/([a-z]+\.[A-Za-z]+)/([A-Za-z]+)$")  # SERVICE/METHOD
LOGS_PATH = re.compile(r"^(?:/api)?/v1/kernels/logs/stream/([^/]+)/([^/]+)$")


class Recording(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    port_name = "?"

    def log_message(self, *_args):
        pass

    def auth_kind(self):
        header = self.headers.get("Authorization")
        if header is None:
            return "none"
        bench = self.server.bench
        scheme, _, value = header.partition(" ")
        if scheme == "Bearer" and hmac.compare_digest(value.encode(), bench.token.encode()):
            return "bearer"
        if scheme == "Basic":
            try:
                pair = base64.b64decode(value, validate=True).decode()
            except ValueError:
                return "bad"
            if hmac.compare_digest(pair.encode(), f"{bench.user}:{bench.key}".encode()):
                return "basic"
        return "bad"

    def record(self, status):
        if self.path.startswith("/_bench/"):
            return  # the tests' own calls are not the client's
        entry = {"port": self.port_name, "method": self.command,
                 "path": urllib.parse.urlsplit(self.path).path, "status": status,
                 "auth": self.auth_kind(), "authorization": "Authorization" in self.headers}
        if getattr(self, "json_body", None) is not None:
            entry["body"] = self.json_body
        if "Range" in self.headers:
            entry["range"] = self.headers["Range"]
        with self.server.bench.lock:
            self.server.bench.requests.append(entry)

    def send(self, status, body, content_type="application/json", headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.record(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class ApiHandler(Recording):
    port_name = "api"

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def dispatch(self):
        path = urllib.parse.urlsplit(self.path).path
        raw = self.body()
        self.json_body = None
        try:
            self.json_body = json.loads(raw) if raw.strip() and not path.startswith("/_bench/") \
                else None
        except ValueError:
            pass
        try:
            if path.startswith("/_bench/"):
                return self.send(200, self.control(path[len("/_bench/"):], raw))
            if path.startswith(USERCONTENT):
                return self.redirect_to_storage(path[len(USERCONTENT):])
            rpc = RPC_PATH.match(path)
            self.check_throttle_and_auth(rpc.group(2) if rpc else None)
            logs = LOGS_PATH.match(path)
            if rpc and self.command == "POST":
                service, method = rpc.group(1), rpc.group(2)
                body = self.server.bench.spec.parse(method, raw, service)
                if method == "GetKernelSessionLogsStream":
                    return self.stream_logs(self.server.bench.session_for_logs(body))
                return self.send(200, self.server.bench.call(method, body))
            if logs and self.command == "GET":
                return self.stream_logs(self.server.bench.session_for(
                    {"userName": logs.group(1), "kernelSlug": logs.group(2)}))
            raise ApiError(404, f"No route for {self.command} {path}")
        except ApiError as error:
            self.send(error.status, error.body(), headers=error.headers)

    def redirect_to_storage(self, rest):
        """A file URL on the API port (redirect-downloads): a 302 to the
        storage's pre-signed URL, with a body as servers send one."""
        if self.command != "GET":
            raise ApiError(405, "Method not allowed")
        query = urllib.parse.urlsplit(self.path).query
        location = self.server.bench.storage_url(rest + ("?" + query if query else ""))
        self.send(302, f"<a href=\"{location}\">moved</a>".encode(), "text/html",
                  {"Location": location})

    def check_throttle_and_auth(self, method):
        bench = self.server.bench
        with bench.lock:
            # The first error meant for any call, or for this method.
            index = next((i for i, e in enumerate(bench.errors) if e[2] in (None, method)), None)
            injected = bench.errors.pop(index) if index is not None else None
        if injected is not None:
            status, retry_after, _ = injected
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            raise ApiError(status, http.HTTPStatus(status).phrase, headers)
        kind = self.auth_kind()
        if kind == "none":
            raise ApiError(401, "Unauthenticated: no credentials were sent")
        if kind == "bad":
            raise ApiError(401, "Unauthenticated: the credentials are not valid")

    def stream_logs(self, session):
        bench = self.server.bench
        if session.status in TERMINAL:
            return self.send(200, session.log_json().encode())
        self.record(200)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.send_events(session)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped following

    def send_events(self, session):
        bench = self.server.bench
        sent = 0
        while True:
            with bench.lock:
                while sent == len(session.log) and session.status not in TERMINAL:
                    session.changed.wait(1.0)
                entries = session.log[sent:]
                ended = session.status in TERMINAL
            for entry in entries:
                self.wfile.write(f"data: {json.dumps(entry)}\n\n".encode())
            sent += len(entries)
            self.wfile.flush()
            if ended:
                self.wfile.write(b"data: END_OF_LOG\n\n")
                return

    def control(self, name, raw):
        bench = self.server.bench
        try:
            args = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise ApiError(400, "control: the body is not JSON") from None
        with bench.lock:
            if name == "fail-next" and self.command == "POST":
                bench.fail_next.append(args.get("message", "Kernel failed (bench fail-next)"))
            elif name == "errors" and self.command == "POST":
                bench.errors.extend([(int(args.get("status", 429)), args.get("retryAfter"),
                                      args.get("method"))] * int(args.get("count", 1)))
            elif name == "quota" and self.command == "POST":
                quota = bench.quota[args["accelerator"]]
                quota[0] = float(args.get("usedSeconds", quota[0]))
                quota[1] = float(args.get("allowedSeconds", quota[1]))
            elif name == "corrupt-file" and self.command == "POST":
                bench.corrupt_files.add(args["file"])
            elif name == "redirect-downloads" and self.command == "POST":
                bench.redirect_downloads = bool(args.get("on", True))
            elif name == "break-download" and self.command == "POST":
                bench.break_downloads[0] += int(args.get("count", 1))
            elif name == "datasets" and self.command == "POST":
                bench.dataset_dir(args.get("ref", ""), args.get("path", ""))
            elif name == "requests" and self.command == "GET":
                return list(bench.requests)
            elif name == "requests" and self.command == "DELETE":
                bench.requests.clear()
            elif name == "sessions" and self.command == "GET":
                return [{"id": s.id, "ref": s.kernel["ref"], "version": s.version,
                         "status": s.status, "failureMessage": s.failure}
                        for s in bench.sessions.values()]
            else:
                raise ApiError(404, f"control: no {self.command} /_bench/{name}")
        return {}


class StorageHandler(Recording):
    port_name = "storage"

    def do_GET(self):
        self.serve_file()

    def do_HEAD(self):
        self.serve_file()

    def fail(self, status, code, message, headers=None):
        body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                f"<Message>{message}</Message></Error>").encode()
        self.send(status, body, "application/xml", headers)

    def serve_file(self):
        bench = self.server.bench
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if "Authorization" in self.headers:
            return self.fail(400, "InvalidAuthentication", "A pre-signed URL takes no "
                             "Authorization header")
        expires = (query.get("Expires") or ["0"])[0]
        signature = (query.get("Signature") or [""])[0]
        if not expires.isdigit() or not hmac.compare_digest(
                bench.signature(url.path, int(expires)), signature):
            return self.fail(403, "SignatureDoesNotMatch", "The signature does not match")
        if int(expires) < time.time():
            return self.fail(403, "ExpiredToken", "The URL has expired")
        parts = url.path.split("/")  # "", "kf", SESSION, PATH...
        session = bench.sessions.get(int(parts[2])) if parts[2].isdigit() else None
        if session is None:
            return self.fail(404, "NoSuchKey", "No such object")
        name = "/".join(urllib.parse.unquote(p) for p in parts[3:])
        full = os.path.realpath(os.path.join(session.working, name))
        if not full.startswith(os.path.realpath(session.working) + "/") or \
                not os.path.isfile(full):
            return self.fail(404, "NoSuchKey", "No such object")
        with open(full, "rb") as f:
            data = f.read()
        stored_md5 = hashlib.md5(data).digest()
        if name in bench.corrupt_files:  # the bytes changed, the stored hash kept
            data = data[:-1] + bytes([data[-1] ^ 0x01]) if data else data
        self.send_ranged(data, os.path.getmtime(full), stored_md5)

    def send_ranged(self, data, mtime, stored_md5):
        bench = self.server.bench
        headers = {"x-goog-hash": "md5=" + base64.b64encode(stored_md5).decode(),
                   "Last-Modified": email.utils.formatdate(mtime, usegmt=True),
                   "Accept-Ranges": "bytes", "ETag": f"\"{stored_md5.hex()}\""}
        status, start, end = 200, 0, len(data)
        wanted = self.headers.get("Range")
        if wanted:
            match = re.fullmatch(r"bytes=([0-9]+)-([0-9]*)", wanted.strip())
            if not match or int(match.group(1)) >= len(data):
                return self.fail(416, "InvalidRange", "The range cannot be satisfied",
                                 {"Content-Range": f"bytes */{len(data)}"})
            start = int(match.group(1))
            end = min(int(match.group(2)) + 1 if match.group(2) else len(data), len(data))
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
        with bench.lock:
            broken = self.command == "GET" and bench.break_downloads[0] > 0
            if broken:
                bench.break_downloads[0] -= 1
        if not broken:
            return self.send(status, data[start:end], "application/octet-stream", headers)
        self.record(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data[start:start + (end - start) // 2])
        self.wfile.flush()
        self.close_connection = True
