#!/usr/bin/env python3
"""The Google bench's jobs checked from outside (meson test
'google_bench_jobs'): Artifact Registry and its registry (Bearer tokens,
pushes only into repositories made through the API),
Vertex CustomJobs that really run, Cloud Logging's entries:list, with raw
HTTP (urllib) and the docker CLI; then gcloud ai custom-jobs against the
bench, the real client (skipped with the reason where gcloud is missing).
Starts the Docker bench (tests/bench/docker.sh) and the Google bench
(tests/bench/google.sh), prints TAP."""
import base64
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = {}
STATE = {}
REGION = "us-central1"
BUCKET = "fahr-bench"
TERMINAL = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED")

JOB_SCRIPT = r"""
import os, sys, time
for n in range(int(os.environ.get("JOB_LINES", "0"))):
    print(f"line {n:03d}", flush=True)
print("a line on stderr", file=sys.stderr, flush=True)
if os.environ.get("JOB_SLEEP"):
    print("sleeping", flush=True)
    time.sleep(float(os.environ["JOB_SLEEP"]))
model = os.environ["AIP_MODEL_DIR"]
assert model.startswith("gs://"), model
local = "/gcs/" + model[len("gs://"):]
os.makedirs(os.path.join(local, "sub"), exist_ok=True)
with open(os.path.join(local, "model.txt"), "w") as f:
    f.write(" ".join(sys.argv[1:]) + " " + os.environ["CLOUD_ML_JOB_ID"] + " "
            + os.environ.get("FAHR_HYPERPARAMETERS", "") + "\n")
with open(os.path.join(local, "sub", "weights.bin"), "wb") as f:
    f.write(bytes(range(256)) * 4)
code = int(os.environ.get("JOB_EXIT", "0"))
if code:
    os.makedirs("/opt/ml/output", exist_ok=True)
    with open("/opt/ml/output/failure", "w") as f:
        f.write("ValueError: the bench asked for a failure")
    sys.exit(code)
"""


def start_benches(tmp):
    started = subprocess.run([os.path.join(HERE, "docker.sh"), "start"], check=True,
                             capture_output=True, text=True).stdout
    for line in started.splitlines():
        if line.startswith("export DOCKER_HOST="):
            os.environ["DOCKER_HOST"] = line.split("=", 1)[1]
    subprocess.run([os.path.join(HERE, "docker.sh"), "image"], check=True)
    subprocess.run([os.path.join(HERE, "google.sh"), "start", os.path.join(tmp, "bench")],
                   check=True)
    with open(os.path.join(tmp, "bench", "env"), encoding="utf-8") as f:
        for line in f:
            name, _, value = line.strip()[len("export "):].partition("=")
            ENV[name] = value.strip("'\"")
    with open(os.path.join(ENV["FAHR_BENCH_GOOGLE_CREDS"], "access_token"),
              encoding="utf-8") as f:
        STATE["token"] = f.read().strip()
    STATE["tmp"] = tmp
    STATE["docker_config"] = os.path.join(tmp, "docker-config")


def fetch(method, url, body=None, token=None):
    """(status, parsed JSON or raw bytes) of one request; errors are answers too."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", "Bearer " + (token or STATE["token"]))
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else {}
    except ValueError:
        return status, raw


def api(name, path):
    return ENV[f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{name}"].rstrip("/") + "/" + path


def control(name, body):
    status, answer = fetch("POST", f"{ENV['FAHR_BENCH_GOOGLE_CONTROL']}/{name}", body)
    assert status == 200, (name, status, answer)


def parent():
    return f"v1/projects/{ENV['FAHR_BENCH_GOOGLE_PROJECT']}/locations/{REGION}"


def docker(*args, stdin=None):
    env = dict(os.environ, DOCKER_CONFIG=STATE["docker_config"])
    return subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True,
                          env=env)


def login(password):
    return docker("login", "-u", "oauth2accesstoken", "--password-stdin",
                  ENV["FAHR_BENCH_GOOGLE_REGISTRY"], stdin=password)


def create_job(name, env, labels=None, image=None, timeout=None):
    spec = {"displayName": name, "labels": labels or {"fahr": "1"},
            "jobSpec": {"workerPoolSpecs": [{
                "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1",
                "containerSpec": {"imageUri": image or STATE["image"], "args": ["train"],
                                  "env": [{"name": k, "value": v} for k, v in env.items()]}}],
                "baseOutputDirectory": {"outputUriPrefix": f"gs://{BUCKET}/out/{name}"}}}
    if timeout:
        spec["jobSpec"]["scheduling"] = {"timeout": timeout}
    status, job = fetch("POST", api("AIPLATFORM", parent() + "/customJobs"), spec)
    assert status == 200, (status, job)
    assert job["state"] == "JOB_STATE_QUEUED" and job["displayName"] == name, job
    return job


def job_id(job):
    return job["name"].rsplit("/", 1)[1]


def get_job(job):
    status, answer = fetch("GET", api("AIPLATFORM", "v1/" + job["name"]))
    assert status == 200, (status, answer)
    return answer


def wait_job(job, wanted=TERMINAL, seconds=180):
    seen, deadline = [], time.time() + seconds
    while time.time() < deadline:
        answer = get_job(job)
        if not seen or seen[-1] != answer["state"]:
            seen.append(answer["state"])
        if answer["state"] in wanted:
            return answer, seen
        time.sleep(0.1)
    raise AssertionError(f"{job['name']}: still {seen} after {seconds} s")


def log_pages(ident, page_size, extra=""):
    body_filter = f'resource.type="ml_job" AND resource.labels.job_id="{ident}"' + extra
    pages, token = [], None
    while True:
        body = {"resourceNames": [f"projects/{ENV['FAHR_BENCH_GOOGLE_PROJECT']}"],
                "filter": body_filter, "orderBy": "timestamp asc", "pageSize": page_size}
        if token:
            body["pageToken"] = token
        status, answer = fetch("POST", api("LOGGING", "v2/entries:list"), body)
        assert status == 200, (status, answer)
        pages.append(answer.get("entries", []))
        token = answer.get("nextPageToken")
        if not token:
            return pages


# ---- the tests ----
def test_repository_and_token_protected_push():
    registry, project = ENV["FAHR_BENCH_GOOGLE_REGISTRY"], ENV["FAHR_BENCH_GOOGLE_PROJECT"]
    build = os.path.join(STATE["tmp"], "image")
    os.makedirs(build)
    with open(os.path.join(build, "job.py"), "w", encoding="utf-8") as f:
        f.write(JOB_SCRIPT)
    with open(os.path.join(build, "Dockerfile"), "w", encoding="utf-8") as f:
        image = os.environ.get("FAHR_BENCH_IMAGE", "fahr-bench/python:3")
        f.write(f'FROM {image}\nCOPY job.py /job.py\nENTRYPOINT ["python3", "/job.py"]\n')
    STATE["image"] = f"{registry}/{project}/fahr/selftest:1"
    built = docker("build", "-q", "-t", STATE["image"], build)
    assert built.returncode == 0, built.stderr
    refused = login("not-the-token")
    assert refused.returncode != 0, "the registry took a password the bench never issued"
    assert login(STATE["token"]).returncode == 0, "the bench's token was refused"
    # Before the repository is made through the API, Artifact Registry
    # refuses the push itself, not the job's later pull.
    early = docker("push", "-q", STATE["image"])
    assert early.returncode != 0, "a push into a repository never created was taken"
    assert 'name unknown: Repository "fahr" not found' in early.stderr, early.stderr
    stored = os.path.join(STATE["tmp"], "bench", "work", "registry", "storage", "docker",
                          "registry", "v2", "repositories", project)
    assert not os.path.exists(os.path.join(stored, "fahr")), "the refused push wrote layers"
    repo_url = api("ARTIFACTREGISTRY", parent() + "/repositories")
    status, answer = fetch("GET", repo_url + "/fahr")
    assert status == 404 and answer["error"]["status"] == "NOT_FOUND", (status, answer)
    status, operation = fetch("POST", repo_url + "?repositoryId=fahr", {"format": "DOCKER"})
    assert status == 200 and operation["done"] is True, (status, operation)
    assert operation["response"]["name"].endswith("/repositories/fahr"), operation
    status, again = fetch("GET", api("ARTIFACTREGISTRY", "v1/" + operation["name"]))
    assert status == 200 and again["done"] is True, (status, again)
    status, answer = fetch("POST", repo_url + "?repositoryId=fahr", {"format": "DOCKER"})
    assert status == 409, (status, answer)
    status, answer = fetch("GET", repo_url + "/fahr")
    assert status == 200 and answer["format"] == "DOCKER", (status, answer)
    status, answer = fetch("GET", repo_url)
    assert [r["name"].rsplit("/", 1)[1] for r in answer["repositories"]] == ["fahr"], answer
    pushed = docker("push", "-q", STATE["image"])
    assert pushed.returncode == 0, pushed.stderr
    assert os.path.isdir(os.path.join(stored, "fahr", "selftest")), "pushed where?"
    docker("rmi", STATE["image"])  # the job must pull it from the registry


def registry_call(method, path, authorization=None):
    """(status, headers, parsed JSON) of one request to the bench's registry."""
    request = urllib.request.Request(f"http://{ENV['FAHR_BENCH_GOOGLE_REGISTRY']}{path}",
                                     method=method, data=b"" if method == "POST" else None)
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            status, headers, raw = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    return status, headers, json.loads(raw) if raw.strip() else {}


def registry_token(password, *scopes, user="oauth2accesstoken"):
    """(status, answer) of the registry's token service for SCOPES."""
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    query = urllib.parse.urlencode([("service", ENV["FAHR_BENCH_GOOGLE_REGISTRY"])] +
                                   [("scope", scope) for scope in scopes])
    status, _, answer = registry_call("GET", "/v2/token?" + query, "Basic " + basic)
    return status, answer


def test_registry_token_service():
    host, project = ENV["FAHR_BENCH_GOOGLE_REGISTRY"], ENV["FAHR_BENCH_GOOGLE_PROJECT"]
    status, headers, answer = registry_call("GET", "/v2/")
    assert status == 401 and answer["errors"][0]["code"] == "UNAUTHORIZED", (status, answer)
    assert headers["WWW-Authenticate"].startswith(
        f'Bearer realm="http://{host}/v2/token",service="{host}"'), headers
    for password, user in (("not-the-token", "oauth2accesstoken"),
                           (STATE["token"], "someone")):
        status, answer = registry_token(password, user=user)
        assert status == 401 and answer["errors"][0]["code"] == "UNAUTHORIZED", (status, answer)
    image = f"{project}/fahr/selftest"
    status, answer = registry_token(STATE["token"], f"repository:{image}:pull")
    assert status == 200 and answer["expires_in"] >= 60, (status, answer)
    pull = "Bearer " + answer["token"]
    assert registry_call("GET", "/v2/", pull)[0] == 200
    status, _, answer = registry_call("GET", f"/v2/{image}/tags/list", pull)
    assert status == 200 and answer["tags"] == ["1"], (status, answer)
    status, _, answer = registry_call("POST", f"/v2/{image}/blobs/uploads/", pull)
    assert status == 401, ("a pull token pushed", status, answer)
    status, _, answer = registry_call("GET", f"/v2/{project}/other/image/tags/list", pull)
    assert status == 404 and answer["errors"][0] == {
        "code": "NAME_UNKNOWN", "message": 'Repository "other" not found', "detail": None}, answer
    scopes = [f"repository:{name}:push,pull" for name in
              (image, f"{project}/other/image", f"{project}/fahr", "elsewhere/fahr/image")]
    status, answer = registry_token(STATE["token"], *scopes)
    push = "Bearer " + answer["token"]
    for name, code, wanted in ((f"{project}/other/image", 404, "NAME_UNKNOWN"),
                               (f"{project}/fahr", 400, "NAME_INVALID"),
                               ("elsewhere/fahr/image", 403, "DENIED")):
        status, _, answer = registry_call("POST", f"/v2/{name}/blobs/uploads/", push)
        assert status == code and answer["errors"][0]["code"] == wanted, (name, status, answer)
    status, headers, _ = registry_call("POST", f"/v2/{image}/blobs/uploads/", push)
    assert status == 202 and headers["Location"].startswith(f"http://{host}/v2/{image}/"), \
        (status, dict(headers))
    # Hostile framing is answered, and the front goes on serving.
    with socket.create_connection(tuple(host.rsplit(":", 1)), timeout=30) as raw:
        raw.sendall(f"POST /v2/{image}/blobs/uploads/ HTTP/1.1\r\nHost: {host}\r\n"
                    f"Authorization: {push}\r\nContent-Length: x\r\n\r\n".encode())
        assert raw.recv(100).startswith(b"HTTP/1.1 400 "), "a bad Content-Length"
    upload = urllib.parse.urlsplit(headers["Location"])
    status, _, _ = registry_call("DELETE", f"{upload.path}?{upload.query}", push)
    assert status == 204, status
    STATE["registry_token"] = pull


def test_job_succeeds_with_model_and_paged_logs():
    job = create_job("succeeds", {"JOB_LINES": "40", "FAHR_HYPERPARAMETERS": '{"a":1}'},
                     labels={"fahr": "1", "fahr-image": "selftest"})
    done, seen = wait_job(job)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    assert "JOB_STATE_RUNNING" in seen and "error" not in done, seen
    assert done["startTime"] <= done["endTime"], done
    STATE["succeeded_at"] = time.time()
    STATE["succeeded"] = job  # the later tests use it whatever fails below
    prefix = "out/succeeds/model/"
    status, listing = fetch("GET", api("STORAGE", f"b/{BUCKET}/o?prefix=" +
                                       urllib.parse.quote(prefix, safe="")))
    assert status == 200, (status, listing)
    names = sorted(item["name"] for item in listing.get("items", []))
    assert names == [prefix + "model.txt", prefix + "sub/weights.bin"], names
    status, text = fetch("GET", api("STORAGE", f"b/{BUCKET}/o/" +
                                    urllib.parse.quote(prefix + "model.txt", safe="") +
                                    "?alt=media"))
    assert status == 200 and text == b"train " + job_id(job).encode() + b' {"a":1}\n', text
    pages = log_pages(job_id(job), 7)
    lines = [entry["textPayload"] for page in pages for entry in page]
    stdout = [line for line in lines if line.startswith("line ")]
    assert stdout == [f"line {n:03d}" for n in range(40)], lines
    assert len(pages) >= 6 and all(len(page) <= 7 for page in pages), [len(p) for p in pages]
    entries = [entry for page in pages for entry in page]
    keys = [(e["timestamp"], e["insertId"]) for e in entries]
    assert keys == sorted(keys) and len(set(keys)) == len(keys), keys
    stderr = [e for e in entries if e["textPayload"] == "a line on stderr"]
    assert len(stderr) == 1 and stderr[0]["severity"] == "ERROR", stderr
    # stdout and stderr are two pipes: where the stderr line falls among the
    # stdout lines is not defined, as on Vertex.
    first = next(e for e in entries if e["textPayload"] == "line 000")
    assert first["severity"] == "INFO", first
    assert first["resource"] == {"type": "ml_job", "labels": {
        "job_id": job_id(job), "task_name": "workerpool0-0",
        "project_id": ENV["FAHR_BENCH_GOOGLE_PROJECT"]}}, first


def test_log_continuation_and_order():
    ident = job_id(STATE["succeeded"])
    every = [e for page in log_pages(ident, 1000) for e in page]
    # Find an entry that shares its timestamp with the next one: the bench
    # stamps at millisecond resolution, so a burst of 40 lines has some.
    tied = next((i for i in range(len(every) - 1)
                 if every[i]["timestamp"] == every[i + 1]["timestamp"]), None)
    assert tied is not None, "no two entries share a timestamp: the tie test proves nothing"
    cut = every[tied]
    rest = [e for page in log_pages(
        ident, 5, f' AND (timestamp="{cut["timestamp"]}" AND insertId>"{cut["insertId"]}")'
        f' OR timestamp>"{cut["timestamp"]}"') for e in page]
    assert rest == every[tied + 1:], ([e["insertId"] for e in rest], cut)
    # The same instant written with another offset selects the same entries.
    instant = datetime.datetime.fromisoformat(cut["timestamp"][:23] + "+00:00")
    shifted = instant.astimezone(datetime.timezone(datetime.timedelta(hours=1))).isoformat()
    since = [e for page in log_pages(ident, 50, f' AND timestamp>="{shifted}"') for e in page]
    assert since == every[tied:], (shifted, [e["insertId"] for e in since])
    newest = log_pages(ident, 3)[0]
    body = {"resourceNames": [f"projects/{ENV['FAHR_BENCH_GOOGLE_PROJECT']}"],
            "filter": f'resource.labels.job_id="{ident}"', "orderBy": "timestamp desc",
            "pageSize": 3}
    status, answer = fetch("POST", api("LOGGING", "v2/entries:list"), body)
    assert status == 200 and answer["entries"] == every[::-1][:3], answer
    assert newest == every[:3], newest
    body["filter"] = 'resource.labels.job_id="' + ident + '" AND ('
    status, answer = fetch("POST", api("LOGGING", "v2/entries:list"), body)
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT", answer


def test_failing_job():
    job = create_job("fails", {"JOB_EXIT": "3"})
    done, _ = wait_job(job)
    assert done["state"] == "JOB_STATE_FAILED", done
    assert done["error"]["code"] == 13, done
    message = done["error"]["message"]
    assert message.startswith("The replica workerpool0-0 exited with a non-zero status of 3."), \
        message
    assert "ValueError: the bench asked for a failure" in message, message


def test_cancel_stops_the_container():
    job = create_job("cancelled", {"JOB_SLEEP": "300"})
    wait_job(job, ("JOB_STATE_RUNNING",))
    deadline = time.time() + 60
    while not any(e["textPayload"] == "sleeping" for p in log_pages(job_id(job), 50) for e in p):
        assert time.time() < deadline, "the job never started sleeping"
        time.sleep(0.2)
    status, answer = fetch("POST", api("AIPLATFORM", "v1/" + job["name"] + ":cancel"), {})
    assert status == 200 and answer == {}, (status, answer)
    started = time.time()
    done, seen = wait_job(job, seconds=60)
    assert done["state"] == "JOB_STATE_CANCELLED" and done["error"]["code"] == 1, done
    assert time.time() - started < 30, "cancel waited for the container to end by itself"
    running = docker("ps", "-q", "--filter", f"name=-{job_id(job)}$")
    assert running.stdout.strip() == "", running.stdout
    status, answer = fetch("POST", api("AIPLATFORM", "v1/" + job["name"] + ":cancel"), {})
    assert status == 400 and answer["error"]["status"] == "FAILED_PRECONDITION", answer
    slow = create_job("timeout", {"JOB_SLEEP": "300"}, timeout="3s")
    started = time.time()
    done, seen = wait_job(slow, seconds=60)
    assert done["state"] == "JOB_STATE_FAILED" and "timeout" in done["error"]["message"], done
    assert "JOB_STATE_RUNNING" in seen and time.time() - started < 30, (seen, done)


def test_control_faults():
    control("fault", {"job_fail": "The bench could not start the replica."})
    job = create_job("fault", {})
    done, seen = wait_job(job)
    assert done["state"] == "JOB_STATE_FAILED", done
    assert done["error"]["message"] == "The bench could not start the replica.", done
    assert "JOB_STATE_RUNNING" not in seen, seen
    assert log_pages(job_id(job), 10) == [[]], "a job that never started has log lines"
    for code in (429, 503):
        control("fault", {"status": code, "count": 1, "service": "aiplatform"})
        status, answer = fetch("POST", api("AIPLATFORM", parent() + "/customJobs"),
                               {"displayName": "x"})
        assert status == code and answer["error"]["code"] == code, (status, answer)
    status, answer = fetch("GET", api("AIPLATFORM", parent() + "/customJobs"))
    assert status == 200, (status, answer)


def test_create_checked_and_list_filtered():
    status, answer = fetch("POST", api("AIPLATFORM", parent() + "/customJobs"),
                           {"displayName": "two", "jobSpec": {"workerPoolSpecs": [{
                               "machineSpec": {"machineType": "n1-standard-4"},
                               "replicaCount": "2",
                               "containerSpec": {"imageUri": STATE["image"]}}]}})
    assert status == 400 and "replica_count" in answer["error"]["message"], answer
    # Each route names its discovery method: bodies are checked against it.
    for service, path, body in (
            ("AIPLATFORM", parent() + "/customJobs", {"displayName": "x", "jobSpek": {}}),
            ("LOGGING", "v2/entries:list", {"resourceNames": ["projects/x"], "pageSise": 1}),
            ("ARTIFACTREGISTRY", parent() + "/repositories?repositoryId=r",
             {"format": "DOCKR"})):
        status, answer = fetch("POST", api(service, path), body)
        assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT", \
            (service, status, answer)
    unpushed = create_job("unpushed", {}, image=STATE["image"].replace("/fahr/", "/other/"))
    done, _ = wait_job(unpushed)
    assert done["state"] == "JOB_STATE_FAILED" and "Unable to pull" in \
        done["error"]["message"], done
    url = api("AIPLATFORM", parent() + "/customJobs?filter=" + urllib.parse.quote(
        'labels.fahr-image="selftest" AND state="JOB_STATE_SUCCEEDED"'))
    status, answer = fetch("GET", url)
    assert [j["displayName"] for j in answer.get("customJobs", [])] == ["succeeds"], answer
    names, token = [], ""
    while True:
        status, page = fetch("GET", api("AIPLATFORM", parent() + "/customJobs?pageSize=2" +
                                        (f"&pageToken={token}" if token else "")))
        assert status == 200 and len(page.get("customJobs", [])) <= 2, page
        names += [j["displayName"] for j in page.get("customJobs", [])]
        token = page.get("nextPageToken")
        if not token:
            break
    assert names == ["unpushed", "fault", "timeout", "cancelled", "fails",
                     "succeeds"], names


def gcloud(*args, timeout=120):
    config = os.path.join(STATE["tmp"], "gcloud")
    os.makedirs(config, exist_ok=True)
    token_file = os.path.join(STATE["tmp"], "gcloud-token")
    with open(os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(STATE["token"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSDK_")}
    env.update({name: value for name, value in ENV.items()
                if name.startswith("CLOUDSDK_API_ENDPOINT_OVERRIDES_")})
    env.update(CLOUDSDK_CONFIG=config, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=token_file,
               CLOUDSDK_CORE_PROJECT=ENV["FAHR_BENCH_GOOGLE_PROJECT"],
               CLOUDSDK_CORE_DISABLE_PROMPTS="1",
               CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK="1")
    return subprocess.run(["gcloud", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_gcloud_custom_jobs():
    if shutil.which("gcloud") is None:
        return "skip gcloud not installed"
    job = STATE["succeeded"]
    described = gcloud("ai", "custom-jobs", "describe", job["name"], f"--region={REGION}",
                       "--format=json")
    assert described.returncode == 0, described.stderr
    answer = json.loads(described.stdout)
    assert answer["name"] == job["name"] and answer["state"] == "JOB_STATE_SUCCEEDED", answer
    listed = gcloud("ai", "custom-jobs", "list", f"--region={REGION}", "--format=json")
    assert listed.returncode == 0, listed.stderr
    assert {j["displayName"] for j in json.loads(listed.stdout)} >= {"succeeds", "fails"}, \
        listed.stdout
    config = os.path.join(STATE["tmp"], "gcloud-job.json")  # YAML is a superset of JSON
    with open(config, "w", encoding="utf-8") as f:
        json.dump({"workerPoolSpecs": [{
            "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": 1,
            "containerSpec": {"imageUri": STATE["image"], "args": ["train"]}}],
            "baseOutputDirectory": {"outputUriPrefix": f"gs://{BUCKET}/out/gcloud"}}, f)
    created = gcloud("ai", "custom-jobs", "create", f"--region={REGION}",
                     "--display-name=gcloud-made", f"--config={config}", "--format=json")
    assert created.returncode == 0, created.stderr
    made = json.loads(created.stdout)
    done, _ = wait_job(made)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    sleeper = create_job("gcloud-cancel", {"JOB_SLEEP": "300"})
    wait_job(sleeper, ("JOB_STATE_RUNNING",))
    cancelled = gcloud("ai", "custom-jobs", "cancel", job_id(sleeper), f"--region={REGION}")
    assert cancelled.returncode == 0, cancelled.stderr
    done, _ = wait_job(sleeper, seconds=60)
    assert done["state"] == "JOB_STATE_CANCELLED", done
    # gcloud shows only entries older than 5 s; the job ended before that.
    time.sleep(max(0.0, 6 - (time.time() - STATE.get("succeeded_at", 0))))
    streamed = gcloud("ai", "custom-jobs", "stream-logs", job["name"], f"--region={REGION}",
                      "--polling-interval=1", timeout=90)
    assert streamed.returncode == 0, streamed.stderr
    numbered = [line.rsplit(" ", 1)[1] for line in streamed.stdout.splitlines()
                if re.search(r"\tline \d{3}$", line)]
    assert numbered == [f"{n:03d}" for n in range(40)], streamed.stdout
    assert "\ta line on stderr" in streamed.stdout, streamed.stdout
    return None


def test_expired_tokens_rotate_the_registry_password():
    old = STATE["token"]
    control("expire_tokens", {})
    with open(os.path.join(ENV["FAHR_BENCH_GOOGLE_CREDS"], "access_token"),
              encoding="utf-8") as f:
        STATE["token"] = f.read().strip()
    assert STATE["token"] != old, "expire_tokens kept the token"
    assert login(old).returncode != 0, "the registry still takes an expired token"
    status, _, answer = registry_call("GET", "/v2/", STATE["registry_token"])
    assert status == 401, ("a registry token outlived its access token", status, answer)
    assert login(STATE["token"]).returncode == 0, "the registry refuses the new token"
    status, answer = fetch("GET", api("AIPLATFORM", parent() + "/customJobs"), token=old)
    assert status == 401, (status, answer)
    # docker pull asks the registry for the manifest even with the image
    # cached: the runner must log in with the new token.
    done, _ = wait_job(create_job("after-rotation", {}))
    assert done["state"] == "JOB_STATE_SUCCEEDED", done


def main():
    tmp = tempfile.mkdtemp(prefix="google-jobs-selftest.")
    tests = [test_repository_and_token_protected_push, test_registry_token_service,
             test_job_succeeds_with_model_and_paged_logs, test_log_continuation_and_order,
             test_failing_job, test_cancel_stops_the_container, test_control_faults,
             test_create_checked_and_list_filtered, test_gcloud_custom_jobs,
             test_expired_tokens_rotate_the_registry_password]
    print(f"1..{len(tests)}", flush=True)
    failed = 0
    try:
        start_benches(tmp)
        for number, test in enumerate(tests, 1):
            try:
                result = test()
                directive = f" # SKIP {result[5:]}" if result else ""
                print(f"ok {number} - {test.__name__}{directive}", flush=True)
            except Exception:
                failed += 1
                print(f"not ok {number} - {test.__name__}", flush=True)
                print("# " + traceback.format_exc().replace("\n", "\n# "), flush=True)
    finally:
        subprocess.run([os.path.join(HERE, "google.sh"), "stop", os.path.join(tmp, "bench")])
        if STATE.get("image"):
            docker("rmi", "-f", STATE["image"])
        if failed and os.path.exists(os.path.join(tmp, "bench", "bench.log")):
            with open(os.path.join(tmp, "bench", "bench.log"), encoding="utf-8") as f:
                print("# bench.log: " + f.read()[-3000:].replace("\n", "\n# "))
        subprocess.run(["rm", "-rf", tmp])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
