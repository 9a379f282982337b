#!/usr/bin/env python3
"""The Google bench's core checked from outside (meson test 'google_bench'):
the framework (bearer tokens, Google's error shape, discovery validation,
control faults), OAuth grants, the metadata server and Cloud Storage, with
raw HTTP (urllib) and then with independent clients: `gcloud storage` and
the google-auth library gcloud bundles (skipped, visibly, where gcloud is not
installed). Starts tests/bench/google.sh; prints TAP."""
import base64
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = {}
STATE = {}
BUCKET = "fahr-bench"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
QUANTUM = 256 * 1024


class Skip(Exception):
    pass


def start_bench(tmp):
    subprocess.run([os.path.join(HERE, "google.sh"), "start", os.path.join(tmp, "bench")],
                   check=True)
    with open(os.path.join(tmp, "bench", "env"), encoding="utf-8") as f:
        for line in f:
            name, _, value = line.strip()[len("export "):].partition("=")
            ENV[name] = value
    STATE["tmp"] = tmp
    STATE["root"] = ENV["CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE"][:-len("storage/v1/")]


def creds(name):
    return os.path.join(ENV["FAHR_BENCH_GOOGLE_CREDS"], name)


def token():
    with open(creds("access_token"), encoding="utf-8") as f:
        return f.read().strip()


def fetch(method, url, data=None, headers=None, bearer=True):
    """(status, headers, raw body) of one request; errors are answers too."""
    request = urllib.request.Request(url, data=data, method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if bearer:
        request.add_header("Authorization", "Bearer " + (bearer if isinstance(bearer, str)
                                                          else token()))
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def api(method, path, data=None, headers=None, bearer=True):
    status, head, raw = fetch(method, STATE["root"] + path, data, headers, bearer)
    try:
        return status, head, json.loads(raw) if raw else {}
    except ValueError:
        return status, head, raw


def control(method, name, body=None):
    data = json.dumps(body).encode() if body is not None else None
    status, _, raw = fetch(method, f"{ENV['FAHR_BENCH_GOOGLE_CONTROL']}/{name}", data,
                           bearer=False)
    assert status == 200, (name, status, raw)
    return json.loads(raw)


def google_error(answer, code, status):
    assert answer["error"]["code"] == code and answer["error"]["status"] == status, answer
    assert answer["error"]["message"], answer


def upload(name, data, content_type="application/octet-stream"):
    quoted = urllib.parse.quote(name, safe="")
    status, _, answer = api("POST", f"upload/storage/v1/b/{BUCKET}/o?uploadType=media&"
                            f"name={quoted}", data, {"Content-Type": content_type})
    assert status == 200, (status, answer)
    return answer


def object_url(name, prefix=""):
    return f"{prefix}storage/v1/b/{BUCKET}/o/{urllib.parse.quote(name, safe='')}"


def b64(data):
    return base64.b64encode(data).decode()


def jwt(key_file, **changes):
    """A jwt-bearer assertion as google-auth builds it, signed with KEY_FILE's key."""
    with open(key_file, encoding="utf-8") as f:
        account = json.load(f)
    now = int(time.time())
    claims = {"iss": account["client_email"], "scope": SCOPE, "aud": account["token_uri"],
              "iat": now, "exp": now + 3600}
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"alg": "RS256", "typ": "JWT", "kid": account["private_key_id"]}

    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing = f"{part(header)}.{part(claims)}"
    key = serialization.load_pem_private_key(account["private_key"].encode(), None)
    signature = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def grant(form):
    with open(creds("service_account.json"), encoding="utf-8") as f:
        token_uri = json.load(f)["token_uri"]
    status, _, raw = fetch("POST", token_uri, urllib.parse.urlencode(form).encode(),
                           {"Content-Type": "application/x-www-form-urlencoded"}, bearer=False)
    return status, json.loads(raw)


# ---- the framework and OAuth ----
def test_credentials_written():
    for name in ("service_account.json", "authorized_user.json", "bad_service_account.json",
                 "external_account.json", "access_token"):
        mode = stat.S_IMODE(os.stat(creds(name)).st_mode)
        assert mode == 0o600, (name, oct(mode))
    with open(creds("service_account.json"), encoding="utf-8") as f:
        account = json.load(f)
    with open(creds("bad_service_account.json"), encoding="utf-8") as f:
        bad = json.load(f)
    assert account["type"] == "service_account" and account["project_id"] == \
        ENV["FAHR_BENCH_GOOGLE_PROJECT"], account.keys()
    assert account["token_uri"].startswith("http://127.0.0.1:"), account["token_uri"]
    assert "BEGIN PRIVATE KEY" in account["private_key"], "not PKCS#8"
    assert bad["client_email"] == account["client_email"] and \
        bad["private_key"] != account["private_key"]


def test_bearer_token_checked():
    status, _, answer = api("GET", f"storage/v1/b/{BUCKET}", bearer=False)
    assert status == 401, (status, answer)
    google_error(answer, 401, "UNAUTHENTICATED")
    status, _, answer = api("GET", f"storage/v1/b/{BUCKET}", bearer="ya29.not-issued")
    assert status == 401, (status, answer)
    status, _, answer = api("GET", f"storage/v1/b/{BUCKET}")
    assert status == 200 and answer["name"] == BUCKET, (status, answer)
    status, _, answer = api("GET", "storage/v1/b/no-such-bucket")
    assert status == 404, (status, answer)
    google_error(answer, 404, "NOT_FOUND")


def test_jwt_grant():
    assertion = jwt(creds("service_account.json"))
    status, answer = grant({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                            "assertion": assertion})
    assert status == 200 and answer["token_type"] == "Bearer" and \
        answer["expires_in"] == 3599, (status, answer)
    status, _, _ = api("GET", f"storage/v1/b/{BUCKET}", bearer=answer["access_token"])
    assert status == 200, "the granted token is refused"
    now = int(time.time())
    refused = {
        "Invalid JWT Signature.": jwt(creds("bad_service_account.json")),
        "Failed audience check": jwt(creds("service_account.json"), aud="https://x/token"),
        "short-lived": jwt(creds("service_account.json"), exp=now + 7200),
        "reasonable timeframe": jwt(creds("service_account.json"), iat=now - 4000,
                                    exp=now - 400),
        "Invalid email": jwt(creds("service_account.json"), iss="other@x.iam.gserviceaccount.com"),
        "scope": jwt(creds("service_account.json"), scope=None),
    }
    for message, bad in refused.items():
        status, answer = grant({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                "assertion": bad})
        assert status == 400 and message in answer["error_description"], (message, answer)
        assert answer["error"] in ("invalid_grant", "invalid_scope"), answer
    # google-auth always sends Google's token URI as aud (NOTES.md B5).
    status, answer = grant({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                            "assertion": jwt(creds("service_account.json"),
                                             aud=GOOGLE_TOKEN_URI)})
    assert status == 200, answer
    grants = [e for e in control("GET", "requests") if e["service"] == "oauth"]
    assert [e["granted"] for e in grants][-8:] == [True] + [False] * 6 + [True], grants
    assert not any("assertion" in json.dumps(e) for e in grants), "the log holds an assertion"


def test_refresh_grant():
    with open(creds("authorized_user.json"), encoding="utf-8") as f:
        user = json.load(f)
    form = {"grant_type": "refresh_token", "client_id": user["client_id"],
            "client_secret": user["client_secret"], "refresh_token": user["refresh_token"]}
    status, answer = grant(form)
    assert status == 200 and answer["access_token"], answer
    status, answer = grant(dict(form, client_secret="wrong"))
    assert status == 401 and answer["error"] == "invalid_client", answer
    status, answer = grant(dict(form, refresh_token="1//wrong"))
    assert status == 400 and answer["error"] == "invalid_grant", answer
    status, answer = grant(dict(form, grant_type="password"))
    assert status == 400 and answer["error"] == "unsupported_grant_type", answer


def test_metadata_server():
    base = f"http://{ENV['GCE_METADATA_HOST']}/computeMetadata/v1/"
    path = "instance/service-accounts/default/token"
    status, _, _ = fetch("GET", base + path, bearer=False)
    assert status == 403, status
    status, head, raw = fetch("GET", base + path + "?scopes=" + SCOPE,
                              headers={"Metadata-Flavor": "Google"}, bearer=False)
    answer = json.loads(raw)
    assert status == 200 and head["Metadata-Flavor"] == "Google", (status, head)
    assert answer["token_type"] == "Bearer" and answer["expires_in"] > 0, answer
    status, _, _ = api("GET", f"storage/v1/b/{BUCKET}", bearer=answer["access_token"])
    assert status == 200, "the metadata server's token is refused"
    status, _, raw = fetch("GET", base + "project/project-id",
                           headers={"Metadata-Flavor": "Google"}, bearer=False)
    assert status == 200 and raw.decode() == ENV["FAHR_BENCH_GOOGLE_PROJECT"], raw


def test_expire_tokens():
    old = token()
    control("POST", "expire_tokens", {})
    status, _, answer = api("GET", f"storage/v1/b/{BUCKET}", bearer=old)
    assert status == 401, "an expired token is still taken"
    google_error(answer, 401, "UNAUTHENTICATED")
    assert token() != old, "access_token was not rewritten"
    status, answer = grant({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                            "assertion": jwt(creds("service_account.json"))})
    assert status == 200 and answer["access_token"] == token() != old, answer
    status, _, _ = api("GET", f"storage/v1/b/{BUCKET}", bearer=answer["access_token"])
    assert status == 200, status


def test_requests_validated_against_discovery():
    bad_queries = ["maxResults=many", "projection=everything", "noSuchParameter=1",
                   "versions=maybe", "maxResults=1&maxResults=2"]
    for query in bad_queries:
        status, _, answer = api("GET", f"storage/v1/b/{BUCKET}/o?{query}")
        assert status == 400, (query, status, answer)
        google_error(answer, 400, "INVALID_ARGUMENT")
    status, _, answer = api("GET", f"storage/v1/b/{BUCKET}/o?maxResults=3&projection=noAcl&"
                            "$alt=json;enum-encoding=int")
    assert status == 200, answer
    # int64 parameters travel as strings of digits
    status, _, answer = api("GET", object_url("x") + "?ifGenerationMatch=12a")
    assert status == 400 and "ifGenerationMatch" in answer["error"]["message"], answer
    for metadata in ({"name": "m", "noSuchField": 1}, {"name": "m", "contentType": 3},
                     {"name": "m", "metadata": {"k": 1}}, {"name": "m", "size": "big"}):
        status, answer = multipart("m", b"data", metadata)
        assert status == 400, (metadata, status, answer)
        google_error(answer, 400, "INVALID_ARGUMENT")
    status, _, _ = api("GET", object_url("m"))
    assert status == 404, "a refused upload left an object"
    check_spec_directly()


def check_spec_directly():
    """What storage's discovery document has none of: required body fields
    ("Required." descriptions) and integer enums; checked on Vertex's."""
    sys.path.insert(0, HERE)
    from google_bench_spec import Spec, SpecError
    spec = Spec(os.path.join(HERE, "..", "data", "google"))
    create = "aiplatform.projects.locations.customJobs.create"
    job = {"displayName": "d", "jobSpec": {"workerPoolSpecs": [{
        "machineSpec": {"machineType": "n1-standard-4", "acceleratorType": "NVIDIA_TESLA_T4"},
        "replicaCount": "1", "containerSpec": {"imageUri": "i"}}]}}
    spec.check(create, {}, job)
    as_ints = json.loads(json.dumps(job))
    as_ints["jobSpec"]["workerPoolSpecs"][0]["machineSpec"]["acceleratorType"] = 3
    spec.check(create, {"$alt": ["json;enum-encoding=int"]}, as_ints)
    for query, body in (({}, as_ints), ({}, {"jobSpec": job["jobSpec"]}),
                        ({}, dict(job, jobSpec={})),
                        ({}, dict(job, jobSpec={"workerPoolSpecs": [{"replicaCount": "x"}]}))):
        try:
            spec.check(create, query, body)
        except SpecError:
            continue
        raise AssertionError(f"accepted: {body}")


def test_status_faults():
    control("POST", "fault", {"status": 503, "count": 2, "service": "storage"})
    for _ in range(2):
        status, _, answer = api("GET", f"storage/v1/b/{BUCKET}")
        assert status == 503, (status, answer)
        google_error(answer, 503, "UNAVAILABLE")
    status, _, _ = api("GET", f"storage/v1/b/{BUCKET}")
    assert status == 200, "the fault outlived its count"


# ---- Cloud Storage, raw ----
def multipart(name, data, metadata):
    boundary = "bench_boundary_1234"
    body = (f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
            f"{json.dumps(metadata)}\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    status, _, answer = api("POST", f"upload/storage/v1/b/{BUCKET}/o?uploadType=multipart",
                            body, {"Content-Type": f"multipart/related; boundary={boundary}"})
    return status, answer


def test_objects_metadata_and_media():
    check = b"123456789"  # CRC32C's check value: 0xE3069283 (RFC 3720 B.4)
    made = upload("dir/check.txt", check, "text/plain")
    assert made["size"] == "9" and made["crc32c"] == b64(bytes.fromhex("e3069283")), made
    assert made["md5Hash"] == b64(hashlib.md5(check).digest()), made
    assert int(made["generation"]) > 0 and made["contentType"] == "text/plain", made
    stored = os.path.join(STATE["tmp"], "bench", "work", "storage", BUCKET, "dir", "check.txt")
    with open(stored, "rb") as f:
        assert f.read() == check, "the object is not a plain file at its name"
    status, _, answer = api("GET", object_url("dir/check.txt"))
    assert status == 200 and answer["generation"] == made["generation"], answer
    for prefix in ("", "download/"):
        status, head, raw = fetch("GET", STATE["root"] + object_url("dir/check.txt", prefix)
                                  + "?alt=media")
        assert status == 200 and raw == check, (prefix, status, raw)
        hashes = ",".join(head.get_all("x-goog-hash"))
        assert f"crc32c={made['crc32c']}" in hashes and f"md5={made['md5Hash']}" in hashes
        assert head["x-goog-generation"] == made["generation"], head
        assert head["x-goog-stored-content-length"] == "9", head
    status, head, raw = fetch("GET", STATE["root"] + object_url("dir/check.txt") + "?alt=media",
                              headers={"Range": "bytes=2-4"})
    assert status == 206 and raw == b"345" and head["Content-Range"] == "bytes 2-4/9", \
        (status, raw, head)
    status, answer = multipart("dir/multi.txt", b"two parts", {"name": "dir/multi.txt",
                                                                   "contentType": "text/x-m"})
    assert status == 200 and answer["size"] == "9" and answer["contentType"] == "text/x-m", \
        answer
    status, _, _ = api("DELETE", object_url("dir/multi.txt"))
    assert status == 204, status
    status, _, answer = api("GET", object_url("dir/multi.txt"))
    assert status == 404, answer
    google_error(answer, 404, "NOT_FOUND")


def test_hostile_names_refused():
    outside = os.path.join(STATE["tmp"], "bench", "work", "escaped")
    for name in ("../escaped", "a/../../escaped", "a//b", "./a", "/abs"):
        quoted = urllib.parse.quote(name, safe="")
        status, _, answer = api("POST", f"upload/storage/v1/b/{BUCKET}/o?uploadType=media&"
                                f"name={quoted}", b"x")
        assert status == 400, (name, status, answer)
    status, _, answer = api("GET", f"storage/v1/b/..%2Fcreds/o")
    assert status in (400, 404), (status, answer)
    assert not os.path.exists(outside), "a name escaped its bucket"


def test_list_pages_prefixes():
    for name in ("l/a", "l/b", "l/c/1", "l/c/2", "l/d", "other"):
        upload(name, name.encode())
    pages, page_token = [], ""
    while True:
        status, _, answer = api("GET", f"storage/v1/b/{BUCKET}/o?prefix=l/&delimiter=/&"
                                f"maxResults=2" + (f"&pageToken={page_token}"
                                                   if page_token else ""))
        assert status == 200, answer
        pages.append(([i["name"] for i in answer.get("items", [])],
                      answer.get("prefixes", [])))
        page_token = answer.get("nextPageToken")
        if not page_token:
            break
    assert pages == [(["l/a", "l/b"], []), (["l/d"], ["l/c/"])], pages
    status, _, answer = api("GET", f"storage/v1/b/{BUCKET}/o?prefix=l/c/")
    assert [i["name"] for i in answer["items"]] == ["l/c/1", "l/c/2"], answer
    assert "nextPageToken" not in answer, answer


def resumable_start(name, total=None):
    headers = {"Content-Type": "application/json; charset=UTF-8"}
    if total is not None:
        headers["X-Upload-Content-Length"] = str(total)
    status, head, _ = api("POST", f"upload/storage/v1/b/{BUCKET}/o?uploadType=resumable",
                          json.dumps({"name": name}).encode(), headers)
    assert status == 200 and "upload_id=" in head["Location"], (status, head)
    return head["Location"]


def put(session, data, content_range):
    return fetch("PUT", session, data, {"Content-Range": content_range})


def test_resumable_upload():
    data = os.urandom(2 * QUANTUM + 1000)
    total = len(data)
    session = resumable_start("big/r.bin", total)
    status, _, raw = put(session, data[:1000], f"bytes 0-999/{total}")
    assert status == 400 and b"262144" in raw, (status, raw)
    status, head, _ = put(session, data[:QUANTUM], f"bytes 0-{QUANTUM - 1}/{total}")
    assert status == 308 and head["Range"] == f"bytes=0-{QUANTUM - 1}", (status, head)
    status, head, _ = put(session, b"", f"bytes */{total}")
    assert status == 308 and head["Range"] == f"bytes=0-{QUANTUM - 1}", (status, head)
    status, _, _ = api("GET", object_url("big/r.bin"))
    assert status == 404, "an unfinished upload is visible"
    status, _, raw = put(session, data[QUANTUM:], f"bytes {QUANTUM}-{total - 1}/{total}")
    answer = json.loads(raw)
    assert status == 200 and answer["size"] == str(total), (status, answer)
    status, _, raw = fetch("GET", STATE["root"] + object_url("big/r.bin") + "?alt=media")
    assert raw == data, "the object differs from what was uploaded"
    cancelled = resumable_start("big/cancelled.bin")
    status, _, _ = fetch("DELETE", cancelled)
    assert status == 499, status
    status, _, _ = put(cancelled, b"", "bytes */*")
    assert status == 404, status


def test_upload_cut_and_download_corrupted():
    data = os.urandom(2 * QUANTUM)
    session = resumable_start("cut.bin", len(data))
    put(session, data[:QUANTUM], f"bytes 0-{QUANTUM - 1}/{len(data)}")
    control("POST", "fault", {"break_upload_after": 1000})
    try:
        status, _, _ = put(session, data[QUANTUM:], f"bytes {QUANTUM}-{len(data) - 1}/"
                           f"{len(data)}")
    except (OSError, urllib.error.URLError, ConnectionError, socket.error):
        status = "cut"
    assert status == "cut", f"the connection was not cut ({status})"
    status, head, _ = put(session, b"", f"bytes */{len(data)}")
    assert status == 308 and head["Range"] == f"bytes=0-{QUANTUM - 1}", (status, head)
    status, _, raw = put(session, data[QUANTUM:], f"bytes {QUANTUM}-{len(data) - 1}/"
                         f"{len(data)}")
    assert status == 200, (status, raw)
    control("POST", "fault", {"corrupt_object": f"{BUCKET}/cut.bin"})
    status, head, raw = fetch("GET", STATE["root"] + object_url("cut.bin") + "?alt=media")
    assert status == 200 and len(raw) == len(data) and raw != data, "not corrupted"
    assert f"md5={b64(hashlib.md5(data).digest())}" in ",".join(head.get_all("x-goog-hash"))
    status, head, raw = fetch("GET", STATE["root"] + object_url("cut.bin") + "?alt=media")
    assert raw == data, "the corruption outlived one download"


# ---- independent clients ----
def gcloud_env():
    if shutil.which("gcloud") is None:
        raise Skip("gcloud not installed")
    config = os.path.join(STATE["tmp"], "gcloud-config")
    os.makedirs(config, exist_ok=True)
    return dict(os.environ, CLOUDSDK_CONFIG=config, CLOUDSDK_CORE_DISABLE_PROMPTS="1",
                CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=creds("access_token"),
                CLOUDSDK_CORE_PROJECT=ENV["FAHR_BENCH_GOOGLE_PROJECT"],
                CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE=ENV[
                    "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE"])


def gcloud(env, *args):
    done = subprocess.run(["gcloud", *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, (args, done.stderr[-2000:])
    return done.stdout


def test_gcloud_storage_cp_and_ls():
    env = gcloud_env()
    work = os.path.join(STATE["tmp"], "gcloud-files")
    os.makedirs(work)
    files = {"small.txt": b"a small file\n" * 10, "large.bin": os.urandom(9 * 1024 * 1024 + 7)}
    for name, data in files.items():
        with open(os.path.join(work, name), "wb") as f:
            f.write(data)
    control("DELETE", "requests")
    gcloud(env, "storage", "cp", os.path.join(work, "small.txt"), os.path.join(work, "large.bin"),
           f"gs://{BUCKET}/gc/")
    uploads = [e for e in control("GET", "requests") if "upload" in e["path"]]
    posts = {e.get("object"): e["query"] for e in uploads if e["method"] == "POST"}
    # > 8 MiB goes resumable (POST, then PUT to the session), the small one in one request
    assert "uploadType=resumable" in posts.get("gc/large.bin", ""), uploads
    assert [e["status"] for e in uploads if e["method"] == "PUT"][-1:] == [200], uploads
    assert any("uploadType=multipart" in e["query"] and e["status"] == 200 for e in uploads
               if e["method"] == "POST"), uploads
    for name, data in files.items():
        path = os.path.join(STATE["tmp"], "bench", "work", "storage", BUCKET, "gc", name)
        with open(path, "rb") as f:
            assert f.read() == data, f"{name} differs in the bucket"
    down = os.path.join(work, "down")
    os.makedirs(down)
    gcloud(env, "storage", "cp", f"gs://{BUCKET}/gc/*", down)
    for name, data in files.items():
        with open(os.path.join(down, name), "rb") as f:
            assert f.read() == data, f"{name} differs after the round trip"
    listed = gcloud(env, "storage", "ls", f"gs://{BUCKET}/gc/").split()
    assert listed == [f"gs://{BUCKET}/gc/large.bin", f"gs://{BUCKET}/gc/small.txt"], listed


def google_auth_python():
    gcloud_path = shutil.which("gcloud")
    if gcloud_path is None:
        raise Skip("gcloud not installed")
    sdk = os.path.dirname(os.path.dirname(os.path.realpath(gcloud_path)))
    third_party = os.path.join(sdk, "lib", "third_party")
    python = os.path.join(sdk, "platform", "bundledpythonunix", "bin", "python3")
    if not os.path.exists(python):
        python = sys.executable
    return python, third_party


GOOGLE_AUTH_SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from google.auth.transport.requests import Request
from google.oauth2 import service_account, credentials
from google.auth import exceptions
kind, path, token_uri = sys.argv[2:5]
scopes = ["https://www.googleapis.com/auth/cloud-platform"]
if kind == "service_account":
    creds = service_account.Credentials.from_service_account_file(path, scopes=scopes)
else:
    with open(path) as f:
        info = json.load(f)
    creds = credentials.Credentials(None, refresh_token=info["refresh_token"],
                                    client_id=info["client_id"],
                                    client_secret=info["client_secret"], token_uri=token_uri)
try:
    creds.refresh(Request())
except exceptions.RefreshError as error:
    print("REFUSED", error)
    sys.exit(0)
print("TOKEN", creds.token)
"""


def test_google_auth_grants():
    python, third_party = google_auth_python()
    with open(creds("service_account.json"), encoding="utf-8") as f:
        token_uri = json.load(f)["token_uri"]
    results = {}
    for kind, name in (("service_account", "service_account.json"),
                       ("service_account", "bad_service_account.json"),
                       ("authorized_user", "authorized_user.json")):
        done = subprocess.run([python, "-c", GOOGLE_AUTH_SCRIPT, third_party, kind, creds(name),
                               token_uri], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, PYTHONNOUSERSITE="1"))
        assert done.returncode == 0, (name, done.stderr[-2000:])
        results[name] = done.stdout.strip()
    assert results["service_account.json"] == f"TOKEN {token()}", results
    assert results["authorized_user.json"] == f"TOKEN {token()}", results
    assert results["bad_service_account.json"].startswith("REFUSED") and \
        "Invalid JWT Signature." in results["bad_service_account.json"], results


def main():
    tmp = tempfile.mkdtemp(prefix="google-selftest.")
    tests = [test_credentials_written, test_bearer_token_checked, test_jwt_grant,
             test_refresh_grant, test_metadata_server, test_expire_tokens,
             test_requests_validated_against_discovery, test_status_faults,
             test_objects_metadata_and_media, test_hostile_names_refused,
             test_list_pages_prefixes, test_resumable_upload,
             test_upload_cut_and_download_corrupted, test_gcloud_storage_cp_and_ls,
             test_google_auth_grants]
    print(f"1..{len(tests)}", flush=True)
    failed = 0
    try:
        start_bench(tmp)
        for number, test in enumerate(tests, 1):
            try:
                test()
                print(f"ok {number} - {test.__name__}", flush=True)
            except Skip as why:
                print(f"ok {number} - {test.__name__} # SKIP skipped: {why}", flush=True)
            except Exception:  # noqa: BLE001 - every failure is reported
                failed += 1
                print(f"not ok {number} - {test.__name__}", flush=True)
                print("# " + traceback.format_exc().replace("\n", "\n# "), flush=True)
    finally:
        subprocess.run([os.path.join(HERE, "google.sh"), "stop", os.path.join(tmp, "bench")])
        log = os.path.join(tmp, "bench", "bench.log")
        if failed and os.path.exists(log):
            with open(log, encoding="utf-8") as f:
                print("# bench.log: " + f.read()[-3000:].replace("\n", "\n# "))
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
