"""The AWS bench's managed spot training and checkpoints (a mixin of
aws_bench.Job), played as SageMaker documents them:

- CreateTrainingJob with EnableManagedSpotTraining needs
  StoppingCondition.MaxWaitTimeInSeconds, at least MaxRuntimeInSeconds;
  MaxWaitTimeInSeconds without spot is refused too (ValidationException).
- CheckpointConfig {S3Uri, LocalPath}: before each container starts, the
  objects under S3Uri are copied into the container's LocalPath (default
  /opt/ml/checkpoints); when it stops (done, failed, stopped or
  interrupted), the folder is copied back to S3Uri. (SageMaker also copies
  while the script runs; the bench only at the stop, which is all a resume
  needs.)
- A spot interruption, where the bench is started with
  FAHR_BENCH_SPOT_INTERRUPT_AFTER=SECONDS in its environment: each spot job
  is interrupted once, SECONDS after its first container's first line of
  output (so that the script has begun, however slowly the container
  started).
  SecondaryStatus goes to Interrupted, the container gets SIGTERM and
  FAHR_BENCH_SPOT_GRACE seconds (default 2; SageMaker gives 120) before it
  is killed (`docker stop -t`), its checkpoints go to S3, SecondaryStatus
  goes to Restarting and, FAHR_BENCH_SPOT_RESTART_DELAY seconds later
  (default 1), to Training, with a new container that finds the checkpoints
  restored; every host of the job is stopped and started again, each
  new container writing a new stream (algo-N-<epoch>).
- MaxWaitTimeInSeconds counts from CreateTrainingJob: a spot job still
  running then is stopped with SecondaryStatus MaxWaitTimeExceeded.
- Once the job has ended, DescribeTrainingJob gives TrainingTimeInSeconds,
  the whole seconds its containers ran (at least 1), and
  BillableTimeInSeconds: the same on demand; for spot, the bench's rule is
  30 % of it, rounded, at least 1 (a saving of 70 %, SageMaker's usual
  figure), so billable < training for any spot job of 2 s or more.
"""
import os
import shutil
import subprocess
import threading
import time

SPOT_BILLABLE_SHARE = 0.3
DEFAULT_LOCAL_PATH = "/opt/ml/checkpoints"


def spot_request_error(request):
    """Why SageMaker would refuse the request's spot settings, or None."""
    stopping = request.get("StoppingCondition") or {}
    max_wait = stopping.get("MaxWaitTimeInSeconds")
    max_runtime = stopping.get("MaxRuntimeInSeconds", 86400)
    if request.get("EnableManagedSpotTraining"):
        if max_wait is None:
            return "MaxWaitTimeInSeconds is required for managed spot training."
        if max_wait < max_runtime:
            return (f"Invalid MaxWaitTimeInSeconds: {max_wait}. It must be greater than or "
                    f"equal to MaxRuntimeInSeconds: {max_runtime}.")
    elif max_wait is not None:
        return "MaxWaitTimeInSeconds is only valid when managed spot training is enabled."
    checkpoint = request.get("CheckpointConfig")
    if checkpoint is not None and not str(checkpoint.get("S3Uri", "")).startswith("s3://"):
        return "CheckpointConfig.S3Uri must be an s3:// location."
    return None


def _seconds(name, default):
    value = os.environ.get(name)
    return float(value) if value else default


class SpotJob:
    """What aws_bench.Job gets for spot training and checkpoints; it calls
    spot_init, checkpoint_restore/checkpoint_save around each container,
    spot_arm when one starts, spot_restart after an interruption and
    spot_times in DescribeTrainingJob."""

    def spot_init(self, request):
        self.spot = bool(request.get("EnableManagedSpotTraining"))
        checkpoint = request.get("CheckpointConfig") or {}
        self.checkpoint_uri = checkpoint.get("S3Uri", "").rstrip("/")
        self.checkpoint_local = checkpoint.get("LocalPath") or DEFAULT_LOCAL_PATH
        self.interrupt_after = _seconds("FAHR_BENCH_SPOT_INTERRUPT_AFTER", None)
        self.grace = _seconds("FAHR_BENCH_SPOT_GRACE", 2)
        self.restart_delay = _seconds("FAHR_BENCH_SPOT_RESTART_DELAY", 1)
        self.interrupted_once = False
        self.interrupting = False
        self.ran_seconds = 0.0
        self.container_started = None
        max_wait = (request.get("StoppingCondition") or {}).get("MaxWaitTimeInSeconds")
        if self.spot and max_wait:
            timer = threading.Timer(max_wait, self.stop, kwargs={"secondary": "MaxWaitTimeExceeded"})
            timer.daemon = True
            timer.start()

    def checkpoint_mount(self, work):
        """docker run's volume option for the checkpoint folder, or none."""
        if not self.checkpoint_uri:
            return []
        return ["-v", f"{work}/checkpoints:{self.checkpoint_local}"]

    def _checkpoint_place(self):
        bucket, _, prefix = self.checkpoint_uri[len("s3://"):].partition("/")
        return bucket, prefix

    def checkpoint_restore(self, work):
        """The folder, emptied, then filled from S3Uri."""
        local = os.path.join(work, "checkpoints")
        shutil.rmtree(local, ignore_errors=True)
        os.makedirs(local)
        if not self.checkpoint_uri:
            return
        s3 = self.moto_client("s3")
        bucket, prefix = self._checkpoint_place()
        base = prefix + "/" if prefix else ""
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
            for item in page.get("Contents", []):
                relative = item["Key"][len(base):]
                if not relative or relative.endswith("/") or ".." in relative.split("/"):
                    continue
                destination = os.path.join(local, relative)
                os.makedirs(os.path.dirname(destination), exist_ok=True)
                s3.download_file(bucket, item["Key"], destination)

    def checkpoint_save(self, work):
        """Every file of the folder to S3Uri, under the same relative name."""
        if not self.checkpoint_uri:
            return
        s3 = self.moto_client("s3")
        bucket, prefix = self._checkpoint_place()
        local = os.path.join(work, "checkpoints")
        for root, _, files in os.walk(local):
            for name in files:
                path = os.path.join(root, name)
                relative = os.path.relpath(path, local)
                key = f"{prefix}/{relative}" if prefix else relative
                s3.upload_file(path, bucket, key)

    def spot_container_started(self):
        self.container_started = time.time()

    def spot_arm(self):
        """The container's first line: the interruption's timer, once per
        job."""
        if not self.spot or self.interrupt_after is None or self.interrupted_once:
            return
        self.interrupted_once = True
        timer = threading.Timer(self.interrupt_after, self.spot_interrupt)
        timer.daemon = True
        timer.start()

    def spot_container_ended(self):
        if self.container_started is not None:
            self.ran_seconds += time.time() - self.container_started
            self.container_started = None

    def spot_interrupt(self):
        if self.status != "InProgress" or self.secondary != "Training":
            return
        self.interrupting = True
        self.set("Interrupted")
        subprocess.run(["docker", "stop", "-t", str(int(self.grace)), *self.containers()],
                       capture_output=True)

    def spot_restart(self, work):
        """After an interrupted container: its checkpoints saved, a pause,
        and the folder restored for the next one. False when the job was
        stopped meanwhile."""
        self.interrupting = False
        self.checkpoint_save(work)
        time.sleep(self.restart_delay)
        if self.stop_requested:
            return False
        self.set("Restarting")
        time.sleep(self.restart_delay)
        self.checkpoint_restore(work)
        if self.stop_requested:
            return False
        self.set("Training")
        return True

    def spot_times(self, description):
        description["EnableManagedSpotTraining"] = self.spot
        if self.end_time is None or self.ran_seconds == 0:
            return
        training = max(1, round(self.ran_seconds))
        billable = max(1, round(training * SPOT_BILLABLE_SHARE)) if self.spot else training
        description["TrainingTimeInSeconds"] = training
        description["BillableTimeInSeconds"] = billable
