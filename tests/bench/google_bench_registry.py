"""Artifact Registry for the Google bench: the REST API (repositories get /
create / list, operations get) and the Docker registry behind it, a
`docker-registry` process (the reference distribution registry) on
127.0.0.1:PORT with htpasswd auth.

htpasswd is static, so the bench has ONE access-token value at a time
(google_bench's auth hands it out for every grant); set_token() rewrites
htpasswd (bcrypt, `htpasswd -B` from apache2-utils) for the users
`oauth2accesstoken` (what fahr and the docs use) and `_dcgcloud_token`
(gcloud's credential helper), and the registry re-reads the file when it
changes. A push needs the token the bench issued.

What is enforced about repositories: the registry itself takes a push to
any path; a job whose image is not HOST/PROJECT/REPO/... of a repository
created through the API fails at its pull, as Vertex's does on an image it
cannot pull."""
import json
import os
import re
import socket
import subprocess
import threading
import time
import uuid

import google_bench_filter as bench_filter
import google_bench_jobs
from google_bench_logging import GoogleError

REPO_ID = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
USERS = ("oauth2accesstoken", "_dcgcloud_token")
REPOSITORY_TYPE = "type.googleapis.com/google.devtools.artifactregistry.v1.Repository"
METADATA_TYPE = "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Registry:
    def __init__(self, bench, port=None):
        self.bench = bench
        self.dir = os.path.join(bench.dir, "registry")
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.repositories = {}  # (location, repo) -> Repository JSON
        self.operations = {}  # name -> Operation JSON
        self.token = None
        self.process = None
        self.docker_config = os.path.join(self.dir, "docker-config")

    # ---- the docker-registry process ----
    def start(self, token):
        os.makedirs(os.path.join(self.dir, "storage"), exist_ok=True)
        os.makedirs(self.docker_config, mode=0o700, exist_ok=True)
        self.set_token(token)
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
  addr: {self.host}
auth:
  htpasswd:
    realm: google-bench
    path: {self.dir}/htpasswd
""")
        log = open(os.path.join(self.dir, "registry.log"), "ab")
        self.process = subprocess.Popen(["docker-registry", "serve", config], stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited, see {self.dir}/registry.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"docker-registry did not listen on {self.host}")

    def set_token(self, token):
        """The one access token a push must use from now on."""
        lines = []
        for user in USERS:
            made = subprocess.run(["htpasswd", "-nbB", user, token], capture_output=True,
                                  text=True, check=True)
            lines.append(made.stdout.strip())
        scratch = os.path.join(self.dir, "htpasswd.new")
        with open(os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(scratch, os.path.join(self.dir, "htpasswd"))
        with self.lock:
            self.token = token

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def pull(self, image):
        """Pull IMAGE for a job; None, or why it cannot be pulled."""
        host, _, path = image.partition("/")
        parts = path.split("/")
        if host not in (self.host, f"localhost:{self.port}") or len(parts) < 3:
            return f"the image is not in this project's Artifact Registry ({self.host}/PROJECT/REPO/IMAGE)"
        project, repo = parts[0], parts[1]
        with self.lock:
            known = any(name == repo for (_, name) in self.repositories)
            token = self.token
        if project != self.bench.project or not known:
            return f"repository projects/{project}/repositories/{repo} not found"
        env = dict(os.environ, DOCKER_CONFIG=self.docker_config)
        login = subprocess.run(["docker", "login", "-u", USERS[0], "--password-stdin", self.host],
                               input=token, capture_output=True, text=True, env=env)
        if login.returncode != 0:
            return login.stderr.strip().splitlines()[-1] if login.stderr.strip() else "login failed"
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
    bench.registry.start(bench.auth.current_token())
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
