"""Vertex AI CustomJobs for the Google bench: create, get, list, cancel
(`v1/projects/P/locations/L/customJobs...`). The request bodies are
checked against the discovery document by the framework; this module
checks what the document cannot say (required fields, the chief pool's
replica count, gs:// output) with Vertex's messages, and keeps the jobs.
A created job runs at once (google_bench_jobs.JobRun).

Names carry the project NUMBER, as Vertex answers (bench.project_number);
requests may name the project by id or number. List answers newest first,
pages keyed by (createTime, id) so a job created between pages is not seen
twice. Faults (control /fault): {"job_fail": MESSAGE} makes the next job
created fail before its container starts, with that message."""
import base64
import json
import random
import re
import threading
import time

import google_bench_filter as bench_filter
import google_bench_jobs as jobs
from google_bench_logging import GoogleError

PARENT = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/customJobs"
JOB = PARENT + r"/(?P<job>[^/:]+)"
LIST_ALIASES = {"display_name": "displayName", "create_time": "createTime",
                "update_time": "updateTime", "start_time": "startTime", "end_time": "endTime"}
METHOD = "aiplatform.projects.locations.customJobs."


def now_rfc3339():
    return bench_filter.format_time(time.time_ns())


def invalid(field, message):
    return GoogleError(400, "INVALID_ARGUMENT", f"List of found errors:\t1.Field: {field}; "
                       f"Message: {message}\t")


def check_job(body):
    """What the discovery document cannot check: required fields, pool 0."""
    if not body.get("displayName"):
        raise invalid("custom_job.display_name", "Required field is not set.")
    pools = (body.get("jobSpec") or {}).get("workerPoolSpecs") or []
    if not pools:
        raise invalid("custom_job.job_spec.worker_pool_specs", "Required field is not set.")
    for index, pool in enumerate(pools):
        where = f"custom_job.job_spec.worker_pool_specs[{index}]"
        if not (pool.get("machineSpec") or {}).get("machineType"):
            raise invalid(f"{where}.machine_spec.machine_type", "Required field is not set.")
        if not (pool.get("containerSpec") or {}).get("imageUri"):
            raise invalid(f"{where}.container_spec.image_uri",
                          "Required field is not set (the bench runs container specs only).")
        try:
            replicas = int(pool.get("replicaCount", 0))
        except ValueError:
            raise invalid(f"{where}.replica_count", "Invalid value.") from None
        if index == 0 and replicas != 1:
            raise invalid(f"{where}.replica_count", "The first worker pool's replica count "
                          "must be 1.")
    prefix = ((body["jobSpec"].get("baseOutputDirectory") or {}).get("outputUriPrefix"))
    if prefix is not None and not prefix.startswith("gs://"):
        raise invalid("custom_job.job_spec.base_output_directory.output_uri_prefix",
                      "The output URI must start with gs://.")
    timeout = (body["jobSpec"].get("scheduling") or {}).get("timeout")
    if timeout is not None and not re.fullmatch(r"\d+(\.\d{1,9})?s", timeout):
        raise invalid("custom_job.job_spec.scheduling.timeout", "Invalid duration.")


def with_defaults(spec):
    """The jobSpec as Vertex echoes it: int64 as strings, disk defaults."""
    spec = json.loads(json.dumps(spec))
    for pool in spec["workerPoolSpecs"]:
        pool["replicaCount"] = str(pool.get("replicaCount", "1"))
        disk = pool.setdefault("diskSpec", {})
        disk.setdefault("bootDiskType", "pd-ssd")
        disk.setdefault("bootDiskSizeGb", 100)
    return spec


class Vertex:
    def __init__(self, bench):
        self.bench = bench
        self.lock = threading.Lock()
        self.jobs = {}  # numeric id -> JobRun
        self.next_id = random.randrange(10**18, 9 * 10**18)

    def project_of(self, project, permission):
        if project not in (self.bench.project, str(self.bench.project_number)):
            raise GoogleError(403, "PERMISSION_DENIED", f"Permission '{permission}' denied on "
                              f"resource '//aiplatform.googleapis.com/projects/{project}' (or "
                              "it may not exist).")
        return str(self.bench.project_number)

    def find(self, project, location, job_id):
        number = self.project_of(project, "aiplatform.customJobs.get")
        with self.lock:
            run = self.jobs.get(job_id)
        if run is None or run.location != location:
            raise GoogleError(404, "NOT_FOUND", f'The CustomJob "projects/{number}/locations/'
                              f'{location}/customJobs/{job_id}" is not found.')
        return run

    def create(self, project, location, body):
        number = self.project_of(project, "aiplatform.customJobs.create")
        check_job(body)
        fail = self.bench.faults.pop("job_fail", None)
        with self.lock:
            self.next_id += 1
            job_id = str(self.next_id)
        stamp = now_rfc3339()
        job = {"name": f"projects/{number}/locations/{location}/customJobs/{job_id}",
               "displayName": body["displayName"], "jobSpec": with_defaults(body["jobSpec"]),
               "state": "JOB_STATE_QUEUED", "createTime": stamp, "updateTime": stamp}
        if body.get("labels"):
            job["labels"] = dict(body["labels"])
        run = jobs.JobRun(self.bench, job_id, location, job, fail)
        with self.lock:
            self.jobs[job_id] = run
        run.start()
        return run.snapshot()

    def list(self, project, location, query):
        self.project_of(project, "aiplatform.customJobs.list")
        try:
            tree = bench_filter.parse(query.get("filter", ""))
            size = int(query.get("pageSize") or 100)
        except (bench_filter.FilterError, ValueError) as error:
            raise GoogleError(400, "INVALID_ARGUMENT", f"Invalid filter: {error}") from None
        size = max(1, min(size, 1000))
        token_query = [location, query.get("filter", "")]
        after = None
        if query.get("pageToken"):
            try:
                state = json.loads(base64.urlsafe_b64decode(query["pageToken"].encode()))
                after, valid = tuple(state["after"]), state["query"] == token_query
            except (ValueError, KeyError, TypeError):
                valid = False
            if not valid:
                raise GoogleError(400, "INVALID_ARGUMENT", "Invalid page token.")
        with self.lock:
            runs = [run for run in self.jobs.values() if run.location == location]
        rows = sorted(((bench_filter.parse_time(job["createTime"]), int(run.id)), job)
                      for run in runs for job in [run.snapshot()])
        rows.reverse()
        page = []
        for key, job in rows:
            if after is not None and key >= after:
                continue
            try:
                if not bench_filter.matches(tree, bench_filter.dotted_lookup(job, LIST_ALIASES)):
                    continue
            except bench_filter.FilterError as error:
                raise GoogleError(400, "INVALID_ARGUMENT", f"Invalid filter: {error}") from None
            page.append((key, job))
            if len(page) > size:
                break
        answer = {"customJobs": [job for _, job in page[:size]]} if page else {}
        if len(page) > size:
            raw = json.dumps({"after": list(page[size - 1][0]), "query": token_query})
            answer["nextPageToken"] = base64.urlsafe_b64encode(raw.encode()).decode()
        return answer

    def cancel(self, project, location, job_id):
        run = self.find(project, location, job_id)
        if not run.cancel():
            raise GoogleError(400, "FAILED_PRECONDITION", f"Cannot cancel CustomJob "
                              f"\"{run.snapshot()['name']}\" because it is in "
                              f"{run.snapshot()['state']} state.")
        return {}

    def stop_all(self):
        with self.lock:
            runs = list(self.jobs.values())
        for run in runs:
            if run.snapshot()["state"] not in jobs.TERMINAL:
                run.cancel_wanted = True  # its thread ends it CANCELLED, not FAILED
                run.remove_container()


# ---- the service (google_bench_http's framework) ----
def start(bench):
    jobs.project_number(bench)
    bench.vertex = Vertex(bench)


def stop(bench):
    bench.vertex.stop_all()


def routes(bench):
    from google_bench_http import Route
    vertex = bench.vertex

    def where(request):
        return request.groups["project"], request.groups["location"]

    return [
        Route("POST", PARENT + "$", METHOD + "create",
              lambda request: vertex.create(*where(request), request.body or {})),
        Route("GET", PARENT + "$", METHOD + "list",
              lambda request: vertex.list(*where(request), request.query)),
        Route("GET", JOB + "$", METHOD + "get",
              lambda request: vertex.find(*where(request), request.groups["job"]).snapshot()),
        Route("POST", JOB + ":cancel$", METHOD + "cancel",
              lambda request: vertex.cancel(*where(request), request.groups["job"])),
    ]
