"""The bench's SageMaker instances: one container per host of a training job.

As SageMaker documents for a job of InstanceCount N: hosts algo-1 ... algo-N,
each with /opt/ml/input/config/resourceconfig.json naming itself
(current_host) and all of them (hosts), on a network of the job's own where
each resolves the others by name; each host's output goes to its own
CloudWatch stream, <job>/algo-N-<epoch>; the job succeeds when every host
exits 0 and fails as soon as one fails (the others are stopped); the model
is what all hosts wrote to /opt/ml/model, in one archive ("if multiple
containers write to this directory they should ensure no file/directory
names clash": where they do, the lowest host's file is kept).
"""
import io
import json
import os
import subprocess
import tarfile
import threading
import time


def host_names(resources):
    try:
        count = int(resources.get("InstanceCount", 1))
    except (TypeError, ValueError):
        count = 1
    return [f"algo-{i}" for i in range(1, max(1, count) + 1)]


def write_config(directory, host, hosts, resources, hyperparameters, channels):
    """A host's /opt/ml/input/config."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "hyperparameters.json"), "w") as f:
        json.dump({k: str(v) for k, v in hyperparameters.items()}, f)
    instance_type = resources.get("InstanceType", "ml.m5.large")
    with open(os.path.join(directory, "resourceconfig.json"), "w") as f:
        json.dump({"current_host": host, "current_instance_type": instance_type,
                   "current_group_name": "homogeneousCluster", "hosts": hosts,
                   "instance_groups": [{"instance_group_name": "homogeneousCluster",
                                        "instance_type": instance_type, "hosts": hosts}],
                   "network_interface_name": "eth0"}, f)
    with open(os.path.join(directory, "inputdataconfig.json"), "w") as f:
        json.dump({c["ChannelName"]: {"TrainingInputMode": "File",
                                      "S3DistributionType": "FullyReplicated",
                                      "RecordWrapperType": "None"} for c in channels}, f)


class Hosts:
    """The containers of one run of a job (a spot restart makes a new run)."""

    def __init__(self, job, work, logs_client_factory, log_group):
        self.job = job
        self.work = work
        self.names = host_names(job.resources)
        self.network = f"fahr-bench-{job.name}"
        self.new_logs_client = logs_client_factory
        self.log_group = log_group
        self.codes = {}
        self.first_failed = None
        self.lock = threading.Lock()

    def container(self, host):
        return f"fahr-bench-{self.job.name}-{host}"

    def containers(self):
        return [self.container(host) for host in self.names]

    def prepare(self):
        """Each host's folders and config; the input data is shared."""
        for host in self.names:
            root = os.path.join(self.work, host)
            for part in ("model", "output"):
                os.makedirs(os.path.join(root, part), exist_ok=True)
            write_config(os.path.join(root, "config"), host, self.names, self.job.resources,
                         self.job.hyperparameters, self.job.channels)
        os.makedirs(os.path.join(self.work, "input", "data"), exist_ok=True)

    def run(self, volumes=(), on_line=lambda: None):
        """Runs every host to its end, each with the extra docker run
        `volumes` (the checkpoint folder) and calling `on_line` for each line
        of output; returns {host: exit code}."""
        self.codes, self.first_failed = {}, None
        self.volumes, self.on_line = list(volumes), on_line
        subprocess.run(["docker", "network", "rm", self.network], capture_output=True)
        subprocess.run(["docker", "network", "create", self.network], capture_output=True,
                       check=True)
        try:
            epoch = int(time.time())
            threads = [threading.Thread(target=self.run_host, args=(host, epoch), daemon=True)
                       for host in self.names]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            subprocess.run(["docker", "rm", "-f", *self.containers()], capture_output=True)
            subprocess.run(["docker", "network", "rm", self.network], capture_output=True)
        return dict(self.codes)

    def run_host(self, host, epoch):
        if self.job.stop_requested:
            with self.lock:
                self.codes[host] = 137
            return
        logs = self.new_logs_client()
        stream = f"{self.job.name}/{host}-{epoch}"
        try:
            logs.create_log_stream(logGroupName=self.log_group, logStreamName=stream)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass  # a restart within the second of the run before

        root = os.path.join(self.work, host)
        process = subprocess.Popen(
            ["docker", "run", "--name", self.container(host), "--network", self.network,
             "--hostname", host, "--network-alias", host,
             "-v", f"{root}/model:/opt/ml/model", "-v", f"{root}/output:/opt/ml/output",
             "-v", f"{root}/config:/opt/ml/input/config",
             "-v", f"{self.work}/input/data:/opt/ml/input/data", *self.volumes,
             "-e", f"TRAINING_JOB_NAME={self.job.name}", self.job.image, "train"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for raw in process.stdout:
            self.on_line()
            line = raw.decode("utf-8", "replace").rstrip("\n")
            logs.put_log_events(logGroupName=self.log_group, logStreamName=stream,
                                logEvents=[{"timestamp": int(time.time() * 1000),
                                            "message": line}])
        code = process.wait()
        with self.lock:
            self.codes[host] = code
            # A spot interruption stops every host: none of them failed.
            failed_first = (code != 0 and self.first_failed is None
                            and not self.job.interrupting and not self.job.stop_requested)
            if failed_first:
                self.first_failed = host
        if failed_first:
            # One host failed: SageMaker ends the job, the others with it.
            others = [self.container(h) for h in self.names if h != host]
            subprocess.run(["docker", "kill", *others], capture_output=True)

    def failure(self):
        """The reason of the host that failed first, as SageMaker gives it."""
        host = self.first_failed
        if host is None:
            return None
        path = os.path.join(self.work, host, "output", "failure")
        if os.path.exists(path):
            return open(path).read().strip()
        return f"exit code {self.codes[host]}"

    def model_archive(self):
        """model.tar.gz of every host's /opt/ml/model; a name two hosts wrote
        is the lowest host's."""
        buffer = io.BytesIO()
        taken = set()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for host in self.names:
                model = os.path.join(self.work, host, "model")
                for entry in sorted(os.listdir(model)):
                    if entry in taken:
                        continue
                    taken.add(entry)
                    archive.add(os.path.join(model, entry), arcname=entry)
        return buffer.getvalue()
