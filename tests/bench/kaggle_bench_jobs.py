"""Kernels and their sessions for tests/bench/kaggle_bench.py: each pushed
version runs, as Kaggle runs it, in a container of the bench's base image
(the docker CLI, DOCKER_HOST from the environment).

In the container: the script (or the notebook, executed with nbconvert's
ExecutePreprocessor as the local driver's run.sh does) is /kaggle/src/NAME,
the working directory is /kaggle/working (what is left there is the
session's output), each dataset source is /kaggle/input/<dataset-slug>
(read-only), KAGGLE_KERNEL_RUN_TYPE=Batch, root user, no network unless
enableInternet. The user's text runs unchanged.

A session walks QUEUED -> RUNNING -> COMPLETE | ERROR (failureMessage
"Kernel exited with code N: <last line of stderr>") or, cancelled,
CANCEL_REQUESTED -> CANCEL_ACKNOWLEDGED; past sessionTimeoutSeconds it is
killed and ends ERROR ("Session timed out after N seconds"). The log is
Kaggle's [{stream_name, time, data}], time in seconds since the start.
"""
import json
import os
import shutil
import subprocess
import threading
import time

TERMINAL = ("COMPLETE", "ERROR", "CANCEL_ACKNOWLEDGED")

NOTEBOOK_RUNNER = r"""
import os, sys, warnings
warnings.filterwarnings("ignore", module="nbformat")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
import nbformat
from nbconvert.preprocessors import ExecutePreprocessor
notebook = nbformat.read(sys.argv[1], as_version=4)


def echo_outputs(cell, **_):
    # Kaggle's log of a notebook holds its cells' outputs.
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            stream = sys.stdout if output.get("name") == "stdout" else sys.stderr
            stream.write("".join(output.get("text", "")))
            stream.flush()


failure = None
try:
    ExecutePreprocessor(timeout=-1, on_cell_executed=echo_outputs).preprocess(
        notebook, {"metadata": {"path": "/kaggle/working"}})
except BaseException as error:
    failure = error
finally:
    nbformat.write(notebook, "/kaggle/working/__notebook__.ipynb")
if failure is not None:
    print("%s: %s" % (getattr(failure, "ename", type(failure).__name__),
                      getattr(failure, "evalue", str(failure))), file=sys.stderr)
    sys.exit(1)
"""


class Session:
    """One run of one kernel version."""

    def __init__(self, bench, session_id, kernel, version, request):
        self.bench = bench
        self.id = session_id
        self.kernel = kernel
        self.version = version
        self.request = request
        self.status = "QUEUED"
        self.failure = None
        self.log = []
        self.started = None
        self.ended = None
        self.cancel_wanted = False
        self.dir = os.path.join(bench.dir, "sessions", str(session_id))
        self.working = os.path.join(self.dir, "working")
        self.container = f"kaggle-bench-{os.getpid()}-{session_id}"
        self.changed = threading.Condition(bench.lock)

    def set_status(self, status, failure=None):
        with self.bench.lock:
            if self.status in TERMINAL:
                return
            self.status = status
            if failure is not None:
                self.failure = failure
            if status in TERMINAL:
                self.ended = time.time()
            self.changed.notify_all()

    def add_log(self, stream, data):
        with self.bench.lock:
            self.log.append({"stream_name": stream,
                             "time": round(time.time() - (self.started or time.time()), 6),
                             "data": data})
            self.changed.notify_all()

    def output_files(self):
        """Relative paths of the files under /kaggle/working, sorted."""
        found = []
        for root, _dirs, files in os.walk(self.working):
            for name in files:
                full = os.path.join(root, name)
                if os.path.isfile(full) and not os.path.islink(full):
                    found.append(os.path.relpath(full, self.working))
        return sorted(found)

    def cancel(self):
        with self.bench.lock:
            if self.status in TERMINAL:
                return False
            self.cancel_wanted = True
            self.status = "CANCEL_REQUESTED"
            self.changed.notify_all()
        subprocess.run(["docker", "kill", self.container], capture_output=True)
        return True

    def run(self, fail_reason):
        try:
            self.run_unguarded(fail_reason)
        except Exception as error:  # the bench's own fault: say so in the log
            self.add_log("stderr", f"kaggle_bench: {error}\n")
            self.set_status("ERROR", f"bench failure: {error}")
        finally:
            subprocess.run(["docker", "rm", "-f", self.container], capture_output=True)
            self.bench.session_ended(self)

    def run_unguarded(self, fail_reason):
        time.sleep(self.bench.queue_seconds)
        if self.cancel_wanted:
            self.set_status("CANCEL_ACKNOWLEDGED")
            return
        self.started = time.time()
        self.set_status("RUNNING")
        if fail_reason is not None:
            time.sleep(self.bench.queue_seconds)
            self.add_log("stderr", fail_reason + "\n")
            self.set_status("ERROR", fail_reason)
            return
        if self.request.get("language") not in (None, "python"):
            self.set_status("ERROR", "the bench runs Python kernels only")
            return
        process = subprocess.Popen(self.docker_command(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        readers = [threading.Thread(target=self.read_stream, args=(name, pipe), daemon=True)
                   for name, pipe in (("stdout", process.stdout), ("stderr", process.stderr))]
        for reader in readers:
            reader.start()
        timeout = self.request.get("sessionTimeoutSeconds")
        timed_out = False
        try:
            code = process.wait(timeout=int(timeout) if timeout else None)
        except subprocess.TimeoutExpired:
            timed_out = True
            subprocess.run(["docker", "kill", self.container], capture_output=True)
            code = process.wait()
        for reader in readers:
            reader.join()
        if self.cancel_wanted:
            self.set_status("CANCEL_ACKNOWLEDGED")
        elif timed_out:
            self.set_status("ERROR", f"Session timed out after {timeout} seconds")
        elif code != 0:
            last = [e["data"].strip() for e in self.log
                    if e["stream_name"] == "stderr" and e["data"].strip()]
            reason = f"Kernel exited with code {code}"
            self.set_status("ERROR", reason + (f": {last[-1]}" if last else ""))
        else:
            self.set_status("COMPLETE")

    def read_stream(self, name, pipe):
        for line in iter(pipe.readline, b""):
            self.add_log(name, line.decode("utf-8", "replace"))
        pipe.close()

    def docker_command(self):
        src = os.path.join(self.dir, "src")
        os.makedirs(src, exist_ok=True)
        os.makedirs(self.working, exist_ok=True)
        notebook = self.request.get("kernelType") == "notebook"
        name = "__notebook_source__.ipynb" if notebook else "script.py"
        with open(os.path.join(src, name), "w", encoding="utf-8") as f:
            f.write(self.request.get("text", ""))
        command = ["docker", "run", "--name", self.container, "-i",
                   "-v", f"{src}:/kaggle/src:ro", "-v", f"{self.working}:/kaggle/working",
                   "-w", "/kaggle/working", "-e", "KAGGLE_KERNEL_RUN_TYPE=Batch",
                   "-e", "PYTHONUNBUFFERED=1"]
        if not self.request.get("enableInternet"):
            command += ["--network", "none"]
        for ref in self.request.get("datasetDataSources") or []:
            path = self.bench.datasets.get(ref)
            if path is not None:
                command += ["-v", f"{path}:/kaggle/input/{ref.split('/', 1)[1]}:ro"]
        command.append(self.bench.image)
        if notebook:
            return command + ["python3", "-c", NOTEBOOK_RUNNER, f"/kaggle/src/{name}"]
        return command + ["python3", f"/kaggle/src/{name}"]

    def log_json(self):
        with self.bench.lock:
            return json.dumps(self.log)


def cleanup(bench):
    """Remove the containers of sessions still running (the bench is ending)."""
    for session in list(bench.sessions.values()):
        if session.status not in TERMINAL:
            subprocess.run(["docker", "rm", "-f", session.container], capture_output=True)
    shutil.rmtree(os.path.join(bench.dir, "sessions"), ignore_errors=True)
