#!/usr/bin/env python3
"""The test bench's Kaggle: Kaggle's Kernels API (the RPC transport the
current CLI and kagglesdk use), playing the service for fahr's Kaggle train
driver. No Kaggle emulator exists anywhere; this one follows
tests/data/kaggle/ (the spec every request is checked against) and the wire
facts in its SOURCE.

usage: kaggle_bench.py --user USER --key KEY --token TOKEN [--image IMAGE]
                       [--dir DIR] [--queue-seconds S]

Prints "API_PORT STORAGE_PORT" as its first line of stdout (both on
127.0.0.1, free ports), then serves until killed (SIGTERM removes its
containers). IMAGE (default fahr-bench/python:3, tests/bench/docker.sh)
runs the kernels; DOCKER_HOST comes from the environment.

Credentials (every API call; else 401 {"code": 401, "message"}):
  Authorization: Bearer TOKEN           the access-token kind (KAGGLE_API_TOKEN)
  Authorization: Basic base64(USER:KEY) the legacy key (kaggle.json)
Both are USER's; a kernel slug of another owner is 403.

The API, POST {base}/v1/kernels.KernelsApiService/<Method>, base
http://127.0.0.1:API_PORT (also under /api, as the SDK's non-production
bases are), JSON bodies in camelCase; an unknown field, a wrong type or a
missing required field is 400 {"code": 400, "message"}; an unknown method
404:
  SaveKernel              {slug: "USER/SLUG" | id, newTitle, text, language
                          (python; r is accepted and fails to run),
                          kernelType (script|notebook), isPrivate,
                          enableInternet, enableGpu, enableTpu, machineShape,
                          sessionTimeoutSeconds (<= 43200; TPU 32400),
                          datasetDataSources ["OWNER/NAME"], ...}
                          -> {ref, url, versionNumber, kernelId, error?,
                          invalidDatasetSources[], ...}. A new kernel needs
                          newTitle (>= 5 characters) and a slug of >= 5
                          characters [a-z0-9-]; as on Kaggle the new kernel's
                          slug is the title's slug (lowercase, runs of other
                          characters a dash): `ref` says which. Each save is
                          a new version and starts its session. Refusals in
                          the 200: `error` (GPU/TPU quota used up, an unknown
                          machine shape), invalid*Sources (a dataset not
                          registered: the version still runs, without it;
                          competition, kernel and model sources are always
                          invalid here). Kaggle returns no session id:
                          the bench puts it in the url's ?scriptVersionId=
  GetKernelSessionStatus  {userName, kernelSlug, versionLabel?} -> {status,
                          failureMessage?}: the latest version's session
                          (or version versionLabel's)
  ListKernelSessionOutput {userName, kernelSlug, pageSize? (default 20, at
                          most 100), pageToken?} -> {files: [{url,
                          fileName}], log, nextPageToken?}: files under
                          /kaggle/working once the session has ended
                          (none before), sorted; log the JSON string of
                          [{stream_name, time, data}]
  GetKernelSessionLogsStream {userName, kernelSlug | kernelSessionId}: while
                          the session runs, text/event-stream "data: {entry}"
                          events then "data: END_OF_LOG"; after, the stored
                          log (application/json). Also as
                          GET /v1/kernels/logs/stream/OWNER/SLUG (the CLI's).
  CancelKernelSession     {kernelSessionId} -> {} or {errorMessage} (ended)
  ListKernels             {user?, search?, pageSize?, page?} -> {kernels:
                          [ApiKernelMetadata]} USER's own kernels, newest
                          first
  GetKernel               {userName, kernelSlug} -> {metadata, blob}
  GetAcceleratorQuotaStatistics {} -> {quotaRefreshTime, gpuQuota, tpuQuota}
                          durations as "Ns"; a GPU session's run time is
                          charged to gpuQuota.timeUsed when it ends
And, as POST {base}/v1/security.OAuthService/IntrospectToken (what the
Kaggle CLI asks a bearer token's user of; credentials checked as above):
  IntrospectToken         {token} -> {active: true, username: USER, userId,
                          clientId, scope, exp} for TOKEN; {} (not active)
                          for any other token

Output files (the pre-signed URLs ListKernelSessionOutput gives):
  GET|HEAD http://127.0.0.1:STORAGE_PORT/kf/SESSION/PATH?Expires=T&Signature=S
  A request with an Authorization header is 400 (as Google Cloud Storage
  answers a signed URL sent with credentials), a bad signature or an expired
  URL 403. Answers carry Content-Length, x-goog-hash: md5=<base64>,
  Last-Modified and Accept-Ranges; "Range: bytes=A-B" (or A-) is 206 with
  Content-Range, an unsatisfiable range 416. With redirect-downloads on, the
  listing's URLs are GET http://127.0.0.1:API_PORT/kaggleusercontent/kf/...
  (as www.kaggleusercontent.com's), each a 302 to the storage's URL.

Control, for the tests (no credentials; JSON in and out), under /_bench on
the API port, a path no Kaggle client calls:
  POST /_bench/fail-next       {"message"}: the next session pushed ends ERROR
                               with that failureMessage without running
  POST /_bench/errors          {"count", "status" (default 429),
                               "retryAfter"? (seconds, the header),
                               "method"? (only calls of that RPC)}: the
                               next COUNT API calls answer that status
  POST /_bench/quota           {"accelerator": "gpu"|"tpu", "usedSeconds",
                               "allowedSeconds"?}: set the quota
                               (used >= allowed: exhausted)
  POST /_bench/break-download  {"count"? (default 1)}: the next downloads
                               send their headers and half the body, then
                               close the connection
  POST /_bench/corrupt-file    {"file": "model/NAME"}: that output file is
                               served with a byte changed and the hash
                               (x-goog-hash, ETag) of the stored bytes
  POST /_bench/redirect-downloads {"on"? (default true)}: file URLs as
                               kaggleusercontent's (a 302 to the storage)
  POST /_bench/datasets        {"ref": "OWNER/NAME", "path": DIR}: serve DIR
                               as that dataset (/kaggle/input/NAME)
  GET  /_bench/requests        [{port: "api"|"storage", method, path, status,
                               auth: "bearer"|"basic"|"none"|"bad",
                               authorization (bool), body? (an API call's
                               JSON), range? (a download's Range)}] so far
  DELETE /_bench/requests      forget them
  GET  /_bench/sessions        [{id, ref, version, status, failureMessage}]
"""
import argparse
import signal
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kaggle_bench_jobs  # noqa: E402 (after the line above)
from kaggle_bench_http import ApiHandler, StorageHandler  # noqa: E402
from kaggle_bench_service import Bench  # noqa: E402
from kaggle_bench_spec import Spec  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--user", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--image", default="fahr-bench/python:3")
    parser.add_argument("--dir", default=None)
    parser.add_argument("--queue-seconds", type=float, default=0.3)
    args = parser.parse_args()

    workdir = args.dir or tempfile.mkdtemp(prefix="kaggle-bench.")
    api = ThreadingHTTPServer(("127.0.0.1", 0), ApiHandler)
    storage = ThreadingHTTPServer(("127.0.0.1", 0), StorageHandler)
    api.daemon_threads = storage.daemon_threads = True
    bench = Bench(Spec(), args, workdir, storage.server_address[1])
    bench.api_port = api.server_address[1]
    api.bench = storage.bench = bench
    print(api.server_address[1], storage.server_address[1], flush=True)
    threading.Thread(target=storage.serve_forever, daemon=True).start()

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        api.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        kaggle_bench_jobs.cleanup(bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())
