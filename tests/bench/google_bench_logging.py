"""Cloud Logging for the Google bench: the store the job runner writes the
containers' lines to, and `POST /v2/entries:list`.

Entries are ordered by (timestamp, insertId) as Logging orders them. The
bench stamps at millisecond resolution, so lines a container writes in one
burst share a timestamp and only insertId tells them apart: a client that
continues with `timestamp>"T"` alone loses lines, one that continues with
gcloud's `(timestamp="T" AND insertId>"I") OR timestamp>"T"` does not.
insertIds grow with each entry (fixed width, so string order is arrival
order).

A page token carries the sort key of the page's last entry, not an offset:
entries that arrive between pages cannot make the next page repeat one."""
import base64
import json
import threading
import time

import google_bench_filter as bench_filter
import google_bench_jobs

ORDERS = {"": False, "timestamp": False, "timestamp asc": False, "timestamp desc": True}
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


class GoogleError(Exception):
    def __init__(self, code, status, message):
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


class LogStore:
    def __init__(self, project, number=None):
        self.project = project
        self.number = number
        self.lock = threading.Lock()
        self.entries = []  # (timestamp_ns, insertId, entry)
        self.counter = 0
        self.last_ms = 0

    def append(self, job_id, stream, text, task_name="workerpool0-0"):
        """One line of a job's container (stream "stdout" or "stderr")."""
        with self.lock:
            self.counter += 1
            # Never earlier than the entry before: the bench's clock may step.
            self.last_ms = max(self.last_ms, int(time.time() * 1000))
            nanos = self.last_ms * 10**6
            insert_id = f"{self.counter:012d}"
            entry = {
                "logName": f"projects/{self.project}/logs/workerpool0-0",
                "resource": {"type": "ml_job",
                             "labels": {"job_id": str(job_id), "task_name": task_name,
                                        "project_id": self.project}},
                "timestamp": bench_filter.format_time(nanos),
                "receiveTimestamp": bench_filter.format_time(nanos),
                "severity": "ERROR" if stream == "stderr" else "INFO",
                "insertId": insert_id,
                "labels": {"ml.googleapis.com/tpu_worker_id": "",
                           "compute.googleapis.com/resource_name": "bench"},
                "textPayload": text,
            }
            self.entries.append((nanos, insert_id, entry))
            return entry

    def snapshot(self):
        with self.lock:
            return list(self.entries)


def encode_token(key, query):
    raw = json.dumps({"after": key, "query": query}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token, query):
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        after = state["after"]
        valid = state["query"] == query and len(after) == 2
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise GoogleError(400, "INVALID_ARGUMENT", "page_token doesn't match arguments "
                           "from the request")
    return tuple(after)


def list_entries(store, body):
    """The answer to entries:list for a request body (already schema-checked)."""
    names = body.get("resourceNames") or []
    if not names:
        raise GoogleError(400, "INVALID_ARGUMENT", "resourceNames: at least one "
                           "resource name is required")
    wanted = {f"projects/{store.project}", f"projects/{store.number}"}
    for name in names:
        if name not in wanted:
            raise GoogleError(403, "PERMISSION_DENIED", f"The caller does not have "
                               f"permission for resource {name}")
    order = (body.get("orderBy") or "").strip()
    if order not in ORDERS:
        raise GoogleError(400, "INVALID_ARGUMENT", f"invalid orderBy {order!r}: only "
                           "\"timestamp asc\" and \"timestamp desc\" are supported")
    descending = ORDERS[order]
    try:
        tree = bench_filter.parse(body.get("filter"))
        size = int(body.get("pageSize") or DEFAULT_PAGE_SIZE)
    except (bench_filter.FilterError, ValueError) as error:
        raise GoogleError(400, "INVALID_ARGUMENT", f"Invalid query: {error}") from None
    if size <= 0:
        raise GoogleError(400, "INVALID_ARGUMENT", "pageSize must be positive")
    size = min(size, MAX_PAGE_SIZE)
    query = [sorted(names), body.get("filter") or "", order]
    after = decode_token(body["pageToken"], query) if body.get("pageToken") else None
    rows = sorted(((nanos, insert_id), entry) for nanos, insert_id, entry in store.snapshot())
    if descending:
        rows.reverse()
    page = []
    for key, entry in rows:
        if after is not None and (key <= after if not descending else key >= after):
            continue
        try:
            if not bench_filter.matches(tree, bench_filter.dotted_lookup(entry)):
                continue
        except bench_filter.FilterError as error:
            raise GoogleError(400, "INVALID_ARGUMENT", f"Invalid query: {error}") from None
        page.append((key, entry))
        if len(page) == size + 1:
            break
    answer = {"entries": [entry for _, entry in page[:size]]}
    if len(page) > size:
        answer["nextPageToken"] = encode_token(list(page[size - 1][0]), query)
    if not answer["entries"]:
        del answer["entries"]  # proto3 JSON leaves an empty list out
    return answer


# ---- the service (google_bench_http's framework) ----
def start(bench):
    bench.log_store = LogStore(bench.project, google_bench_jobs.project_number(bench))


def routes(bench):
    from google_bench_http import Route
    return [Route("POST", r"/v2/entries:list", "logging.entries.list",
                  lambda request: list_entries(bench.log_store, request.body or {}))]
