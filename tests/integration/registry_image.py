#!/usr/bin/env python3
"""An image pulled back from a registry through its HTTP API (the
distribution spec), every byte checked, as a second client beside fahr and
the Docker engine.

usage: registry_image.py HOST:PORT REPOSITORY REFERENCE
    Basic auth with FAHR_BENCH_REGISTRY_USER and the password in
    FAHR_BENCH_REGISTRY_PASSWORD_FILE. Fetches the manifest (Docker schema 2
    or OCI) by REFERENCE (a tag or a digest), checks that its bytes hash to
    the digest the registry names (and to REFERENCE where it is a digest),
    fetches the config and every layer blob and checks each against its
    digest, and that the layers, decompressed, hash to the config's
    rootfs.diff_ids. Prints one JSON object: digest (the manifest's),
    config (the config's digest, which is the engine's image ID) and
    diff_ids (the layers' uncompressed digests, the engine's RootFS.Layers).
usage: registry_image.py --anonymous HOST:PORT REPOSITORY REFERENCE
    Prints the HTTP status of the manifest's GET without credentials.
"""
import base64
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
import zlib

ACCEPT = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
])


def get(url, credentials):
    request = urllib.request.Request(url, headers={"Accept": ACCEPT})
    if credentials:
        request.add_header("Authorization", "Basic " + credentials)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read(), response.headers


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def uncompressed_digest(blob, media_type):
    if media_type.endswith("tar"):
        return sha256(blob)
    # gzip, possibly of several members, as the engine writes layers.
    digest, rest = hashlib.sha256(), blob
    while rest:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        digest.update(inflater.decompress(rest))
        digest.update(inflater.flush())
        rest = inflater.unused_data
    return "sha256:" + digest.hexdigest()


def main(args):
    anonymous = args[:1] == ["--anonymous"]
    host, repository, reference = args[1:] if anonymous else args
    base = f"http://{host}/v2/{repository}"
    if anonymous:
        try:
            get(f"{base}/manifests/{reference}", None)
            print(200)
        except urllib.error.HTTPError as error:
            print(error.code)
        return 0
    with open(os.environ["FAHR_BENCH_REGISTRY_PASSWORD_FILE"], encoding="ascii") as f:
        secret = f.read().strip()
    credentials = base64.b64encode(
        f"{os.environ['FAHR_BENCH_REGISTRY_USER']}:{secret}".encode()).decode()
    body, headers = get(f"{base}/manifests/{reference}", credentials)
    digest = sha256(body)
    assert headers.get("Docker-Content-Digest") == digest, (headers.get("Docker-Content-Digest"),
                                                            digest)
    assert not reference.startswith("sha256:") or reference == digest, (reference, digest)
    manifest = json.loads(body)
    config_blob, _ = get(f"{base}/blobs/{manifest['config']['digest']}", credentials)
    assert sha256(config_blob) == manifest["config"]["digest"], "the config's bytes"
    config = json.loads(config_blob)
    diff_ids = []
    for layer in manifest["layers"]:
        blob, _ = get(f"{base}/blobs/{layer['digest']}", credentials)
        assert sha256(blob) == layer["digest"], f"layer {layer['digest']}'s bytes"
        assert len(blob) == layer["size"], f"layer {layer['digest']}'s size"
        diff_ids.append(uncompressed_digest(blob, layer["mediaType"]))
    assert diff_ids == config["rootfs"]["diff_ids"], (diff_ids, config["rootfs"]["diff_ids"])
    print(json.dumps({"digest": digest, "config": manifest["config"]["digest"],
                      "diff_ids": diff_ids}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
