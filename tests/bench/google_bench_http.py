"""The HTTP framework of the Google bench (tests/bench/google_bench.py).

Each service listens on its own port with a ThreadingHTTPServer whose routes
are Route(method, path_regex, method_id, handler). A request is logged, its
credential checked (a Bearer token the bench issued and that has not expired;
the metadata service wants `Metadata-Flavor: Google` instead; oauth and control
check nothing), a fault injected where the control port asked for one, its
query and JSON body validated against the discovery method `method_id`, and
then handed to `handler(request)`. A handler returns a dict (answered 200 as
JSON), a Response, or raises an exception with `code`, `status` and `message`
(answered in Google's error shape). A Route with stream=True gets the body
unread: `request.rfile` and `request.length` (uploads read it themselves)."""
import http
import json
import re
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION",
                429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
                501: "UNIMPLEMENTED", 503: "UNAVAILABLE"}
LOGGED_BODY_MAX = 64 * 1024


class GoogleError(Exception):
    def __init__(self, code, status, message):
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


class Route:
    def __init__(self, method, path_regex, method_id, handler, stream=False):
        self.method, self.method_id, self.handler = method, method_id, handler
        self.path = re.compile(path_regex if path_regex.startswith("^") else "^" + path_regex)
        self.stream = stream


class Response:
    def __init__(self, status, body=b"", headers=None, content_type="application/json"):
        self.status, self.body, self.headers = status, body, dict(headers or {})
        self.content_type = content_type


class Request:
    """What a handler sees. query: name -> first value; query_all: name -> list."""

    def __init__(self, handler, groups, query_all):
        self.handler, self.headers, self.command = handler, handler.headers, handler.command
        self.groups = {k: urllib.parse.unquote(v) for k, v in groups.items() if v is not None}
        self.query_all = query_all
        self.query = {k: v[0] for k, v in query_all.items()}
        self.raw, self.body, self.rfile, self.length = b"", None, None, 0
        self.note = {}  # extra fields for the request log


def google_error_body(code, status, message):
    return {"error": {"code": code, "message": message, "status": status,
                      "errors": [{"message": message, "domain": "global",
                                  "reason": status.lower()}]}}


def read_body(handler):
    """The request body, Content-Length or chunked."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class ServiceHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    service, auth_mode, routes, bench = "?", "bearer", (), None

    def log_message(self, *_args):
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def dispatch(self):
        split = urllib.parse.urlsplit(self.path)
        self.entry = {"service": self.service, "method": self.command,
                      "path": urllib.parse.unquote(split.path), "query": split.query,
                      "auth": self.credential()}
        self.request_body_read = False
        try:
            request = self.route(split)
            self.answer(request.route.handler(request), request)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:  # noqa: BLE001 - every error is an answer
            if not all(hasattr(error, a) for a in ("code", "status", "message")):
                self.bench.log(f"{self.service}: {self.command} {self.path}: {error!r}")
                error = GoogleError(500, "INTERNAL", f"bench: {error!r}")
            if not self.request_body_read:
                self.close_connection = True  # the body was not read: cannot reuse
            self.send_json(error.code, google_error_body(error.code, error.status, error.message))

    def route(self, split):
        candidates = [(r, r.path.match(split.path)) for r in self.routes]
        candidates = [(r, m) for r, m in candidates if m]
        if not candidates:
            raise GoogleError(404, "NOT_FOUND", f"No route for {self.command} {split.path}")
        matching = [(r, m) for r, m in candidates if r.method == self.command]
        if not matching:
            raise GoogleError(405, "INVALID_ARGUMENT", f"Method {self.command} is not "
                              f"allowed on {split.path}")
        route, found = matching[0]
        request = Request(self, found.groupdict(), urllib.parse.parse_qs(
            split.query, keep_blank_values=True))
        request.route = route
        self.check_credential()
        self.bench.inject_status_fault(self.service)
        if route.stream:
            request.rfile = self.rfile
            request.length = int(self.headers.get("Content-Length") or 0)
            # The handler reads it; an error before that closes the connection.
        else:
            request.raw = read_body(self)
            self.request_body_read = True
            request.body = self.parse_json(request.raw)
        if request.body is not None and len(request.raw) <= LOGGED_BODY_MAX:
            self.entry["body"] = request.body
        if route.method_id is not None:
            self.bench.spec.check(route.method_id, request.query_all, request.body)
        self.entry["method_id"] = route.method_id
        return request

    def parse_json(self, raw):
        if not raw.strip() or "json" not in self.headers.get("Content-Type", "application/json"):
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise GoogleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.") \
                from None

    def credential(self):
        header = self.headers.get("Authorization", "")
        if not header:
            return "none"
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and self.bench.auth.valid(value.strip()):
            return "bearer"
        return "bad"

    def check_credential(self):
        if self.auth_mode == "metadata":
            if self.headers.get("Metadata-Flavor") != "Google":
                raise GoogleError(403, "PERMISSION_DENIED",
                                  "Missing required header: Metadata-Flavor: Google")
        elif self.auth_mode == "bearer" and self.entry["auth"] != "bearer":
            raise GoogleError(401, "UNAUTHENTICATED",
                              "Request had invalid authentication credentials. Expected OAuth "
                              "2 access token, login cookie or other valid authentication "
                              "credential.")

    def answer(self, result, request):
        if request is not None and request.note:
            self.entry.update(request.note)
        if isinstance(result, Response):
            body = result.body
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            return self.send_raw(result.status, body, result.content_type, result.headers)
        return self.send_json(200, {} if result is None else result)

    def send_json(self, status, body, headers=None):
        self.send_raw(status, json.dumps(body).encode(), "application/json; charset=UTF-8",
                      headers)

    def send_raw(self, status, data, content_type, headers=None):
        self.entry["status"] = status
        self.bench.record(self.entry)
        self.send_response(status, http.HTTPStatus(status).phrase
                           if status in http.HTTPStatus._value2member_map_ else "Status")
        if content_type:
            self.send_header("Content-Type", content_type)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(data)))
        for name, value in headers.items():
            for one in (value if isinstance(value, list) else [value]):
                self.send_header(name, one)
        if self.service == "metadata":
            self.send_header("Metadata-Flavor", "Google")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class ControlHandler(ServiceHandler):
    """The tests' port: no auth, JSON bodies, nothing recorded."""
    service, auth_mode = "control", "none"

    def dispatch(self):
        self.entry = {}
        name = urllib.parse.urlsplit(self.path).path.strip("/")
        try:
            raw = read_body(self)
            args = json.loads(raw) if raw.strip() else {}
            answer = self.bench.control(self.command, name, args)
            self.send_control(200, answer)
        except Exception as error:  # noqa: BLE001
            code = getattr(error, "code", 400)
            status = getattr(error, "status", "INVALID_ARGUMENT")
            self.send_control(code, google_error_body(code, status, str(error)))

    def send_control(self, status, body):
        data = json.dumps({} if body is None else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(bench, service, routes, auth_mode="bearer", handler_class=ServiceHandler, port=0):
    """A server for SERVICE on 127.0.0.1 (a free port unless PORT), in a thread."""
    handler = type(f"{service.title()}Handler", (handler_class,),
                   {"service": service, "routes": list(routes), "auth_mode": auth_mode,
                    "bench": bench})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
