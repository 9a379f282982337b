"""ECR for the AWS bench (aws_bench.py): its registry is the bench's local
docker-registry, which takes a push or a pull only with the credentials ECR
hands out.

moto's ECR names every registry ACCOUNT.dkr.ecr.REGION.amazonaws.com, which
does not exist here, and hands out a fixed password ("ACCOUNT-auth-token").
aws.sh starts the local registry with htpasswd auth for the user AWS and a
random password (DIR/password, 0600, DIR from FAHR_BENCH_ECR_DIR; the
registry's host:port in FAHR_BENCH_ECR_REGISTRY). This module makes ECR's
answers agree with that registry, as ECR's documentation describes them:

- GetAuthorizationToken is answered here: authorizationData, one entry per
  registry asked for (the account's by default), with authorizationToken =
  base64("AWS:" + password), expiresAt 12 hours on (epoch seconds) and
  proxyEndpoint "https://" + the registry's host:port.
- Every repositoryUri in moto's ECR answers names the local registry
  (127.0.0.1:PORT/NAME instead of ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME).
- SageMaker's part pulls a job's image as SageMaker does with the role's ECR
  access: logged in with the password, in a Docker client config of the
  bench's own (DIR/docker-config), never the user's.

`aws.sh ecr-password DIR FILE` gives the registry another password while
ECR keeps handing out this one: a revoked token, for tests of the refusal.
Without FAHR_BENCH_ECR_REGISTRY the module does nothing and moto answers.
"""
import base64
import json
import os
import re
import subprocess
import threading
import time

REGISTRY = os.environ.get("FAHR_BENCH_ECR_REGISTRY", "")
DIR = os.environ.get("FAHR_BENCH_ECR_DIR", "")
TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
ACCOUNT = "123456789012"
USER = "AWS"
MOTO_REGISTRY = re.compile(rb"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
LOGIN_LOCK = threading.Lock()


def active():
    return bool(REGISTRY and DIR)


def password():
    with open(os.path.join(DIR, "password"), encoding="ascii") as f:
        return f.read().strip()


def answers(target):
    """True where this module answers the request itself (moto is not asked)."""
    return active() and target == TARGET_PREFIX + "GetAuthorizationToken"


def authorization_token(body):
    """ECR's GetAuthorizationToken answer, as JSON bytes."""
    request = json.loads(body or b"{}")
    token = base64.b64encode(f"{USER}:{password()}".encode("ascii")).decode("ascii")
    expires = int(time.time()) + 12 * 3600
    return json.dumps({"authorizationData": [
        {"authorizationToken": token, "expiresAt": expires,
         "proxyEndpoint": f"https://{REGISTRY}"}
        for _ in (request.get("registryIds") or [ACCOUNT])]}).encode()


def rewrite(target, data):
    """moto's ECR answer with its registry host replaced by the local one."""
    if not active() or not target.startswith(TARGET_PREFIX):
        return data
    return MOTO_REGISTRY.sub(REGISTRY.encode("ascii"), data)


def pull(image):
    """`docker pull IMAGE` as SageMaker would, logged in to the bench's
    registry first; the CompletedProcess (text) of the step that failed, or
    of the pull."""
    if not active():
        return subprocess.run(["docker", "pull", image], capture_output=True, text=True)
    config = os.path.join(DIR, "docker-config")
    os.makedirs(config, mode=0o700, exist_ok=True)
    env = dict(os.environ, DOCKER_CONFIG=config)
    with LOGIN_LOCK:
        login = subprocess.run(["docker", "login", "-u", USER, "--password-stdin", REGISTRY],
                               input=password(), capture_output=True, text=True, env=env)
    if login.returncode != 0:
        return login
    return subprocess.run(["docker", "pull", image], capture_output=True, text=True, env=env)
