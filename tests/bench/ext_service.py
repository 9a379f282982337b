#!/usr/bin/env python3
"""A pretend training service for the two third-party example drivers
(tests/fixtures/thirdparty), used by tests/integration/thirdparty_test.sh.

usage: ext_service.py TOKEN [STEPS]

Listens on 127.0.0.1 on a free port and prints the port on its first line of
stdout. Every request needs "Authorization: Bearer TOKEN" (else 401). Jobs
run nothing: each GET /jobs/ID moves its job one step on (PENDING, then
STEPS steps of RUNNING, default 4, then COMPLETED), so a test decides how far
a job has got by how often it asks.

The JSON API (bodies and answers are JSON unless said otherwise):
  POST /jobs                     submit. {"name", "image_name", "kind":
                                 "source"|"image", "source": {"file", "text"}
                                 (source) or "image": {"reference", "digest"}
                                 (image), "hyperparameters": {...}}. The name
                                 is the job's id: the same body again answers
                                 200 with the same job (so a retried POST is
                                 safe), another body under that name 409; a
                                 new job 201
  GET  /jobs/ID                  the job: id, kind, image_name, state, detail,
                                 failure_reason, created, retry_after_ms, and
                                 once COMPLETED "outputs" [{name, size}]
                                 (source) or "model_url" (image)
  GET  /jobs/ID/logs?pageToken=T up to 2 lines after T: {"lines",
                                 "nextPageToken"}; no token: from the start
  POST /jobs/ID:cancel           stop a job (409 if it has completed or failed)
  GET  /jobs?image=NAME          {"jobs": [{id, state, created, detail}]},
                                 oldest first; all jobs without image
  GET  /jobs/ID/output/NAME      one output file of a source job, as bytes
  GET  /jobs/ID/model.tar.gz     an image job's model, a tar.gz
Control, for the tests:
  POST /control/fail-next        {"reason"}: the next job submitted fails
  POST /control/unavailable      {"count"}: answer that many requests 503
  POST /control/break-download   the next output or model sent breaks off
                                 after half its bytes (the connection closed)
  GET  /control/requests         ["METHOD PATH STATUS", ...] served so far
Errors are {"error": "..."} with 400, 401, 404 or 409.
"""
import base64
import hashlib
import io
import json
import re
import sys
import tarfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = sys.argv[1]
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
NAME = re.compile(r"^[A-Za-z0-9-]{1,128}$")
ENDED = ("COMPLETED", "FAILED", "STOPPED")
PAGE = 2

lock = threading.Lock()
jobs = {}        # id -> job (a dict)
fail_next = []   # reasons for the next jobs submitted
unavailable = [0]
break_download = [False]
served = []


class Failure(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def page_token(offset):
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def page_offset(token):
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["o"]
    except Exception:
        raise Failure(400, "bad pageToken")
    if not isinstance(offset, int) or offset < 0:
        raise Failure(400, "bad pageToken")
    return offset


def weights(job_id):
    """256 KiB that differ per job, so a model spans many reads."""
    out, block = bytearray(), job_id.encode()
    while len(out) < 256 * 1024:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out)


def model_archive(job):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        for name, body in (("model.json", json.dumps({
                "job": job["id"], "image": job["image"]["reference"],
                "digest": job["image"]["digest"],
                "hyperparameters": job["hyperparameters"]}, sort_keys=True).encode()),
                ("weights/w.bin", weights(job["id"]))):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(body), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(body))
    return data.getvalue()


def source_outputs(job):
    text = job["source"]["text"].encode()
    result = {"job": job["id"], "hyperparameters": job["hyperparameters"],
              "source_sha256": hashlib.sha256(text).hexdigest()}
    return {"result.json": json.dumps(result, sort_keys=True).encode(),
            "source/" + job["source"]["file"]: text}


def finish(job):
    if job["fail"]:
        job["state"], job["failure_reason"] = "FAILED", job["fail"]
        job["logs"].append("error: " + job["fail"])
        return
    job["state"], job["detail"] = "COMPLETED", "done"
    if job["kind"] == "source":
        job["outputs"] = source_outputs(job)
    else:
        job["model"] = model_archive(job)
    job["logs"].append("model saved")


def advance(job):
    """One poll's worth of progress."""
    if job["state"] == "PENDING":
        job["state"], job["detail"] = "RUNNING", "training"
        what = job["source"]["file"] if job["kind"] == "source" else job["image"]["reference"]
        job["logs"].append("running " + what)
    elif job["state"] == "RUNNING":
        job["step"] += 1
        job["logs"].append(f"step {job['step']}/{STEPS}")
        if job["step"] >= STEPS:
            finish(job)


def view(job, host):
    out = {k: job[k] for k in ("id", "kind", "image_name", "state", "detail",
                               "failure_reason", "created")}
    out["retry_after_ms"] = {"PENDING": 300, "RUNNING": 100}.get(job["state"], 0)
    if "outputs" in job:
        out["outputs"] = [{"name": n, "size": len(b)} for n, b in sorted(job["outputs"].items())]
    if "model" in job:
        out["model_url"] = f"http://{host}/jobs/{job['id']}/model.tar.gz"
    return out


def submit(body):
    name, kind = body.get("name"), body.get("kind")
    if not isinstance(name, str) or not NAME.match(name):
        raise Failure(400, "name must be 1 to 128 letters, digits or '-'")
    if kind not in ("source", "image") or not isinstance(body.get(kind), dict):
        raise Failure(400, "kind must be source or image, with its object")
    if not isinstance(body.get("hyperparameters", {}), dict):
        raise Failure(400, "hyperparameters must be an object")
    if name in jobs:
        if jobs[name]["request"] != body:
            raise Failure(409, f"a job named {name} exists")
        return 200, jobs[name]
    jobs[name] = job = {
        "id": name, "kind": kind, "image_name": body.get("image_name", ""),
        "state": "PENDING", "detail": "queued", "failure_reason": "",
        "created": int(time.time()), "step": 0, "request": body, "logs": ["queued"],
        "source": body.get("source"), "image": body.get("image"),
        "hyperparameters": body.get("hyperparameters", {}),
        "fail": fail_next.pop(0) if fail_next else ""}
    return 201, job


def cancel(job):
    if job["state"] == "STOPPED":
        return job  # a retried cancel is answered as the first was
    if job["state"] in ENDED:
        raise Failure(409, f"job {job['id']} already {job['state'].lower()}")
    job["state"], job["failure_reason"] = "STOPPED", "stopped by the user"
    job["logs"].append("stop requested")
    return job


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the host reuses connections

    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with lock:
            broken = break_download[0] and content_type == "application/octet-stream"
            break_download[0] = break_download[0] and not broken
        if broken:
            self.wfile.write(body[:len(body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(body)
        served.append(f"{self.command} {urllib.parse.urlsplit(self.path).path} {status}")

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise Failure(400, "the body is not JSON")

    def handle_any(self):
        try:
            with lock:
                status, answer = self.route()
            if isinstance(answer, bytes):
                self.send(status, answer, "application/octet-stream")
            else:
                self.send(status, answer)
        except Failure as failure:
            self.send(failure.status, {"error": str(failure)})

    do_GET = do_POST = handle_any

    def job(self, job_id):
        if job_id not in jobs:
            raise Failure(404, f"no job {job_id}")
        return jobs[job_id]

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        method, host = self.command, self.headers.get("Host", "")
        if method == "GET" and path == "/control/requests":
            return 200, list(served)
        if unavailable[0] > 0:
            unavailable[0] -= 1
            raise Failure(503, "try again")
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            raise Failure(401, "bad or missing token")
        if method == "POST" and path == "/control/fail-next":
            fail_next.append(self.body().get("reason", "told to fail"))
            return 200, {}
        if method == "POST" and path == "/control/break-download":
            break_download[0] = True
            return 200, {}
        if method == "POST" and path == "/control/unavailable":
            unavailable[0] = int(self.body().get("count", 1))
            return 200, {}
        if method == "POST" and path == "/jobs":
            status, job = submit(self.body())
            return status, view(job, host)
        if method == "GET" and path == "/jobs":
            image = query.get("image", [None])[0]
            return 200, {"jobs": [{k: j[k] for k in ("id", "state", "created", "detail")}
                                  for j in jobs.values()
                                  if image is None or j["image_name"] == image]}
        match = re.match(r"^/jobs/([^/:]+)(:cancel|/logs|/model\.tar\.gz|/output/(.+))?$", path)
        if match is None:
            raise Failure(404, "no such resource")
        job, part = self.job(urllib.parse.unquote(match.group(1))), match.group(2)
        if method == "POST" and part == ":cancel":
            return 200, view(cancel(job), host)
        if method != "GET":
            raise Failure(404, f"no {method} on {path}")
        if part is None:
            advance(job)
            return 200, view(job, host)
        if part == "/logs":
            offset = page_offset(query.get("pageToken", [""])[0])
            lines = job["logs"][offset:offset + PAGE]
            return 200, {"lines": lines, "nextPageToken": page_token(offset + len(lines))}
        if part == "/model.tar.gz" and "model" in job:
            return 200, job["model"]
        output = urllib.parse.unquote(match.group(3) or "")
        if output in job.get("outputs", {}):
            return 200, job["outputs"][output]
        raise Failure(404, f"job {job['id']} has no {part[1:]}")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
