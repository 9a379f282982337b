#!/usr/bin/env python3
"""The test bench's AWS: a front for moto_server that does what moto does not.

usage: aws_bench.py PORT MOTO_URL ACCESS_KEY:SECRET

1. It judges every request's Signature Version 4 the way an AWS endpoint
   does, with botocore's signer (the AWS CLI's own): it decodes the path and
   query the client sent and encodes them again itself (S3: once; other
   services: twice). A request that fails gets 403 SignatureDoesNotMatch with
   the canonical request it expected, and goes no further. It knows the key
   given on its command line and learns every key that IAM CreateAccessKey
   and STS AssumeRole hand out through it. (moto's own check is wrong for S3
   keys with reserved or non-ASCII characters, so moto runs without one.)
2. It passes every request on to moto unchanged.
3. It plays SageMaker's part for training jobs, which moto only records,
   following SageMaker's documentation: CreateTrainingJob pulls the image
   and runs it as `IMAGE train` under the container contract
   (/opt/ml/model, /opt/ml/output/failure, /opt/ml/input/config), one
   container per instance (aws_bench_hosts.py); Describe reports InProgress
   with SecondaryStatus Starting, Downloading, Training, Uploading, then
   Completed, or Failed with the FailureReason from /opt/ml/output/failure,
   or Stopped after StopTrainingJob or once MaxRuntimeInSeconds runs out,
   each with SageMaker's StatusMessage in SecondaryStatusTransitions; each
   host's output goes to CloudWatch Logs (group /aws/sagemaker/TrainingJobs,
   stream <job>/algo-N-<epoch>); and /opt/ml/model is uploaded as
   <output>/<job>/output/model.tar.gz. A job
   name that is taken is refused with ResourceInUse, as SageMaker does
   (moto would replace the job). Managed spot training, checkpoints and the
   bench's spot interruption (FAHR_BENCH_SPOT_INTERRUPT_AFTER) are in
   aws_bench_spot.py, whose docstring says how they are played.
   An ended job has TrainingTimeInSeconds and BillableTimeInSeconds.
4. It answers the AWS Price List API, which moto lacks
   (aws_bench_pricing.py).
5. ECR's registry is the bench's docker-registry, which asks for the
   password ECR's GetAuthorizationToken hands out, and ECR's image
   listings and deletions are answered from it (aws_bench_ecr.py).
"""
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aws_bench_ecr
import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import HTTPHeaders
from botocore.credentials import Credentials

from aws_bench_hosts import Hosts
from aws_bench_spot import SpotJob, spot_request_error
import aws_bench_pricing
import aws_chunked  # tests/bench/aws_chunked.py: S3's aws-chunked bodies, checked

PORT = int(sys.argv[1])
MOTO = urllib.parse.urlparse(sys.argv[2])
ROOT_KEY, ROOT_SECRET = sys.argv[3].split(":", 1)
KEYS = {ROOT_KEY: ROOT_SECRET}
KEYS_LOCK = threading.Lock()
AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
                  r"SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$")
LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def log(*args):
    print("aws_bench:", *args, file=sys.stderr, flush=True)


# ---- 1. The signature judge -------------------------------------------------

def canonical_path(raw_path, service):
    decoded = urllib.parse.unquote(raw_path) or "/"
    once = urllib.parse.quote(decoded, safe="/~")
    return once if service == "s3" else urllib.parse.quote(once, safe="/~")


def canonical_query(raw_query):
    pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
    encoded = sorted((urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                     for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def judge(method, target, headers, body):
    """None when the signature holds, else why not."""
    match = AUTH.match(headers.get("Authorization", ""))
    if not match:
        return "no AWS4-HMAC-SHA256 Authorization header"
    key, date, region, service, signed, given = match.groups()
    with KEYS_LOCK:
        secret = KEYS.get(key)
    if secret is None:
        return f"unknown access key {key}"
    amz_date = headers.get("X-Amz-Date", "")
    if not amz_date.startswith(date):
        return "X-Amz-Date does not match the credential scope"
    names = signed.split(";")
    if "host" not in names:
        return "host is not signed"
    signed_headers = HTTPHeaders()
    for name in names:
        values = headers.get_all(name)
        if values is None:
            return f"signed header {name} was not sent"
        for value in values:
            signed_headers[name] = value
    signer = SigV4Auth(Credentials(key, secret), service, region)
    split = urllib.parse.urlsplit(target)
    payload = headers.get("X-Amz-Content-SHA256") or hashlib.sha256(body).hexdigest()
    canonical = "\n".join([method.upper(), canonical_path(split.path, service),
                           canonical_query(split.query),
                           signer.canonical_headers(signed_headers) + "\n",
                           signer.signed_headers(signed_headers), payload])

    class Context:
        context = {"timestamp": amz_date}
    string_to_sign = signer.string_to_sign(Context, canonical)
    if signer.signature(string_to_sign, Context) != given:
        return f"expected canonical request:\n{canonical}\nexpected string to sign:\n{string_to_sign}"
    if payload in aws_chunked.PAYLOADS:
        return None  # the body's own signatures: handle_any, through aws_chunked
    if payload != "UNSIGNED-PAYLOAD" and hashlib.sha256(body).hexdigest() != payload:
        return "x-amz-content-sha256 does not match the body"
    return None


def learn_keys(body):
    """Remember keys that IAM or STS hand out, so they can sign later."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return
    for element in root.iter():
        tag = element.tag.split("}")[-1]
        if tag in ("AccessKey", "Credentials"):
            fields = {child.tag.split("}")[-1]: child.text for child in element}
            if fields.get("AccessKeyId") and fields.get("SecretAccessKey"):
                with KEYS_LOCK:
                    KEYS[fields["AccessKeyId"]] = fields["SecretAccessKey"]


# ---- 3. SageMaker's part ------------------------------------------------------

def moto_client(service):
    return boto3.client(service, endpoint_url=f"http://{MOTO.hostname}:{MOTO.port}",
                        region_name="us-east-1", aws_access_key_id="bench",
                        aws_secret_access_key="bench")


def ecr_repository_exists(name):
    ecr = moto_client("ecr")
    try:
        ecr.describe_repositories(repositoryNames=[name])
        return True
    except ecr.exceptions.ClientError:
        return False


# SageMaker's StatusMessage for each secondary status, where a transition
# gives none of its own (the wording the service and the SDK's logs show).
STATUS_MESSAGES = {
    "Starting": "Starting the training job",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Training job runtime exceeded MaxRuntimeInSeconds provided",
    # Managed spot training's, which the documentation does not quote.
    "Interrupted": "Training job interrupted due to spot instance interruption",
    "Restarting": "Restarting the training job after the spot instance interruption",
    "MaxWaitTimeExceeded": "Training job exceeded MaxWaitTimeInSeconds provided",
}
# How long the bench stays in each step that a real job spends minutes in,
# so that a client polling every 200 ms sees it.
STEP_SECONDS = 0.25


class Job(SpotJob):
    moto_client = staticmethod(moto_client)

    def __init__(self, request):
        self.name = request["TrainingJobName"]
        self.image = request["AlgorithmSpecification"]["TrainingImage"]
        self.output = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        self.max_runtime = request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 86400)
        self.hyperparameters = request.get("HyperParameters", {})
        self.resources = request.get("ResourceConfig", {})
        self.channels = request.get("InputDataConfig", [])
        self.status, self.secondary = "InProgress", "Starting"
        self.failure_reason = None
        self.artifact = None
        self.stop_requested = False
        self.hosts = None
        self.transitions = [{"Status": "Starting", "StartTime": time.time(),
                             "StatusMessage": STATUS_MESSAGES["Starting"]}]
        self.end_time = None
        self.spot_init(request)
        threading.Thread(target=self.run, daemon=True).start()

    def set(self, secondary, status=None, message=None):
        """A secondary status with its message: a new transition, or a new
        message within the current one (SageMaker's is one per status)."""
        self.secondary = secondary
        if status:
            self.status = status
        message = message or STATUS_MESSAGES.get(secondary, "")
        now = time.time()
        last = self.transitions[-1]
        if last["Status"] == secondary:
            last["StatusMessage"] = message
        else:
            last["EndTime"] = now
            self.transitions.append({"Status": secondary, "StartTime": now,
                                     "StatusMessage": message})
        if self.status in ("Completed", "Failed", "Stopped"):
            self.end_time = now
            self.transitions[-1]["EndTime"] = now

    def run(self):
        try:
            self.train()
        except Exception as error:  # the job fails, the bench goes on
            log(f"job {self.name}: {error!r}")
            self.failure_reason = f"ClientError: {error}"
            self.set("Failed", "Failed")

    def download_channels(self, data):
        """File mode: each channel's objects are copied under
        /opt/ml/input/data/<channel>, the same for every host."""
        s3 = moto_client("s3")
        for channel in self.channels:
            uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
            bucket, _, prefix = uri[len("s3://"):].partition("/")
            target = os.path.join(data, channel["ChannelName"])
            os.makedirs(target, exist_ok=True)
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    relative = item["Key"][len(prefix):].lstrip("/") or os.path.basename(item["Key"])
                    destination = os.path.join(target, relative)
                    os.makedirs(os.path.dirname(destination), exist_ok=True)
                    s3.download_file(bucket, item["Key"], destination)

    def train(self):
        for message in ("Launching requested ML instances", "Preparing the instances for training"):
            time.sleep(STEP_SECONDS)
            self.set("Starting", message=message)
        time.sleep(STEP_SECONDS)
        self.set("Downloading")
        work = tempfile.mkdtemp(prefix=f"job-{self.name}-")
        hosts = Hosts(self, work, lambda: moto_client("logs"), LOG_GROUP)
        hosts.prepare()
        self.download_channels(os.path.join(work, "input", "data"))
        self.checkpoint_restore(work)  # while Downloading, as SageMaker does
        time.sleep(STEP_SECONDS)
        self.set("Training", message="Downloading the training image")
        pulled = aws_bench_ecr.pull(self.image)
        time.sleep(STEP_SECONDS)
        if pulled.returncode != 0 or self.stop_requested:
            shutil.rmtree(work, ignore_errors=True)
            if self.stop_requested:
                self.set("Stopped", "Stopped")
            else:
                self.failure_reason = (f"ClientError: cannot pull {self.image}: "
                                       f"{pulled.stderr.strip()}")
                self.set("Failed", "Failed")
            return
        self.set("Training")
        logs = moto_client("logs")
        try:
            logs.create_log_group(logGroupName=LOG_GROUP)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        self.hosts = hosts
        codes = self.run_containers(hosts, work)
        while self.interrupting and self.spot_restart(work):
            codes = self.run_containers(hosts, work)
        self.checkpoint_save(work)
        if self.stop_requested:
            self.set("Stopped", "Stopped")
        elif any(code != 0 for code in codes.values()):
            self.failure_reason = f"AlgorithmError: {hosts.failure()}"
            self.set("Failed", "Failed")
        else:
            self.set("Uploading")
            time.sleep(STEP_SECONDS)
            bucket, _, prefix = self.output[len("s3://"):].partition("/")
            key = "/".join(p for p in (prefix, self.name, "output", "model.tar.gz") if p)
            moto_client("s3").put_object(Bucket=bucket, Key=key, Body=hosts.model_archive())
            self.artifact = f"s3://{bucket}/{key}"
            self.set("Completed", "Completed")
        shutil.rmtree(work, ignore_errors=True)

    def run_containers(self, hosts, work):
        """One run of every host's container (the first, or one after a
        spot interruption), until all end; their exit codes.
        MaxRuntimeInSeconds counts the time of all the job's runs."""
        self.spot_container_started()
        timer = threading.Timer(max(0, self.max_runtime - self.ran_seconds), self.out_of_time)
        timer.start()
        codes = hosts.run(volumes=self.checkpoint_mount(work), on_line=self.spot_arm)
        timer.cancel()
        self.spot_container_ended()
        return codes

    def containers(self):
        """The containers of the job's hosts, running or about to."""
        return self.hosts.containers() if self.hosts is not None else []

    def out_of_time(self):
        self.stop(secondary="MaxRuntimeExceeded")

    def stop(self, secondary="Stopping"):
        if self.status != "InProgress":
            return
        self.stop_requested = True
        self.set(secondary, "Stopping")
        if self.hosts is not None:
            subprocess.run(["docker", "kill", *self.containers()], capture_output=True)

    def patch(self, description):
        self.spot_times(description)
        description["TrainingJobStatus"] = self.status
        description["SecondaryStatus"] = self.secondary
        description["SecondaryStatusTransitions"] = [dict(t) for t in self.transitions]
        if self.failure_reason:
            description["FailureReason"] = self.failure_reason
        else:
            description.pop("FailureReason", None)
        if self.artifact:
            description["ModelArtifacts"] = {"S3ModelArtifacts": self.artifact}
        else:
            description.pop("ModelArtifacts", None)
        if self.end_time:
            description["TrainingEndTime"] = self.end_time
        else:
            description.pop("TrainingEndTime", None)
        return description


JOBS = {}


# ---- 2. Passing on, and the handler -------------------------------------------

class Bench(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/x-amz-json-1.1"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def plain_body(self, body):
        """An aws-chunked body checked and decoded (the request's headers
        made those of a plain upload), or None after refusing it."""
        with KEYS_LOCK:
            secret = KEYS.get(AUTH.match(self.headers["Authorization"]).group(1))
        try:
            data, kept = aws_chunked.decode(self.headers, body, secret)
        except aws_chunked.Refused as why:
            log(f"{self.command} {self.path}: aws-chunked body refused: {why}")
            code = "BadDigest" if "does not match the data" in str(why) else "SignatureDoesNotMatch"
            self.answer(400 if code == "BadDigest" else 403,
                        f"<Error><Code>{code}</Code><Message>{why}</Message></Error>".encode(),
                        "text/xml")
            return None
        log(f"{self.command} {self.path}: aws-chunked, {len(data)} bytes, "
            f"checked: {' '.join(['signatures'] * aws_chunked.is_signed(self.headers) + list(kept))}")
        aws_chunked.as_plain_request(self.headers, data, kept)
        return data

    def forward(self, body):
        upstream = http.client.HTTPConnection(MOTO.hostname, MOTO.port, timeout=300)
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            upstream.putheader(name, value)
        upstream.endheaders(body if body else None)
        response = upstream.getresponse()
        data = response.read() if self.command != "HEAD" else b""
        return response, data

    def relay(self, response, data):
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        length = response.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
        if length is not None:
            self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        why = judge(self.command, self.path, self.headers, body)
        if why is not None:
            log(f"{self.command} {self.path}: signature refused: {why.splitlines()[0]}")
            message = ("<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>The "
                       "request signature we calculated does not match the signature you "
                       "provided.</Message><Detail>" + why.replace("&", "&amp;").replace("<", "&lt;")
                       + "</Detail></Error></ErrorResponse>")
            self.answer(403, message.encode(), "text/xml")
            return
        if aws_chunked.is_chunked(self.headers):
            body = self.plain_body(body)
            if body is None:
                return
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith("AWSPriceListService."):
            self.answer(*aws_bench_pricing.answer(self.headers, body, log))
            return
        if target.startswith("SageMaker."):
            self.sagemaker(target.split(".", 1)[1], body)
            return
        if aws_bench_ecr.answers(target) and target.endswith(".GetAuthorizationToken"):
            self.answer(200, aws_bench_ecr.authorization_token(body))
            return
        if aws_bench_ecr.answers(target):
            self.answer(*aws_bench_ecr.image_answer(target, body, ecr_repository_exists))
            return
        refused = aws_bench_ecr.refuses_tags(target, body)
        if refused is not None:
            self.answer(*refused)
            return
        response, data = self.forward(body)
        data = aws_bench_ecr.rewrite(target, data)
        if response.status == 200 and any(result in data for result in (
                b"CreateAccessKeyResult", b"AssumeRoleResult", b"GetSessionTokenResult")):
            learn_keys(data)
        self.relay(response, data)

    @staticmethod
    def job_exists(name):
        if name in JOBS:
            return True
        sagemaker = moto_client("sagemaker")
        try:
            sagemaker.describe_training_job(TrainingJobName=name)
            return True
        except sagemaker.exceptions.ClientError:
            return False

    def sagemaker(self, action, body):
        request = json.loads(body or b"{}")
        if action == "StopTrainingJob":
            job = JOBS.get(request.get("TrainingJobName"))
            if job is None:
                self.answer(400, json.dumps({"__type": "ValidationException",
                                             "message": "Requested resource not found."}).encode())
                return
            job.stop()
            self.answer(200, b"{}")
            return
        why = spot_request_error(request) if action == "CreateTrainingJob" else None
        if why is not None:
            self.answer(400, json.dumps({"__type": "ValidationException",
                                         "message": why}).encode())
            return
        if action == "CreateTrainingJob" and self.job_exists(request.get("TrainingJobName", "")):
            # SageMaker refuses a name that is taken; moto would replace the job.
            name = request["TrainingJobName"]
            self.answer(400, json.dumps({
                "__type": "ResourceInUse",
                "message": "Training job names must be unique within an AWS account and region, "
                           "and a training job with this name already exists "
                           f"(arn:aws:sagemaker:us-east-1:123456789012:training-job/{name})"}).encode())
            return
        response, data = self.forward(body)
        if response.status != 200:
            self.relay(response, data)
            return
        if action == "CreateTrainingJob":
            JOBS[request["TrainingJobName"]] = Job(request)
        elif action == "DescribeTrainingJob":
            job = JOBS.get(request.get("TrainingJobName"))
            if job is not None:
                data = json.dumps(job.patch(json.loads(data)), default=str).encode()
        elif action == "ListTrainingJobs":
            listing = json.loads(data)
            for summary in listing.get("TrainingJobSummaries", []):
                job = JOBS.get(summary.get("TrainingJobName"))
                if job is not None:
                    summary["TrainingJobStatus"] = job.status
            data = json.dumps(listing, default=str).encode()
        self.answer(200, data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


if __name__ == "__main__":
    log(f"listening on 127.0.0.1:{PORT}, moto at {sys.argv[2]}")
    ThreadingHTTPServer(("127.0.0.1", PORT), Bench).serve_forever()
