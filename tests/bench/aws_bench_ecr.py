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

- ListImages, DescribeImages and BatchDeleteImage are answered here from
  the registry itself (moto's ECR knows no pushed image), through its v2
  API as user AWS: a repository's tags from /v2/NAME/tags/list, each tag's
  manifest and its Docker-Content-Digest (imageDigest); imageSizeInBytes
  the manifest's layers and config added up; imagePushedAt (epoch seconds)
  when the registry's storage (FAHR_BENCH_ECR_STORAGE) first got one of
  the image's tags. BatchDeleteImage by tag removes the tag, and the image
  once no tag is left, as ECR does; the registry (deletion enabled) deletes
  a manifest with all its tags, so the image's other tags are put back.
  The repository must exist in moto (else RepositoryNotFoundException), and
  answers are one page (ECR's maxResults and nextToken are kept to).

- CreateRepository with tags is refused (AccessDeniedException, as ECR
  refuses a caller whose policy lacks ecr:TagResource) while the file
  DIR/deny-tag-resource exists: a test's stand-in for such a policy.

`aws.sh ecr-password DIR FILE` gives the registry another password while
ECR keeps handing out this one: a revoked token, for tests of the refusal.
Without FAHR_BENCH_ECR_REGISTRY the module does nothing and moto answers.
"""
import base64
import http.client
import json
import os
import re
import subprocess
import threading
import time

REGISTRY = os.environ.get("FAHR_BENCH_ECR_REGISTRY", "")
DIR = os.environ.get("FAHR_BENCH_ECR_DIR", "")
STORAGE = os.environ.get("FAHR_BENCH_ECR_STORAGE", "")
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


IMAGE_ACTIONS = ("ListImages", "DescribeImages", "BatchDeleteImage")
MANIFEST_TYPES = ", ".join((
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json"))
REGISTRY_LOCK = threading.Lock()


def answers(target):
    """True where this module answers the request itself (moto is not asked)."""
    return active() and target in [TARGET_PREFIX + action for action in
                                   ("GetAuthorizationToken",) + IMAGE_ACTIONS]


def refuses_tags(target, body):
    """CreateRepository with tags while DIR/deny-tag-resource exists: the
    error ECR answers a caller without ecr:TagResource, else None."""
    if not active() or target != TARGET_PREFIX + "CreateRepository":
        return None
    if not os.path.exists(os.path.join(DIR, "deny-tag-resource")):
        return None
    if not json.loads(body or b"{}").get("tags"):
        return None
    return error("AccessDeniedException",
                 "User: arn:aws:iam::%s:user/fahr-bench is not authorized to perform: "
                 "ecr:TagResource on resource: the repository because no identity-based "
                 "policy allows the ecr:TagResource action" % ACCOUNT)


def registry_call(method, path, body=None, headers=None):
    """One request to the registry's v2 API as user AWS: (status, headers, data)."""
    host, port = REGISTRY.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    auth = base64.b64encode(f"{USER}:{password()}".encode("ascii")).decode("ascii")
    connection.request(method, path, body=body,
                       headers=dict(headers or {}, Authorization=f"Basic {auth}"))
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, response.headers, data


def error(code, message):
    return 400, json.dumps({"__type": code, "message": message}).encode()


def pushed_at(name, tag):
    """When the registry's storage got NAME:TAG (its tag link's mtime)."""
    link = os.path.join(STORAGE, "docker/registry/v2/repositories", name, "_manifests/tags",
                        tag, "current/link")
    try:
        return os.stat(link).st_mtime
    except OSError:
        return time.time()


def images(name):
    """The repository's images: {digest: {"tags", "manifest", "type", "size", "pushed"}}."""
    status, _, data = registry_call("GET", f"/v2/{name}/tags/list")
    found = {}
    tags = (json.loads(data).get("tags") or []) if status == 200 else []
    for tag in sorted(tags):
        status, headers, manifest = registry_call(
            "GET", f"/v2/{name}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES})
        if status != 200:
            continue
        digest = headers.get("Docker-Content-Digest")
        media_type = headers.get("Content-Type", "").split(";")[0]
        parsed = json.loads(manifest)
        size = sum(part.get("size", 0) for part in
                   parsed.get("layers", []) + [parsed.get("config") or {}])
        image = found.setdefault(digest, {"tags": [], "manifest": manifest, "type": media_type,
                                          "size": size, "pushed": pushed_at(name, tag)})
        image["tags"].append(tag)
        image["pushed"] = min(image["pushed"], pushed_at(name, tag))
    return found


def detail(name, digest, image):
    """ECR's ImageDetail of one image."""
    return {"registryId": ACCOUNT, "repositoryName": name, "imageDigest": digest,
            "imageTags": image["tags"], "imageSizeInBytes": image["size"],
            "imagePushedAt": image["pushed"], "imageManifestMediaType": image["type"]}


def delete_tag(name, found, tag):
    """Remove NAME:TAG; the image goes with its last tag. None, or ECR's failure."""
    for digest, image in found.items():
        if tag not in image["tags"]:
            continue
        status, _, data = registry_call("DELETE", f"/v2/{name}/manifests/{digest}")
        if status != 202:
            return {"failureCode": "ImageNotFound", "failureReason": data.decode()[:200]}
        image["tags"].remove(tag)
        for other in image["tags"]:
            registry_call("PUT", f"/v2/{name}/manifests/{other}", body=image["manifest"],
                          headers={"Content-Type": image["type"]})
        return None
    return {"failureCode": "ImageNotFound", "failureReason": "Requested image not found"}


def image_answer(target, body, repository_exists):
    """ListImages, DescribeImages or BatchDeleteImage: (status, JSON bytes)."""
    request = json.loads(body or b"{}")
    action = target[len(TARGET_PREFIX):]
    name = request.get("repositoryName", "")
    if not repository_exists(name):
        return error("RepositoryNotFoundException",
                     f"The repository with name '{name}' does not exist in the registry with "
                     f"id '{ACCOUNT}'")
    limit = request.get("maxResults", 1000)
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        return error("InvalidParameterException", "maxResults must be between 1 and 1000")
    with REGISTRY_LOCK:
        found = images(name)
        tag_status = (request.get("filter") or {}).get("tagStatus", "ANY")
        if action == "ListImages":
            ids = [{"imageDigest": digest, "imageTag": tag}
                   for digest, image in found.items() for tag in image["tags"]]
            return 200, json.dumps({"imageIds": ids[:limit] if tag_status != "UNTAGGED"
                                    else []}).encode()
        if action == "DescribeImages":
            details = [detail(name, digest, image) for digest, image in found.items()]
            return 200, json.dumps({"imageDetails": details[:limit] if tag_status != "UNTAGGED"
                                    else []}).encode()
        deleted, failures = [], []
        for image_id in request.get("imageIds") or []:
            tag = image_id.get("imageTag")
            why = (delete_tag(name, found, tag) if tag else
                   {"failureCode": "MissingDigestAndTag",
                    "failureReason": "the bench deletes by imageTag only"})
            if why is None:
                deleted.append(image_id)
            else:
                failures.append(dict(why, imageId=image_id))
        return 200, json.dumps({"imageIds": deleted, "failures": failures}).encode()


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
