#!/usr/bin/env bash
# The test bench's Docker engine and base image (see README, "Tests").
#
#   tests/bench/docker.sh start   start an engine unless one answers; print
#                                 `export DOCKER_HOST=...` for the caller to eval
#   tests/bench/docker.sh image   make the bench's Python base image unless the
#                                 engine has it (a Debian rootfs from debootstrap,
#                                 cached, imported with `docker import`)
#   tests/bench/docker.sh rootfs  make that Debian rootfs's tar unless cached;
#                                 print its path (the deb test installs into it)
#   tests/bench/docker.sh stop    stop the engine this script started
#
# No registry on the internet is reachable on the bench machines, so the base
# image is made from the machine's own Debian mirror.
set -euo pipefail

BENCH_DIR=${FAHR_BENCH_DIR:-/var/tmp/fahr-bench}
BENCH_IMAGE=${FAHR_BENCH_IMAGE:-fahr-bench/python:3}
SOCK="$BENCH_DIR/docker/docker.sock"

engine_answers() {
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

start() {
    if [ -n "${DOCKER_HOST:-}" ] && engine_answers; then
        echo "export DOCKER_HOST=$DOCKER_HOST"
        return
    fi
    # An engine already running on this machine will do.
    if [ -z "${DOCKER_HOST:-}" ] && [ -S /var/run/docker.sock ] &&
        DOCKER_HOST=unix:///var/run/docker.sock engine_answers; then
        echo "export DOCKER_HOST=unix:///var/run/docker.sock"
        return
    fi
    export DOCKER_HOST="unix://$SOCK"
    if engine_answers; then
        echo "export DOCKER_HOST=$DOCKER_HOST"
        return
    fi
    mkdir -p "$BENCH_DIR/docker"
    nohup dockerd --data-root "$BENCH_DIR/docker/root" \
        --exec-root "$BENCH_DIR/docker/exec" -H "$DOCKER_HOST" \
        --pidfile "$BENCH_DIR/docker/pid" >"$BENCH_DIR/docker/log" 2>&1 &
    for _ in $(seq 1 60); do
        if engine_answers; then
            echo "export DOCKER_HOST=$DOCKER_HOST"
            return
        fi
        sleep 0.5
    done
    echo "docker.sh: the engine did not start; see $BENCH_DIR/docker/log" >&2
    tail -n 20 "$BENCH_DIR/docker/log" >&2 || true
    exit 1
}

# The cached tar of a Debian bookworm root (debootstrap's minbase with
# Python 3 and the notebook stack), made from the machine's Debian mirror.
rootfs() {
    local rootfs_tar="$BENCH_DIR/rootfs-python3.tar"
    if [ ! -s "$rootfs_tar" ]; then
        local mirror rootfs
        mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
        mirror=${mirror:-http://deb.debian.org/debian}
        rootfs=$(mktemp -d "$BENCH_DIR/rootfs.XXXXXX")
        echo "docker.sh: making a Debian rootfs with Python 3 (about a minute)" >&2
        # debootstrap cannot order the notebook stack's dependencies itself
        # (python3-zmq fails to configure), so apt adds it inside the rootfs.
        {
            debootstrap --variant=minbase --include=python3 bookworm "$rootfs" "$mirror" &&
                chroot "$rootfs" apt-get install -y --no-install-recommends \
                    python3-nbconvert python3-ipykernel &&
                chroot "$rootfs" apt-get clean
        } >"$BENCH_DIR/debootstrap.log" 2>&1 || {
            tail -n 20 "$BENCH_DIR/debootstrap.log" >&2
            rm -rf "$rootfs"
            exit 1
        }
        tar -C "$rootfs" -cf "$rootfs_tar.tmp" .
        mv "$rootfs_tar.tmp" "$rootfs_tar"
        rm -rf "$rootfs"
    fi
    echo "$rootfs_tar"
}

image() {
    if docker image inspect "$BENCH_IMAGE" >/dev/null 2>&1; then
        return
    fi
    local rootfs_tar
    rootfs_tar=$(rootfs)
    docker import "$rootfs_tar" "$BENCH_IMAGE" >/dev/null
}

stop() {
    if [ -s "$BENCH_DIR/docker/pid" ]; then
        kill "$(cat "$BENCH_DIR/docker/pid")" 2>/dev/null || true
    fi
}

mkdir -p "$BENCH_DIR"
case "${1:-}" in
start) start ;;
image) image ;;
rootfs) rootfs ;;
stop) stop ;;
*)
    echo "usage: $0 start|image|rootfs|stop" >&2
    exit 2
    ;;
esac
