#!/usr/bin/env bash
# Install fahr on this machine and run the main job on the example:
# `fahr fit` builds examples/foo/model.py into an image, trains it with the
# local train driver and fetches the model into examples/foo/model-output.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo" # to install packages and fahr itself, as root
fi

scripts/install-deps.sh

meson setup build-release --buildtype=release -Dtests=false --reconfigure >/dev/null 2>&1 ||
    meson setup build-release --buildtype=release -Dtests=false >/dev/null
meson compile -C build-release >/dev/null
$sudo meson install -C build-release --quiet >/dev/null
echo "setup: installed $(command -v fahr): $(fahr --version)" >&2

# A Docker engine: the one running, or one of the bench's own.
eval "$(tests/bench/docker.sh start)"
base_image=${FAHR_BASE_IMAGE:-}
if [ -z "$base_image" ]; then
    # No registry on the internet may be reachable: make a Python image from
    # the machine's Debian mirror.
    tests/bench/docker.sh image
    base_image=fahr-bench/python:3
fi

# The main job: build the example, train it on this machine under
# SageMaker's container contract, and bring the model home.
fahr fit examples/foo/model.py --build-driver=local --train-driver=local \
    --config.base_image="$base_image" --fetch examples/foo/model-output --overwrite --fetch-overwrite
echo "setup: the model:" >&2
ls -l examples/foo/model-output
cat examples/foo/model-output/model.json
echo
