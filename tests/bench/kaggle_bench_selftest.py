#!/usr/bin/env python3
"""The Kaggle bench checked from outside (meson test 'kaggle_bench'), with
raw HTTP (urllib) as a client would speak it: no Kaggle client installs on
the bench machines, so this is what says the bench answers as the spec in
tests/data/kaggle says. Starts the Docker bench (tests/bench/docker.sh) and
the Kaggle bench (tests/bench/kaggle.sh), prints TAP.
"""
import base64
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
RPC = "/v1/kernels.KernelsApiService/"
ENV = {}


def start_benches(tmp):
    started = subprocess.run([os.path.join(HERE, "docker.sh"), "start"], check=True,
                             capture_output=True, text=True).stdout
    for line in started.splitlines():
        if line.startswith("export DOCKER_HOST="):
            os.environ["DOCKER_HOST"] = line.split("=", 1)[1]
    subprocess.run([os.path.join(HERE, "docker.sh"), "image"], check=True)
    subprocess.run([os.path.join(HERE, "kaggle.sh"), "start", tmp], check=True)
    with open(os.path.join(tmp, "env"), encoding="utf-8") as f:
        for line in f:
            name, _, value = line.strip()[len("export "):].partition("=")
            ENV[name] = value


def basic(user=None, key=None):
    pair = f"{user or ENV['FAHR_BENCH_KAGGLE_USER']}:{key or ENV['FAHR_BENCH_KAGGLE_KEY']}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def bearer(token=None):
    return "Bearer " + (token or ENV["FAHR_BENCH_KAGGLE_TOKEN"])


def fetch(method, url, body=None, headers=None):
    """(status, headers, bytes) of one request; errors are answers too."""
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def call(method, body, auth=None):
    status, _headers, data = fetch("POST", ENV["KAGGLE_API_ENDPOINT"] + RPC + method, body,
                                  {"Authorization": auth or bearer()})
    return status, json.loads(data) if data else None


def control(name, body=None, method="POST"):
    status, _h, data = fetch(method, f"{ENV['FAHR_BENCH_KAGGLE_CONTROL']}/{name}", body)
    assert status == 200, (name, status, data)
    return json.loads(data)


def push(slug, text, kernel_type="script", **extra):
    body = {"slug": f"{ENV['FAHR_BENCH_KAGGLE_USER']}/{slug}", "newTitle": slug,
            "text": text, "language": "python", "kernelType": kernel_type, "isPrivate": True}
    body.update(extra)
    status, answer = call("SaveKernel", body)
    assert status == 200 and not answer.get("error"), (status, answer)
    assert answer["ref"] == body["slug"], answer
    return answer


def status_of(slug):
    status, answer = call("GetKernelSessionStatus",
                          {"userName": ENV["FAHR_BENCH_KAGGLE_USER"], "kernelSlug": slug})
    assert status == 200, answer
    return answer


def wait_for(slug, wanted=("COMPLETE", "ERROR", "CANCEL_ACKNOWLEDGED"), seconds=120):
    seen = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        answer = status_of(slug)
        if not seen or seen[-1] != answer["status"]:
            seen.append(answer["status"])
        if answer["status"] in wanted:
            return answer, seen
        time.sleep(0.1)
    raise AssertionError(f"{slug}: still {seen} after {seconds} s")


def output_pages(slug, page_size=None):
    pages, token = [], None
    while True:
        body = {"userName": ENV["FAHR_BENCH_KAGGLE_USER"], "kernelSlug": slug}
        if page_size:
            body["pageSize"] = page_size
        if token:
            body["pageToken"] = token
        status, answer = call("ListKernelSessionOutput", body, basic())
        assert status == 200, answer
        pages.append(answer)
        token = answer.get("nextPageToken")
        if not token:
            return pages


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


MANY_FILES = """
import os
os.makedirs("model", exist_ok=True)
for n in range(45):
    with open(f"model/part-{n:02d}.bin", "wb") as f:
        f.write(os.urandom(1000 + n * 37))
print("wrote 45 files from", os.getcwd())
"""


def test_script_runs_and_output_pages():
    push("many-files", MANY_FILES)
    answer, seen = wait_for("many-files")
    assert answer == {"status": "COMPLETE"}, answer
    order = ["QUEUED", "RUNNING", "COMPLETE"]
    assert [s for s in order if s in seen] == seen and seen[-1] == "COMPLETE", seen
    pages = output_pages("many-files")
    assert [len(p["files"]) for p in pages] == [20, 20, 5], [len(p["files"]) for p in pages]
    names = [f["fileName"] for p in pages for f in p["files"]]
    assert names == [f"model/part-{n:02d}.bin" for n in range(45)], names
    log = json.loads(pages[0]["log"])
    assert {"stream_name", "time", "data"} == set(log[0]), log
    assert log[0]["data"] == "wrote 45 files from /kaggle/working\n", log
    for entry in (f for p in pages for f in p["files"]):
        status, headers, data = fetch("GET", entry["url"])
        assert status == 200, (status, data)
        assert int(headers["Content-Length"]) == len(data) == \
            1000 + 37 * int(entry["fileName"][-6:-4])
        assert headers["x-goog-hash"] == "md5=" + md5_b64(data), headers["x-goog-hash"]
    smaller = output_pages("many-files", 7)
    assert [f["fileName"] for p in smaller for f in p["files"]] == names
    assert len(smaller) == 7


def test_storage_refuses_credentials_and_resumes():
    url = output_pages("many-files")[0]["files"][3]["url"]
    for auth in (bearer(), basic()):
        status, _h, data = fetch("GET", url, headers={"Authorization": auth})
        assert status == 400, (status, data)
    status, _h, _d = fetch("GET", url.replace("Signature=", "Signature=0"))
    assert status == 403, status
    status, _h, whole = fetch("GET", url)
    control("break-download")
    host, _, rest = url[len("http://"):].partition("/")
    connection = http.client.HTTPConnection(host, timeout=30)
    connection.request("GET", "/" + rest)
    answer = connection.getresponse()
    try:
        answer.read()
        raise AssertionError("a broken download was read whole")
    except http.client.IncompleteRead as broken:
        part = broken.partial
    assert 0 < len(part) < len(whole), len(part)
    status, headers, tail = fetch("GET", url, headers={"Range": f"bytes={len(part)}-"})
    assert status == 206, status
    assert headers["Content-Range"] == f"bytes {len(part)}-{len(whole) - 1}/{len(whole)}"
    assert part + tail == whole
    assert headers["x-goog-hash"] == "md5=" + md5_b64(whole)
    status, _h, _d = fetch("GET", url, headers={"Range": f"bytes={len(whole)}-"})
    assert status == 416, status
    storage = [r for r in control("requests", method="GET") if r["port"] == "storage"]
    assert any(r["authorization"] and r["status"] == 400 for r in storage)


def test_bad_credentials_refused():
    body = {"userName": ENV["FAHR_BENCH_KAGGLE_USER"], "kernelSlug": "many-files"}
    for auth in (basic(key="wrong"), basic(user="mallory"), bearer("KGAT_wrong"),
                 "Token " + ENV["FAHR_BENCH_KAGGLE_TOKEN"]):
        status, answer = call("GetKernelSessionStatus", body, auth)
        assert status == 401 and answer["code"] == 401 and answer["message"], (auth, answer)
    status, _h, data = fetch("POST", ENV["KAGGLE_API_ENDPOINT"] + RPC + "ListKernels", {})
    assert status == 401 and json.loads(data)["code"] == 401
    for auth in (basic(), bearer()):
        status, answer = call("ListKernels", {}, auth)
        assert status == 200 and answer["kernels"], answer


def test_introspect_token():
    url = ENV["KAGGLE_API_ENDPOINT"] + "/v1/security.OAuthService/IntrospectToken"
    token = ENV["FAHR_BENCH_KAGGLE_TOKEN"]
    status, _h, data = fetch("POST", url, {"token": token}, {"Authorization": bearer()})
    answer = json.loads(data)
    assert status == 200 and answer["active"] is True, answer
    assert answer["username"] == ENV["FAHR_BENCH_KAGGLE_USER"] and answer["userId"], answer
    status, _h, data = fetch("POST", url, {"token": "KGAT_other"}, {"Authorization": bearer()})
    assert status == 200 and json.loads(data) == {}, data  # not active
    status, _h, data = fetch("POST", url, {"token": "KGAT_wrong"},
                             {"Authorization": bearer("KGAT_wrong")})
    assert status == 401 and json.loads(data)["code"] == 401, data
    for body, field in (({"token": token, "user": "x"}, "user"), ({"token": 7}, "token"),
                        ({}, "token")):
        status, _h, data = fetch("POST", url, body, {"Authorization": bearer()})
        assert status == 400 and field in json.loads(data)["message"], (body, data)
    status, answer = call("IntrospectToken", {"token": token})  # not a kernels method
    assert status == 404, answer


def test_corrupt_file_and_redirect():
    files = output_pages("many-files")[0]["files"]
    good, bad = files[0], files[1]
    status, _h, original = fetch("GET", bad["url"])
    control("corrupt-file", {"file": bad["fileName"]})
    status, headers, data = fetch("GET", bad["url"])
    assert status == 200 and len(data) == len(original) and data != original
    assert headers["x-goog-hash"] == "md5=" + md5_b64(original), headers["x-goog-hash"]
    status, headers, data = fetch("GET", good["url"])
    assert headers["x-goog-hash"] == "md5=" + md5_b64(data)
    control("redirect-downloads", {"on": True})
    moved = output_pages("many-files")[0]["files"][0]["url"]
    assert moved.startswith(ENV["KAGGLE_API_ENDPOINT"] + "/kaggleusercontent/kf/"), moved
    host, _, rest = moved[len("http://"):].partition("/")
    connection = http.client.HTTPConnection(host, timeout=30)
    connection.request("GET", "/" + rest)
    answer = connection.getresponse()
    assert answer.status == 302 and answer.read(), answer.status
    location = answer.headers["Location"]
    assert location.split("/kf/")[1] == moved.split("/kf/")[1], (location, moved)
    status, headers, data = fetch("GET", moved)  # urllib follows it
    assert status == 200 and headers["x-goog-hash"] == "md5=" + md5_b64(data), status
    control("redirect-downloads", {"on": False})


def test_requests_checked_against_spec():
    user = ENV["FAHR_BENCH_KAGGLE_USER"]
    cases = [("ListKernels", {"pageSize": 5, "colour": "red"}, "colour"),
             ("GetKernelSessionStatus", {"userName": user, "kernelSlug": 7}, "kernelSlug"),
             ("SaveKernel", {"slug": f"{user}/abcdef", "text": "1", "language": "python",
                             "kernelType": "script", "enableGpu": "yes"}, "enableGpu"),
             ("SaveKernel", {"slug": f"{user}/abcdef", "language": "python",
                             "kernelType": "script"}, "text"),
             ("ListKernels", {"sortBy": "LOUDEST"}, "sortBy"),
             ("ListKernelSessionOutput", {"userName": user}, "kernelSlug")]
    for method, body, field in cases:
        status, answer = call(method, body)
        assert status == 400 and answer["code"] == 400 and field in answer["message"], \
            (method, body, answer)
    status, answer = call("NoSuchMethod", {})
    assert status == 404 and answer["code"] == 404, answer


def test_throttled_call_answered():
    control("errors", {"count": 2, "status": 429, "retryAfter": 1})
    body = {"userName": ENV["FAHR_BENCH_KAGGLE_USER"], "kernelSlug": "many-files"}
    for _ in range(2):
        status, headers, data = fetch("POST", ENV["KAGGLE_API_ENDPOINT"] + RPC +
                                     "GetKernelSessionStatus", body, {"Authorization": bearer()})
        assert status == 429 and json.loads(data)["code"] == 429, (status, data)
        assert headers["Retry-After"] == "1"
    assert status_of("many-files")["status"] == "COMPLETE"
    control("errors", {"count": 1, "status": 503})
    status, answer = call("GetKernelSessionStatus", body)
    assert status == 503 and answer["code"] == 503, answer
    assert status_of("many-files")["status"] == "COMPLETE"
    # An error meant for one method waits for a call of it.
    control("errors", {"count": 1, "status": 502, "method": "ListKernels"})
    assert status_of("many-files")["status"] == "COMPLETE"
    status, answer = call("ListKernels", {"user": ENV["FAHR_BENCH_KAGGLE_USER"], "pageSize": 1})
    assert status == 502 and answer["code"] == 502, answer
    recorded = control("requests", method="GET")
    assert [r["status"] for r in recorded[-7:]] == [429, 429, 200, 503, 200, 200, 502], \
        recorded[-7:]
    assert recorded[-3]["body"] == body and recorded[-3]["auth"] == "bearer", recorded[-3]


def test_failing_script_and_fail_next():
    push("exits-three", "import sys\nprint('bad data', file=sys.stderr)\nsys.exit(3)\n")
    answer, _seen = wait_for("exits-three")
    assert answer["status"] == "ERROR", answer
    assert "code 3" in answer["failureMessage"] and "bad data" in answer["failureMessage"]
    push("too-slow", "import time\ntime.sleep(60)\n", sessionTimeoutSeconds=1)
    answer, _seen = wait_for("too-slow", seconds=30)
    assert answer == {"status": "ERROR",
                      "failureMessage": "Session timed out after 1 seconds"}, answer
    user = ENV["FAHR_BENCH_KAGGLE_USER"]
    status, answer = call("SaveKernel", {"slug": f"{user}/too-long", "newTitle": "too-long",
                                         "text": "1", "language": "python",
                                         "kernelType": "script", "sessionTimeoutSeconds": 43201})
    assert status == 400 and "43200" in answer["message"], answer
    control("fail-next", {"message": "The machine was preempted"})
    push("told-to-fail", "print('never runs')\n")
    answer, _seen = wait_for("told-to-fail")
    assert answer == {"status": "ERROR", "failureMessage": "The machine was preempted"}


NOTEBOOK = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
     "source": "import json\nhp = {'epochs': 3}\nprint('epochs', hp['epochs'])"},
    {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
     "source": "open('/kaggle/working/notebook-ran.txt', 'w').write('yes')"}]}


def test_notebook_runs():
    push("a-notebook", json.dumps(NOTEBOOK), kernel_type="notebook")
    answer, _seen = wait_for("a-notebook")
    assert answer == {"status": "COMPLETE"}, answer
    pages = output_pages("a-notebook")
    files = {f["fileName"]: f["url"] for f in pages[0]["files"]}
    assert set(files) == {"__notebook__.ipynb", "notebook-ran.txt"}, files
    assert fetch("GET", files["notebook-ran.txt"])[2] == b"yes"
    executed = json.loads(fetch("GET", files["__notebook__.ipynb"])[2])
    assert "".join(executed["cells"][0]["outputs"][0]["text"]) == "epochs 3\n", executed
    log = json.loads(pages[0]["log"])
    assert {"stream_name": "stdout", "data": "epochs 3\n"}.items() <= log[0].items(), log


def test_dataset_input(tmp):
    data = os.path.join(tmp, "iris")
    os.makedirs(data)
    with open(os.path.join(data, "iris.csv"), "w", encoding="utf-8") as f:
        f.write("a,b\n1,2\n")
    control("datasets", {"ref": "uciml/iris", "path": data})
    answer = push("reads-iris", "import shutil\nshutil.copy('/kaggle/input/iris/iris.csv', "
                  "'copy.csv')\nopen('/kaggle/input/iris/x', 'w')\n",
                  datasetDataSources=["uciml/iris", "nobody/missing"])
    assert answer["invalidDatasetSources"] == ["nobody/missing"], answer
    result, _seen = wait_for("reads-iris")
    assert result["status"] == "ERROR" and "Read-only" in result["failureMessage"], result
    files = output_pages("reads-iris")[0]["files"]
    assert [f["fileName"] for f in files] == ["copy.csv"]
    assert fetch("GET", files[0]["url"])[2] == b"a,b\n1,2\n"


def test_cancel_and_log_stream():
    answer = push("sleeper", "import time\nprint('started', flush=True)\ntime.sleep(120)\n")
    session_id = int(answer["url"].rsplit("scriptVersionId=", 1)[1])
    wait_for("sleeper", ("RUNNING",))
    host = ENV["KAGGLE_API_ENDPOINT"][len("http://"):]
    connection = http.client.HTTPConnection(host, timeout=60)
    connection.request("POST", RPC + "GetKernelSessionLogsStream",
                       json.dumps({"kernelSessionId": session_id}),
                       {"Authorization": bearer(), "Content-Type": "application/json"})
    stream = connection.getresponse()
    assert stream.status == 200 and stream.headers["Content-Type"] == "text/event-stream"
    first = stream.readline()
    assert json.loads(first[len(b"data: "):])["data"] == "started\n", first
    threading.Timer(0.5, lambda: call("CancelKernelSession",
                                      {"kernelSessionId": session_id})).start()
    rest = stream.read()
    assert rest.rstrip().endswith(b"data: END_OF_LOG"), rest
    result, _seen = wait_for("sleeper", seconds=30)
    assert result == {"status": "CANCEL_ACKNOWLEDGED"}, result
    status, answer = call("CancelKernelSession", {"kernelSessionId": session_id})
    assert status == 200 and "ended" in answer["errorMessage"], answer
    user = ENV["FAHR_BENCH_KAGGLE_USER"]
    status, headers, data = fetch("GET", f"{ENV['KAGGLE_API_ENDPOINT']}/v1/kernels/logs/stream/"
                                 f"{user}/sleeper", headers={"Authorization": basic()})
    assert status == 200 and json.loads(data)[0]["data"] == "started\n", data


def test_quota():
    status, quota = call("GetAcceleratorQuotaStatistics", {})
    assert status == 200 and quota["gpuQuota"]["timeUsed"] == "0s", quota
    push("gpu-short", "import time\ntime.sleep(1.2)\n", machineShape="NvidiaTeslaT4")
    assert wait_for("gpu-short")[0] == {"status": "COMPLETE"}
    status, quota = call("GetAcceleratorQuotaStatistics", {})
    assert quota["gpuQuota"]["timeUsed"] in ("1s", "2s"), quota  # charged its run time
    assert quota["tpuQuota"]["timeUsed"] == "0s", quota
    control("quota", {"accelerator": "gpu", "usedSeconds": 108000, "allowedSeconds": 108000})
    status, quota = call("GetAcceleratorQuotaStatistics", {})
    assert quota["gpuQuota"]["timeUsed"] == quota["gpuQuota"]["totalTimeAllowed"] == "108000s"
    user = ENV["FAHR_BENCH_KAGGLE_USER"]
    status, answer = call("SaveKernel", {"slug": f"{user}/gpu-kernel", "newTitle": "gpu-kernel",
                                         "text": "print(1)", "language": "python",
                                         "kernelType": "script",
                                         "machineShape": "NvidiaTeslaT4"})
    assert status == 200 and "quota" in answer["error"], answer
    status, answer = call("GetKernelSessionStatus", {"userName": user, "kernelSlug": "gpu-kernel"})
    assert status == 404, answer


def main():
    tmp = tempfile.mkdtemp(prefix="kaggle-selftest.")
    tests = [test_script_runs_and_output_pages, test_storage_refuses_credentials_and_resumes,
             test_bad_credentials_refused, test_introspect_token,
             test_corrupt_file_and_redirect, test_requests_checked_against_spec,
             test_throttled_call_answered, test_failing_script_and_fail_next,
             test_notebook_runs, lambda: test_dataset_input(tmp), test_cancel_and_log_stream,
             test_quota]
    names = [t.__name__ if t.__name__ != "<lambda>" else "test_dataset_input" for t in tests]
    print(f"1..{len(tests)}", flush=True)
    failed = 0
    try:
        start_benches(tmp)
        for number, (test, name) in enumerate(zip(tests, names), 1):
            try:
                test()
                print(f"ok {number} - {name}", flush=True)
            except Exception:
                failed += 1
                print(f"not ok {number} - {name}", flush=True)
                print("# " + traceback.format_exc().replace("\n", "\n# "), flush=True)
    finally:
        subprocess.run([os.path.join(HERE, "kaggle.sh"), "stop", tmp])
        if failed:
            with open(os.path.join(tmp, "bench.log"), encoding="utf-8") as f:
                print("# bench.log: " + f.read()[-2000:].replace("\n", "\n# "))
        subprocess.run(["rm", "-rf", tmp])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
