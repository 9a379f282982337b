#!/usr/bin/env python3
"""The test bench's Google Cloud: OAuth, the metadata server, Cloud Storage,
Vertex AI CustomJobs, Cloud Logging and Artifact Registry, each on its own
free port of 127.0.0.1 (tests/bench/google.sh starts it for the tests).

    google_bench.py --dir DIR --image IMAGE --project P [--registry-port N]
                    [--bucket B ...]

It writes test credentials into DIR/creds/, keeps buckets under
DIR/storage/BUCKET, prints ONE line of `name=port` pairs on stdout once every
service listens, logs to stderr, and on SIGTERM stops what its services
started (containers, the registry). Requests are validated against the
discovery documents in tests/data/google/.

A service module is google_bench_<name>.py with `routes(bench)` and optional
`start(bench)` / `stop(bench)`; SERVICES below says which port serves it."""
import argparse
import importlib
import os
import pathlib
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import google_bench_http as bench_http  # noqa: E402
from google_bench_spec import Spec  # noqa: E402

DATA = os.path.join(HERE, "..", "data", "google")
# (port name, module, its routes function, credential check); started in this
# order (logging before vertex: jobs write to the log store), stopped backwards.
SERVICES = (
    ("oauth", "google_bench_auth", "routes", "none"),
    ("metadata", "google_bench_auth", "metadata_routes", "metadata"),
    ("storage", "google_bench_storage", "routes", "bearer"),
    ("logging", "google_bench_logging", "routes", "bearer"),
    ("artifactregistry", "google_bench_registry", "routes", "bearer"),
    ("aiplatform", "google_bench_vertex", "routes", "bearer"),
)
PORT_ORDER = ("oauth", "metadata", "storage", "aiplatform", "logging", "artifactregistry",
              "registry", "control")


class Bench:
    def __init__(self, args):
        self.dir = os.path.abspath(args.dir)
        self.image, self.project = args.image, args.project
        self.registry_port = args.registry_port
        self.ports, self.faults, self.requests = {}, {}, []
        self.status_faults = []  # [code, count, service or None]
        self.lock = threading.RLock()
        self.controls = {}
        self.storage_root = pathlib.Path(self.dir) / "storage"
        for bucket in ["fahr-bench", *args.bucket]:
            (self.storage_root / bucket).mkdir(parents=True, exist_ok=True)
        self.spec = Spec(DATA)
        self.auth = None  # google_bench_auth.start sets it
        self.servers, self.modules = [], []

    @staticmethod
    def log(message):
        print(f"google_bench: {message}", file=sys.stderr, flush=True)

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)

    def add_control(self, name, fn):
        """POST /NAME on the control port calls fn(json_args) -> JSON answer."""
        self.controls[name] = fn

    def inject_status_fault(self, service):
        with self.lock:
            for fault in self.status_faults:
                if fault[2] in (None, service) and fault[1] > 0:
                    fault[1] -= 1
                    code = fault[0]
                    break
            else:
                return
            self.status_faults = [f for f in self.status_faults if f[1] > 0]
        raise bench_http.GoogleError(code, bench_http.STATUS_NAMES.get(code, "UNKNOWN"),
                                     f"bench: injected {code}")

    def control(self, command, name, args):
        if name == "requests" and command == "GET":
            with self.lock:
                return list(self.requests)
        if name == "requests" and command == "DELETE":
            with self.lock:
                self.requests.clear()
            return {}
        if name == "fault" and command == "POST":
            with self.lock:
                if "status" in args:
                    self.status_faults.append([int(args["status"]), int(args.get("count", 1)),
                                               args.get("service")])
                else:
                    self.faults.update(args)
            return {}
        if name == "expire_tokens" and command == "POST":
            self.auth.expire_all()  # the registry's front asks auth each time
            return {}
        if name in self.controls and command == "POST":
            return self.controls[name](args)
        raise bench_http.GoogleError(404, "NOT_FOUND", f"control: no {command} /{name}")

    def start(self):
        for service, module_name, routes_name, auth_mode in SERVICES:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as error:
                if error.name != module_name:
                    raise
                self.log(f"{module_name} is not here: no {service} service")
                continue
            if module not in self.modules:
                self.modules.append(module)
                if hasattr(module, "start"):
                    module.start(self)
            # Bound first: a module may need its own port (the token URI).
            server = bench_http.serve(self, service, (), auth_mode)
            self.servers.append(server)
            self.ports[service] = server.server_address[1]
            server.RequestHandlerClass.routes = list(getattr(module, routes_name)(self))
        control = bench_http.serve(self, "control", (), "none", bench_http.ControlHandler)
        self.servers.append(control)
        self.ports["control"] = control.server_address[1]

    def stop(self):
        for module in reversed(self.modules):
            if hasattr(module, "stop"):
                try:
                    module.stop(self)
                except Exception as error:  # noqa: BLE001 - stop the others anyway
                    self.log(f"stopping {module.__name__}: {error!r}")
        for server in self.servers:
            server.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--image", default="fahr-bench/python:3")
    parser.add_argument("--project", default="fahr-bench-project")
    parser.add_argument("--registry-port", type=int, default=None)
    parser.add_argument("--bucket", action="append", default=[])
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    bench = Bench(args)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    try:
        bench.start()
        print(" ".join(f"{name}={bench.ports[name]}" for name in PORT_ORDER
                       if name in bench.ports), flush=True)
        while not stopped.wait(1.0):
            pass
    finally:
        bench.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
