"""The job runner of the Google bench: one CustomJob's worker pool 0, replica
0, run through the Docker engine (the docker CLI, DOCKER_HOST from the
environment) as Vertex runs it.

QUEUED -> PENDING: the image is pulled from the bench's registry with the
bench's current access token (the image's host must be that registry and
its PROJECT/REPO a repository created through the Artifact Registry API,
else the job fails as Vertex's does on an image it cannot pull).
-> RUNNING: `docker run IMAGE ARGS` (containerSpec.command, if any, is the
entrypoint), env = containerSpec.env + AIP_MODEL_DIR, AIP_CHECKPOINT_DIR,
AIP_TENSORBOARD_LOG_DIR (gs:// under baseOutputDirectory) + CLOUD_ML_JOB_ID,
every bucket directory of bench.storage_root bind-mounted at /gcs/BUCKET
(what Cloud Storage FUSE shows). Each line of stdout (INFO) and stderr
(ERROR) becomes a Logging entry.
-> SUCCEEDED on exit 0; FAILED with error 13 and Vertex's "The replica
workerpool0-0 exited with a non-zero status of N." plus the container's
/opt/ml/output/failure; past scheduling.timeout the container is killed and
the job FAILED (code 4). A cancel makes it CANCELLING, stops the container,
then CANCELLED with error code 1."""
import copy
import hashlib
import os
import subprocess
import tempfile
import threading
import time

import google_bench_filter as bench_filter

TERMINAL = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED",
            "JOB_STATE_EXPIRED", "JOB_STATE_PARTIALLY_SUCCEEDED")
STEP_SECONDS = 0.3  # time in QUEUED and before RUNNING: long enough to be seen


def project_number(bench):
    """The project's number, which Vertex puts in the names it answers: the
    framework's if it has one, else one derived from the project id (stable
    across runs, 12 digits as Google's are)."""
    if getattr(bench, "project_number", None) is None:
        digest = hashlib.sha256(bench.project.encode()).digest()
        bench.project_number = 10**11 + int.from_bytes(digest[:8], "big") % (9 * 10**11)
    return bench.project_number


def docker(*args, **kwargs):
    return subprocess.run(["docker", *args], capture_output=True, text=True, **kwargs)


class JobRun:
    def __init__(self, bench, job_id, location, job, fail_message):
        self.bench = bench
        self.id = job_id
        self.location = location
        self.job = job
        self.fail_message = fail_message
        self.lock = threading.Lock()
        self.cancel_wanted = False
        self.container = f"google-bench-{os.getpid()}-{job_id}"

    def start(self):
        threading.Thread(target=self.run, daemon=True).start()

    def snapshot(self):
        with self.lock:
            return copy.deepcopy(self.job)

    def set_state(self, state, error=None):
        with self.lock:
            if self.job["state"] in TERMINAL:
                return False
            if self.cancel_wanted and state in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING"):
                return False  # CANCELLING stays until the job is CANCELLED
            stamp = bench_filter.format_time(time.time_ns())
            self.job["state"] = state
            self.job["updateTime"] = stamp
            if state == "JOB_STATE_RUNNING":
                self.job["startTime"] = stamp
            if state in TERMINAL:
                self.job["endTime"] = stamp
            if error is not None:
                self.job["error"] = error
            return True

    def cancel(self):
        with self.lock:
            if self.job["state"] in TERMINAL:
                return False
            self.cancel_wanted = True
        self.set_state("JOB_STATE_CANCELLING")
        docker("stop", "-t", "1", self.container)
        return True

    def cancelled(self):
        if self.cancel_wanted:
            self.set_state("JOB_STATE_CANCELLED", {"code": 1, "message": "CANCELED"})
        return self.cancel_wanted

    def fail(self, code, message):
        self.set_state("JOB_STATE_FAILED", {"code": code, "message": message})

    def run(self):
        try:
            self.run_unguarded()
        except Exception as error:  # the bench's own fault: the job fails saying so
            self.bench.log_store.append(self.id, "stderr", f"google_bench: {error!r}")
            self.fail(13, f"google bench failure: {error!r}")
        finally:
            self.remove_container()

    def run_unguarded(self):
        time.sleep(STEP_SECONDS)
        if self.cancelled():
            return
        self.set_state("JOB_STATE_PENDING")
        pool = self.job["jobSpec"]["workerPoolSpecs"][0]
        if self.fail_message is not None:
            time.sleep(STEP_SECONDS)
            return self.fail(13, self.fail_message)
        image = pool["containerSpec"]["imageUri"]
        problem = self.bench.registry.pull(image)
        if problem is not None:
            return self.fail(3, f"Unable to pull the image {image} for the replica "
                             f"workerpool0-0: {problem}")
        if self.cancelled():
            return
        self.set_state("JOB_STATE_RUNNING")
        code, timed_out = self.run_container(self.docker_command(image, pool))
        if self.cancelled():
            return
        if timed_out:
            return self.fail(4, "The job exceeded its scheduling timeout and was stopped.")
        if code == 0:
            self.set_state("JOB_STATE_SUCCEEDED")
            return
        message = (f"The replica workerpool0-0 exited with a non-zero status of {code}. "
                   "Termination reason: Error.")
        failure = self.failure_text()
        if failure:
            message += " " + failure
        message += (" To find out more about why your job exited please check the logs: "
                    f"resource.type=\"ml_job\" resource.labels.job_id=\"{self.id}\"")
        self.fail(13, message)

    def environment(self, pool):
        env = [(item["name"], item.get("value", ""))
               for item in pool["containerSpec"].get("env") or []]
        base = (self.job["jobSpec"].get("baseOutputDirectory") or {}).get("outputUriPrefix")
        if base:
            base = base.rstrip("/")
            env += [("AIP_MODEL_DIR", f"{base}/model/"),
                    ("AIP_CHECKPOINT_DIR", f"{base}/checkpoints/"),
                    ("AIP_TENSORBOARD_LOG_DIR", f"{base}/logs/")]
        return env + [("CLOUD_ML_JOB_ID", self.id)]

    def docker_command(self, image, pool):
        command = ["docker", "run", "--name", self.container, "-i"]
        for name, value in self.environment(pool):
            command += ["-e", f"{name}={value}"]
        root = str(self.bench.storage_root)
        for bucket in sorted(os.listdir(root)):
            if os.path.isdir(os.path.join(root, bucket)):
                command += ["-v", f"{os.path.join(root, bucket)}:/gcs/{bucket}"]
        entry = pool["containerSpec"].get("command") or []
        if entry:
            command += ["--entrypoint", entry[0]]
        return command + [image] + entry[1:] + list(pool["containerSpec"].get("args") or [])

    def run_container(self, command):
        timeout = (self.job["jobSpec"].get("scheduling") or {}).get("timeout")
        deadline = time.time() + float(timeout[:-1]) if timeout else None
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        readers = [threading.Thread(target=self.read_stream, args=(name, pipe), daemon=True)
                   for name, pipe in (("stdout", process.stdout), ("stderr", process.stderr))]
        for reader in readers:
            reader.start()
        timed_out = False
        # Polled: a cancel that came while the container was being created
        # found nothing to stop; this loop stops it.
        while process.poll() is None:
            timed_out = deadline is not None and time.time() > deadline
            if self.cancel_wanted or timed_out:
                docker("stop", "-t", "1", self.container)
            time.sleep(0.1)
        for reader in readers:
            reader.join()
        return process.returncode, timed_out

    def read_stream(self, name, pipe):
        for line in iter(pipe.readline, b""):
            self.bench.log_store.append(self.id, name,
                                        line.decode("utf-8", "replace").rstrip("\r\n"))
        pipe.close()

    def failure_text(self):
        with tempfile.TemporaryDirectory(prefix="google-bench-failure-") as scratch:
            target = os.path.join(scratch, "failure")
            if docker("cp", f"{self.container}:/opt/ml/output/failure", target).returncode:
                return ""
            if not os.path.isfile(target):
                return ""
            with open(target, encoding="utf-8", errors="replace") as f:
                return f.read(4096).strip()

    def remove_container(self):
        docker("rm", "-f", self.container)
