"""The front of the Google bench's Docker registry: what Artifact Registry's
Docker endpoint (REGION-docker.pkg.dev) checks before a request reaches the
storage behind it, here a `docker-registry` that listens on a unix socket
only the front knows, so that nothing reaches it unchecked.

- GET /v2/token is the token service that the Bearer challenge names (as
  Artifact Registry's does): HTTP Basic with the user `oauth2accesstoken`
  (or `_dcgcloud_token`, gcloud's credential helper) and, as the password,
  an access token the bench issued that has not expired. It answers a
  registry token for the scopes asked (repository:NAME:pull,push), good
  while that access token is.
- Every other /v2/ request needs such a registry token (else 401 with the
  challenge), and one for a repository needs the scope of its action: pull
  for GET and HEAD, push for the rest.
- A repository path is PROJECT/REPO/IMAGE[/...] of a repository created
  through the REST API (google_bench_registry), or it is refused before
  anything is written, in Artifact Registry's words: `name unknown:
  Repository "REPO" not found` (404 NAME_UNKNOWN), `name invalid: Missing
  image name` (400 NAME_INVALID), a project not the bench's 403 DENIED.
- The rest is passed on, bodies streamed both ways (Content-Length or
  chunked), the Host header kept so that the registry's Location answers
  name the front."""
import base64
import http.client
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USERS = ("oauth2accesstoken", "_dcgcloud_token")
TOKEN_SECONDS = 3600
PIECE = 1 << 20
# Not passed on: they describe one connection, not the request.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "expect", "authorization"}
REPOSITORY_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>blobs|manifests|tags)(/|$)")
SCOPE = re.compile(r"^repository:(?P<name>[^:]+):(?P<actions>[a-z*,]+)$")


class RegistryError(Exception):
    """An answer in the Docker registry API's error shape."""

    def __init__(self, status, code, message, challenge=None):
        super().__init__(message)
        self.status, self.code, self.message, self.challenge = status, code, message, challenge


class UnixConnection(http.client.HTTPConnection):
    """HTTP to the registry behind the front, over its unix socket."""

    def __init__(self, path):
        super().__init__("localhost", timeout=600)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class Front:
    """The checks; FrontHandler speaks HTTP for them."""

    def __init__(self, registry, backend_socket):
        self.registry, self.backend_socket = registry, backend_socket
        self.lock = threading.Lock()
        self.tokens = {}  # registry token -> (access token, {name: {actions}}, expiry)
        self.server = None

    def start(self, port):
        handler = type("RegistryFrontHandler", (FrontHandler,), {"front": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.server.server_address[1]

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def challenge(self, scope=None):
        host = self.registry.host
        value = f'Bearer realm="http://{host}/v2/token",service="{host}"'
        return value + (f',scope="{scope}"' if scope else "")

    def issue(self, authorization, query):
        """The token service: Basic credentials in, a registry token out."""
        scheme, _, encoded = authorization.partition(" ")
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True) \
                .decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            user = password = ""
        if scheme.lower() != "basic" or user not in USERS or \
                not self.registry.bench.auth.valid(password):
            raise RegistryError(401, "UNAUTHORIZED", "Not Authorized.",
                                'Basic realm="google-bench-registry"')
        granted = {}
        for scope in query.get("scope", []):
            for one in scope.split(" "):
                found = SCOPE.match(one)
                if found:
                    actions = set(found["actions"].split(",")) & {"pull", "push"}
                    granted.setdefault(found["name"], set()).update(actions)
        token = "bench-registry-" + secrets.token_urlsafe(24)
        with self.lock:
            now = time.time()
            self.tokens = {t: v for t, v in self.tokens.items() if v[2] > now}
            self.tokens[token] = (password, granted, now + TOKEN_SECONDS)
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {"token": token, "access_token": token, "expires_in": TOKEN_SECONDS,
                "issued_at": issued}

    def check(self, method, path, authorization):
        """None, or the RegistryError that refuses this request."""
        found = REPOSITORY_PATH.match(path)
        name = found["name"] if found else None
        action = "pull" if method in ("GET", "HEAD") else "push"
        scope = f"repository:{name}:{'pull' if action == 'pull' else 'pull,push'}" \
            if name else None
        scheme, _, token = authorization.partition(" ")
        with self.lock:
            held = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if held is None or held[2] < time.time() or not self.registry.bench.auth.valid(held[0]):
            raise RegistryError(401, "UNAUTHORIZED", "authentication required",
                                self.challenge(scope))
        if path.rstrip("/") == "/v2":
            return None
        if name is None:
            raise RegistryError(404, "UNSUPPORTED", "The operation is unsupported.")
        problem = self.registry.repository_problem(name)
        if problem is not None:
            raise RegistryError(*problem)
        if action not in held[1].get(name, ()):
            raise RegistryError(401, "UNAUTHORIZED", "authentication required",
                                self.challenge(scope))
        return None


class FrontHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    front = None
    answering = False  # the registry's answer has begun: no other can follow

    def log_message(self, *_args):
        pass

    def do_GET(self):
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        entry = {"service": "registry", "method": self.command, "path": path}
        self.answering = False
        try:
            if path == "/v2/token" and self.command == "GET":
                answer = self.front.issue(self.headers.get("Authorization", ""),
                                          urllib.parse.parse_qs(split.query))
                entry["status"] = 200
                self.send_json(200, answer)
            else:
                self.front.check(self.command, path, self.headers.get("Authorization", ""))
                entry["status"] = self.forward()
        except RegistryError as error:
            entry["status"] = error.status
            self.refuse(error)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except (OSError, ValueError, http.client.HTTPException) as error:
            # A request it cannot frame, or the registry behind gone: an
            # answer, unless one has begun (then only the connection ends).
            self.close_connection = True
            if not self.answering:
                entry["status"] = 400 if isinstance(error, ValueError) else 503
                self.refuse(RegistryError(entry["status"], "UNSUPPORTED" if entry["status"] ==
                                          400 else "UNAVAILABLE", f"bench registry: {error}"))
        finally:
            self.front.registry.bench.record(entry)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def has_body(self):
        length = self.headers.get("Content-Length") or "0"
        return self.headers.get("Transfer-Encoding", "").lower() == "chunked" or \
            not length.isdigit() or int(length) > 0

    def refuse(self, error):
        headers = {"WWW-Authenticate": error.challenge} if error.challenge else {}
        if self.has_body():
            self.close_connection = True  # its body was not read: cannot reuse
        self.send_json(error.status, {"errors": [{"code": error.code, "message": error.message,
                                                  "detail": None}]}, headers)

    def send_json(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def forward(self):
        """Pass the request on to the registry and its answer back; its status."""
        upstream = UnixConnection(self.front.backend_socket)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True,
                                skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
            if chunked:
                upstream.putheader("Transfer-Encoding", "chunked")
            upstream.endheaders()
            if chunked:
                self.copy_chunked_request(upstream)
            else:
                self.copy_exactly(self.rfile, upstream.send,
                                  int(self.headers.get("Content-Length") or 0))
            response = upstream.getresponse()
            self.copy_response(response)
            return response.status
        finally:
            upstream.close()

    def copy_chunked_request(self, upstream):
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers: dropped
                upstream.send(b"0\r\n\r\n")
                return
            data = self.rfile.read(size)  # one chunk as one send: fewer calls
            if len(data) != size:
                raise ConnectionResetError("the body ended early")
            upstream.send(b"%x\r\n%s\r\n" % (size, data))
            self.rfile.readline()

    @staticmethod
    def copy_exactly(source, write, length):
        while length > 0:
            piece = source.read(min(PIECE, length))
            if not piece:
                raise ConnectionResetError("the body ended early")
            write(piece)
            length -= len(piece)

    def copy_response(self, response):
        self.answering = True
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        no_body = self.command == "HEAD" or response.status in (204, 304) or \
            response.status < 200
        length = response.getheader("Content-Length")
        if no_body or length is not None:
            self.end_headers()
            if not no_body:
                self.copy_exactly(response, self.wfile.write, int(length))
            return
        # Chunked or ended by the close: chunked to the client.
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while True:
            piece = response.read1(PIECE)
            if not piece:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")
