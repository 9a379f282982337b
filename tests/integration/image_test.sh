#!/usr/bin/env bash
# The image a build driver makes, as train drivers get it (ABI 1.1): the
# descriptor fit hands them, host->push_image through the build driver,
# and the container contract of the image (FAHR_MODEL_URI, FAHR_MODEL_DIR_URI,
# FAHR_HYPERPARAMETERS, FAHR_CHANNELS), against the
# bench's Docker engine.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

use_docker_bench
PLUGINS="$TEST_TMP/plugins"
mkdir -p "$PLUGINS"
cp "$FAHR_FIXTURE_DIR/train_image_record.so" "$FAHR_FIXTURE_DIR/build_abi_1_0.so" "$PLUGINS/"
export FAHR_PLUGIN_PATH="$PLUGINS:$FAHR_PLUGIN_PATH"

# A copy of examples/foo named NAME, so that its image (NAME/model) is this
# test's own; prints the artifact's path.
fresh_model() { # NAME
    docker image rm -f "$1/model:latest" >/dev/null 2>&1 || true
    mkdir -p "$TEST_TMP/src-$1/$1"
    cp "$FAHR_SOURCE_ROOT/examples/foo/model.py" "$TEST_TMP/src-$1/$1/model.py"
    echo "$TEST_TMP/src-$1/$1/model.py"
}

# fit with the recording driver; extra arguments go after the others.
fit_recorded() { # ARTIFACT BUILD_DRIVER RECORD ARGS...
    local artifact=$1 build=$2 record=$3
    shift 3
    run_fahr fit "$artifact" --build-driver="$build" --train-driver=image-recorder \
        --config.record="$record" --config.base_image="$BENCH_IMAGE" "$@"
}

# What the engine itself says of IMAGE: its ID and platform.
engine_says() { # IMAGE
    docker image inspect "$1" | python3 -c '
import json, sys
image = json.load(sys.stdin)[0]
print(image["Id"], "/".join(p for p in (image["Os"], image["Architecture"], image.get("Variant")) if p))'
}

fit_hands_the_train_driver_the_image() {
    local artifact id platform
    artifact=$(fresh_model described)
    fit_recorded "$artifact" local "$TEST_TMP/described.txt"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    read -r id platform <<<"$(engine_says described/model:latest)"
    expect_contains "$id" "sha256:" "the engine's image ID"
    expect_eq "$(cat "$TEST_TMP/described.txt")" "check none
submit reference=described/model:latest digest=$id platform=$platform gpu=0
image_ref=described/model:latest image=described/model:latest" "what the driver got"
}

gpu_build_driver_marks_the_image_for_gpus() {
    local artifact id platform
    artifact=$(fresh_model gpumarked)
    fit_recorded "$artifact" local-gpu "$TEST_TMP/gpu.txt"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    read -r id platform <<<"$(engine_says gpumarked/model:latest)"
    expect_eq "$(sed -n 2p "$TEST_TMP/gpu.txt")" \
        "submit reference=gpumarked/model:latest digest=$id platform=$platform gpu=1" \
        "what the driver got"
}

a_build_driver_of_abi_1_0_still_builds() {
    # Without build2 its build() names the image; nothing else is known.
    local artifact
    artifact=$(fresh_model oneoh)
    run_fahr fit "$artifact" --build-driver=build-one-oh --train-driver=image-recorder \
        --config.record="$TEST_TMP/oneoh.txt"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/oneoh.txt")" "check none
submit reference=oneoh/model:one-oh digest= platform= gpu=0
image_ref=oneoh/model:one-oh image=oneoh/model:one-oh" "what the train driver got"
}

start_registry() { # DIR: prints HOST:PORT
    local dir=$1 port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$dir/data"
    cat >"$dir/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
YML
    docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
    echo $! >"$dir/registry.pid"
    for _ in $(seq 1 50); do
        curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break
        sleep 0.1
    done
    echo "127.0.0.1:$port"
}

push_goes_through_the_build_driver() {
    local artifact registry digest
    artifact=$(fresh_model pushed)
    registry=$(start_registry "$TEST_TMP/registry")
    # shellcheck disable=SC2064 # the pid is read now
    trap "kill $(cat "$TEST_TMP/registry/registry.pid") 2>/dev/null || true" EXIT
    # The registry takes anyone; the credentials still travel, never shown.
    fit_recorded "$artifact" local "$TEST_TMP/pushed.txt" --config.push_to="$registry/pushed/model:t1" \
        --config.push_user=bench --config.push_password=pa55-w0rd-never-shown --verbose
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "pushing $registry/pushed/model:t1" "stderr"
    expect_lacks "$ERR" "pa55-w0rd-never-shown" "stderr"
    expect_lacks "$OUT" "pa55-w0rd-never-shown" "stdout"
    digest=$(curl -sfI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$registry/v2/pushed/model/manifests/t1" | tr -d '\r' |
        sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
    expect_contains "$digest" "sha256:" "the registry's manifest digest"
    local platform
    platform=$(engine_says pushed/model:latest | cut -d' ' -f2)
    expect_eq "$(sed -n 2p "$TEST_TMP/pushed.txt")" \
        "pushed reference=$registry/pushed/model:t1 digest=$digest platform=$platform gpu=0" \
        "what host->push_image made"
    expect_eq "$(sed -n 4p "$TEST_TMP/pushed.txt")" \
        "image_ref=pushed/model:latest image=$registry/pushed/model:t1" "what submit got"
    # Only the image built here is pushed, and only to an image reference.
    fit_recorded "$artifact" local "$TEST_TMP/other.txt" --config.push_to="$registry/other/model:t1" \
        --config.push_source="$BENCH_IMAGE"
    expect_eq "$RC" 2 "exit code pushing another image; stderr: $ERR"
    expect_contains "$ERR" "fahr: image-recorder: push_image pushes only the image built here, pushed/model:latest" "stderr"
    fit_recorded "$artifact" local "$TEST_TMP/bad.txt" --config.push_to="$registry/x/../../build?t=y"
    expect_eq "$RC" 2 "exit code pushing to a bad reference; stderr: $ERR"
    expect_contains "$ERR" "fahr: image-recorder: the push's target is not an image reference (registry/name:tag)" "stderr"
    # A job command builds nothing, so there is nothing to push through.
    : >"$TEST_TMP/status.txt"
    run_fahr status recorded-job --train-driver=image-recorder \
        --config.record="$TEST_TMP/status.txt" --config.push_to="$registry/pushed/model:t2"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/status.txt")" "poll push -4 no image was built in this command to push" \
        "push_image in a job command"
}

sagemaker_driver_carries_no_engine_client() {
    # It pushes through host->push_image: no Docker Engine code is linked in.
    local symbols
    symbols=$(nm "$FAHR_BUILD_ROOT/plugins/train-sagemaker.so")
    expect_contains "$symbols" "sagemaker_publish" "the driver's symbols"
    expect_lacks "$symbols" "docker_engine" "the driver's symbols"
}

the_image_writes_the_model_to_fahr_model_uri() {
    local artifact rc=0
    artifact=$(fresh_model modeluri)
    run_fahr build "$artifact" --build-driver=local --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    # An absolute path, as a train driver's bind-mounted directory.
    mkdir -p "$TEST_TMP/mounted"
    docker run --rm -e FAHR_MODEL_URI=/mnt/out/job-1 -v "$TEST_TMP/mounted:/mnt/out" \
        modeluri/model:latest train >/dev/null
    expect_eq "$(tar -xzOf "$TEST_TMP/mounted/job-1/model.tar.gz" ./model.json)" \
        '{"a": 3.0, "b": 2.0}' "model.json in the absolute path's model.tar.gz"
    # gs://BUCKET/PATH through the Cloud Storage FUSE mount /gcs/BUCKET/PATH.
    mkdir -p "$TEST_TMP/gcs"
    docker run --rm -e FAHR_MODEL_URI=gs://b/p -v "$TEST_TMP/gcs:/gcs/b/p" \
        modeluri/model:latest train >/dev/null
    expect_eq "$(tar -tzf "$TEST_TMP/gcs/model.tar.gz" | LC_ALL=C sort | tr '\n' ' ')" \
        "./ ./model.json ./model.pkl " "the entries of gs://b/p/model.tar.gz"
    # Another scheme fails the job, saying so in the failure file.
    mkdir -p "$TEST_TMP/bad-output"
    docker run --rm -e FAHR_MODEL_URI=s3://b/p -v "$TEST_TMP/bad-output:/opt/ml/output" \
        modeluri/model:latest train >/dev/null 2>&1 || rc=$?
    expect_eq "$rc" 1 "exit code with an s3:// FAHR_MODEL_URI"
    expect_eq "$(cat "$TEST_TMP/bad-output/failure")" \
        "FAHR_MODEL_URI must be gs://BUCKET/PATH or an absolute path, not s3://b/p" "failure file"
    # A copy that fails (a read-only mount) fails the job.
    rc=0
    docker run --rm -e FAHR_MODEL_URI=/mnt/ro -v "$TEST_TMP/mounted:/mnt/ro:ro" \
        modeluri/model:latest train >/dev/null 2>&1 || rc=$?
    expect_eq "$rc" 1 "exit code with a read-only FAHR_MODEL_URI"
}

# A model.py that records what it finds (the hyperparameters, each channel's
# link, none for a directory, and its files) into the model, a tree of nested directories with a
# file name with spaces and a dot file.
contract_model() { # NAME
    local artifact
    artifact=$(fresh_model "$1")
    cat >"$artifact" <<'EOF'
import json, os
seen = {}
config = "/opt/ml/input/config/hyperparameters.json"
if os.path.exists(config):
    seen["hp"] = json.load(open(config))
data = "/opt/ml/input/data"
for name in sorted(os.listdir(data)) if os.path.isdir(data) else []:
    path = os.path.join(data, name)
    link = os.readlink(path) if os.path.islink(path) else None
    seen[name] = [link, sorted(os.listdir(path))]
os.makedirs("/opt/ml/model/sub dir/deeper", exist_ok=True)
open("/opt/ml/model/weights", "w").write("42")
open("/opt/ml/model/sub dir/my file.txt", "w").write("spaces")
open("/opt/ml/model/sub dir/deeper/.hidden", "w").write("dot")
json.dump(seen, open("/opt/ml/model/seen.json", "w"), sort_keys=True)
EOF
    echo "$artifact"
}

# Every file under DIR with its content, one "PATH: CONTENT" line each.
files_of() { # DIR
    (cd "$1" && find . -type f | LC_ALL=C sort | while IFS= read -r f; do
        printf '%s: %s\n' "$f" "$(cat "$f")"
    done)
}

the_image_copies_the_model_files_to_fahr_model_dir_uri() {
    local artifact rc=0
    artifact=$(contract_model modeldir)
    run_fahr build "$artifact" --build-driver=local --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    # gs://BUCKET/PATH through the Cloud Storage FUSE mount, as Vertex AI's
    # AIP_MODEL_DIR; FAHR_MODEL_URI beside it is done too.
    mkdir -p "$TEST_TMP/bucket"
    docker run --rm -e "FAHR_MODEL_DIR_URI=gs://b/jobs/job 1/model" -e FAHR_MODEL_URI=gs://b/tar \
        -v "$TEST_TMP/bucket:/gcs/b" modeldir/model:latest train >/dev/null
    expect_eq "$(files_of "$TEST_TMP/bucket/jobs/job 1/model")" "./seen.json: {}
./sub dir/deeper/.hidden: dot
./sub dir/my file.txt: spaces
./weights: 42" "the files in gs://b/jobs/job 1/model"
    expect_eq "$(tar -xzOf "$TEST_TMP/bucket/tar/model.tar.gz" './sub dir/my file.txt')" spaces \
        "a file of gs://b/tar/model.tar.gz"
    # A copy that fails (a read-only mount) fails the job, saying so.
    mkdir -p "$TEST_TMP/ro" "$TEST_TMP/modeldir-output"
    docker run --rm -e FAHR_MODEL_DIR_URI=/mnt/ro -v "$TEST_TMP/ro:/mnt/ro:ro" \
        -v "$TEST_TMP/modeldir-output:/opt/ml/output" modeldir/model:latest train \
        >/dev/null 2>&1 || rc=$?
    expect_eq "$rc" 1 "exit code with a read-only FAHR_MODEL_DIR_URI"
    expect_contains "$(cat "$TEST_TMP/modeldir-output/failure")" "cannot copy the model's " \
        "failure file"
    expect_eq "$(find "$TEST_TMP/ro" | wc -l)" 1 "files in the read-only directory"
    # Not into the model itself, which would copy without end.
    rc=0
    docker run --rm -e FAHR_MODEL_DIR_URI=/opt/ml/model/copy \
        -v "$TEST_TMP/modeldir-output:/opt/ml/output" modeldir/model:latest train \
        >/dev/null 2>&1 || rc=$?
    expect_eq "$rc" 1 "exit code with FAHR_MODEL_DIR_URI inside the model"
    expect_eq "$(cat "$TEST_TMP/modeldir-output/failure")" \
        "FAHR_MODEL_DIR_URI must be outside /opt/ml/model: /opt/ml/model/copy" "failure file"
}

the_image_takes_fahr_hyperparameters_and_fahr_channels() {
    local artifact rc=0 channels
    artifact=$(contract_model channels)
    run_fahr build "$artifact" --build-driver=local --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    mkdir -p "$TEST_TMP/gcs/data/train" "$TEST_TMP/local in" "$TEST_TMP/out"
    : >"$TEST_TMP/gcs/data/train/part-0.csv"
    : >"$TEST_TMP/local in/rows.txt"
    : >"$TEST_TMP/gcs/data/one.csv"
    channels=$(printf 'train=gs://b/data/train\nlocal=/mnt/local in\none=gs://b/data/one.csv')
    docker run --rm -e 'FAHR_HYPERPARAMETERS={"lr": "0.1", "note": "a b"}' \
        -e "FAHR_CHANNELS=$channels" -e FAHR_MODEL_DIR_URI=/mnt/out \
        -v "$TEST_TMP/gcs:/gcs/b" -v "$TEST_TMP/local in:/mnt/local in" \
        -v "$TEST_TMP/out:/mnt/out" channels/model:latest train >/dev/null
    expect_eq "$(cat "$TEST_TMP/out/seen.json")" \
        '{"hp": {"lr": "0.1", "note": "a b"}, "local": ["/mnt/local in", ["rows.txt"]], "one": [null, ["one.csv"]], "train": ["/gcs/b/data/train", ["part-0.csv"]]}' \
        "what the script found"
    # A bad channel name or hyperparameters that are not an object fail the
    # job before the script starts, saying so.
    mkdir -p "$TEST_TMP/bad-channel"
    docker run --rm -e "FAHR_CHANNELS=../etc=/mnt" -v "$TEST_TMP/bad-channel:/opt/ml/output" \
        channels/model:latest train >/dev/null 2>&1 || rc=$?
    expect_eq "$rc" 1 "exit code with a bad channel name"
    expect_eq "$(cat "$TEST_TMP/bad-channel/failure")" \
        "FAHR_CHANNELS: the channel name '../etc' is empty, . or .. or holds /" "failure file"
    rc=0
    mkdir -p "$TEST_TMP/bad-location"
    docker run --rm -e "FAHR_CHANNELS=train=gs://b/../../etc" \
        -v "$TEST_TMP/bad-location:/opt/ml/output" channels/model:latest train >/dev/null 2>&1 ||
        rc=$?
    expect_eq "$rc" 1 "exit code with a location with .. segments"
    expect_eq "$(cat "$TEST_TMP/bad-location/failure")" \
        "the location of channel train in FAHR_CHANNELS must not hold . or .. segments: gs://b/../../etc" \
        "failure file"
    rc=0
    mkdir -p "$TEST_TMP/bad-hp"
    docker run --rm -e "FAHR_HYPERPARAMETERS=lr=0.1" -v "$TEST_TMP/bad-hp:/opt/ml/output" \
        channels/model:latest train >/dev/null 2>&1 || rc=$?
    expect_eq "$rc" 1 "exit code with hyperparameters that are not an object"
    expect_eq "$(cat "$TEST_TMP/bad-hp/failure")" "FAHR_HYPERPARAMETERS must be a JSON object" \
        "failure file"
}

run_test fit_hands_the_train_driver_the_image
run_test gpu_build_driver_marks_the_image_for_gpus
run_test a_build_driver_of_abi_1_0_still_builds
run_test push_goes_through_the_build_driver
run_test sagemaker_driver_carries_no_engine_client
run_test the_image_writes_the_model_to_fahr_model_uri
run_test the_image_copies_the_model_files_to_fahr_model_dir_uri
run_test the_image_takes_fahr_hyperparameters_and_fahr_channels
finish
