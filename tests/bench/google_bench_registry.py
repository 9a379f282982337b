"""Artifact Registry for the Google bench: the REST API (repositories get /
create / list, operations get) and the Docker registry, on 127.0.0.1:PORT.

The registry is a front (google_bench_registry_front.py) that checks what
Artifact Registry checks, each credential (Bearer tokens from its token
service, which takes an access token the bench issued as the password of
`oauth2accesstoken`) and each repository path (PROJECT/REPO/IMAGE of a
repository created through this API: a push into any other is refused at
once, in Artifact Registry's words), and passes the rest on to a
`docker-registry` process (the reference distribution registry) that
listens on a unix socket only the front knows.

A job's image is pulled through the same front, with the bench's current
access token: one whose image is not HOST/PROJECT/REPO/... of a created
repository fails at its pull, as Vertex's does on an image it cannot pull."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import google_bench_filter as bench_filter
import google_bench_jobs
from google_bench_registry_front import USERS, Front
from google_bench_logging import GoogleError

REPO_ID = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
REPOSITORY_TYPE = "type.googleapis.com/google.devtools.artifactregistry.v1.Repository"
METADATA_TYPE = "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata"


class Registry:
    def __init__(self, bench, port=None):
        self.bench = bench
        self.dir = os.path.join(bench.dir, "registry")
        self.port = port or 0
        self.host = None
        self.lock = threading.Lock()
        self.repositories = {}  # (location, repo) -> Repository JSON
        self.operations = {}  # name -> Operation JSON
        self.process = None
        self.front = None
        self.short_dir = None  # where the socket is when self.dir is too deep for one
        self.docker_config = os.path.join(self.dir, "docker-config")

    # ---- the docker-registry process behind the front ----
    def start(self):
        os.makedirs(os.path.join(self.dir, "storage"), exist_ok=True)
        os.makedirs(self.docker_config, mode=0o700, exist_ok=True)
        backend = os.path.join(self.dir, "backend.sock")
        if len(backend) > 100:  # past a unix socket's path limit: a short folder
            self.short_dir = tempfile.mkdtemp(prefix="google-bench-registry.")
            backend = os.path.join(self.short_dir, "backend.sock")
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {self.dir}/storage
  delete:
    enabled: true
http:
  net: unix
  addr: {backend}
""")
        log = open(os.path.join(self.dir, "registry.log"), "ab")
        self.process = subprocess.Popen(["docker-registry", "serve", config], stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited, see {self.dir}/registry.log")
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                    probe.connect(backend)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"docker-registry did not listen on {backend}")
        self.front = Front(self, backend)
        self.port = self.front.start(self.port)
        self.host = f"127.0.0.1:{self.port}"

    def stop(self):
        if self.front is not None:
            self.front.stop()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.short_dir is not None:
            shutil.rmtree(self.short_dir, ignore_errors=True)

    def repository_problem(self, name):
        """None if NAME (PROJECT/REPO/IMAGE...) is in a repository created
        through the API, else (HTTP status, registry error code, message) as
        Artifact Registry's Docker endpoint answers."""
        parts = name.split("/")
        if len(parts) < 3:
            return 400, "NAME_INVALID", "Missing image name"
        project, repo = parts[0], parts[1]
        if project != self.bench.project:
            return 403, "DENIED", (f'Permission "artifactregistry.repositories.downloadArtifacts"'
                                   f' denied on resource "projects/{project}/locations/-/'
                                   f'repositories/{repo}" (or it may not exist)')
        with self.lock:
            known = any(r == repo for (_, r) in self.repositories)
        return None if known else (404, "NAME_UNKNOWN", f'Repository "{repo}" not found')

    def pull(self, image):
        """Pull IMAGE for a job; None, or why it cannot be pulled."""
        host, _, path = image.partition("/")
        name = re.sub(r":[^/]*$", "", path.split("@", 1)[0])  # without :TAG or @DIGEST
        if host not in (self.host, f"localhost:{self.port}"):
            return (f"the image is not in this project's Artifact Registry "
                    f"({self.host}/PROJECT/REPO/IMAGE)")
        problem = self.repository_problem(name)
        if problem is not None:
            return f"{problem[1].lower().replace('_', ' ')}: {problem[2]}"
        env = dict(os.environ, DOCKER_CONFIG=self.docker_config)
        login = subprocess.run(["docker", "login", "-u", USERS[0], "--password-stdin", self.host],
                               input=self.bench.auth.current_token(), capture_output=True,
                               text=True, env=env)
        if login.returncode != 0:
            lines = login.stderr.strip().splitlines()
            return lines[-1] if lines else "login failed"
        pulled = subprocess.run(["docker", "pull", "-q", image], capture_output=True, text=True,
                                env=env)
        if pulled.returncode != 0:
            lines = pulled.stderr.strip().splitlines()
            return lines[-1] if lines else f"docker pull exited with {pulled.returncode}"
        return None

    # ---- the REST API ----
    def check_project(self, project):
        if project not in (self.bench.project, str(self.bench.project_number)):
            raise GoogleError(403, "PERMISSION_DENIED", f"Permission denied on resource "
                              f"project {project}.")

    def get_repository(self, project, location, repo):
        self.check_project(project)
        with self.lock:
            found = self.repositories.get((location, repo))
        if found is None:
            raise GoogleError(404, "NOT_FOUND", "Requested entity was not found.")
        return found

    def create_repository(self, project, location, query, body):
        self.check_project(project)
        repo = query.get("repositoryId", "")
        if not REPO_ID.fullmatch(repo):
            raise GoogleError(400, "INVALID_ARGUMENT", f"Invalid repository id {repo!r}: "
                              "it must match ^[a-z]([a-z0-9-]*[a-z0-9])?$")
        if body.get("format") in (None, "FORMAT_UNSPECIFIED"):
            raise GoogleError(400, "INVALID_ARGUMENT", "repository format must be specified")
        stamp = bench_filter.format_time(time.time_ns())
        parent = f"projects/{self.bench.project}/locations/{location}"
        repository = dict(body, name=f"{parent}/repositories/{repo}", createTime=stamp,
                          updateTime=stamp, mode=body.get("mode", "STANDARD_REPOSITORY"))
        operation = {"name": f"{parent}/operations/{uuid.uuid4()}", "done": True,
                     "metadata": {"@type": METADATA_TYPE},
                     "response": dict(repository, **{"@type": REPOSITORY_TYPE})}
        with self.lock:
            if (location, repo) in self.repositories:
                raise GoogleError(409, "ALREADY_EXISTS", "the repository already exists")
            self.repositories[(location, repo)] = repository
            self.operations[operation["name"]] = operation
        return operation

    def list_repositories(self, project, location, query):
        self.check_project(project)
        size = max(1, min(int(query.get("pageSize") or 1000), 1000))
        with self.lock:
            names = sorted(r for (l, r) in self.repositories if l == location)
            start = names.index(query["pageToken"]) if query.get("pageToken") in names else 0
            if query.get("pageToken") and query["pageToken"] not in names:
                raise GoogleError(400, "INVALID_ARGUMENT", "invalid page token")
            page = [self.repositories[(location, r)] for r in names[start:start + size]]
            answer = {"repositories": json.loads(json.dumps(page))} if page else {}
            if start + size < len(names):
                answer["nextPageToken"] = names[start + size]
        return answer

    def get_operation(self, project, location, operation_id):
        self.check_project(project)
        name = f"projects/{self.bench.project}/locations/{location}/operations/{operation_id}"
        with self.lock:
            found = self.operations.get(name)
        if found is None:
            raise GoogleError(404, "NOT_FOUND", "Requested entity was not found.")
        return found


# ---- the service (google_bench_http's framework) ----
AR_PARENT = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
AR_METHOD = "artifactregistry.projects.locations."


def start(bench):
    google_bench_jobs.project_number(bench)
    bench.registry = Registry(bench, getattr(bench, "registry_port", None))
    bench.registry.start()
    bench.ports["registry"] = bench.registry.port


def stop(bench):
    bench.registry.stop()


def routes(bench):
    from google_bench_http import Route
    registry = bench.registry

    def where(request):
        return request.groups["project"], request.groups["location"]

    return [
        Route("GET", AR_PARENT + r"/repositories/(?P<repo>[^/]+)$",
              AR_METHOD + "repositories.get",
              lambda request: registry.get_repository(*where(request), request.groups["repo"])),
        Route("POST", AR_PARENT + r"/repositories$", AR_METHOD + "repositories.create",
              lambda request: registry.create_repository(*where(request), request.query,
                                                         request.body or {})),
        Route("GET", AR_PARENT + r"/repositories$", AR_METHOD + "repositories.list",
              lambda request: registry.list_repositories(*where(request), request.query)),
        Route("GET", AR_PARENT + r"/operations/(?P<operation>[^/]+)$",
              AR_METHOD + "operations.get",
              lambda request: registry.get_operation(*where(request),
                                                     request.groups["operation"])),
    ]
