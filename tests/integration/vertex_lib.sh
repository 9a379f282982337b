#!/usr/bin/env bash
# vertex_lib.sh: what the Vertex driver's integration tests share (sourced
# by vertex_test.sh and vertex_storage_test.sh): the driver installed
# against a scratch prefix as a user would, the Google bench started for one
# test, and the checks that no token or key leaks.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REGION=us-central1
BUCKET=fahr-bench
# Nothing of this machine's own Google set-up is used.
export HOME="$TEST_TMP/home" XDG_DATA_HOME="$TEST_TMP/data" CLOUDSDK_CONFIG="$TEST_TMP/gcloud"
unset GOOGLE_APPLICATION_CREDENTIALS CLOUDSDK_CORE_PROJECT GOOGLE_CLOUD_PROJECT CLOUDSDK_AI_REGION \
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE GCE_METADATA_HOST
mkdir -p "$HOME" "$CLOUDSDK_CONFIG"

# fahr in a scratch prefix, the driver built and installed against it.
install_driver() {
    install_separate_driver train-vertex vertex.so
}

# The bench, for this test only: its env (endpoints, credentials' folder,
# project, registry, control) exported, stopped when the test ends.
start_bench() {
    use_docker_bench
    local dir="$TEST_TMP/google-$BASHPID"
    mkdir -p "$dir"
    FAHR_BENCH_IMAGE="$BENCH_IMAGE" "$FAHR_SOURCE_ROOT/tests/bench/google.sh" start "$dir" ||
        fail "the Google bench did not start"
    # shellcheck disable=SC2064 # the folder now
    trap "'$FAHR_SOURCE_ROOT/tests/bench/google.sh' stop '$dir' || true" EXIT
    # shellcheck disable=SC1091 # written by google.sh
    . "$dir/env"
    PROJECT=$FAHR_BENCH_GOOGLE_PROJECT
    CREDS=$FAHR_BENCH_GOOGLE_CREDS
    TOKEN=$(cat "$CREDS/access_token")
    # One line of the service account's private key: it must show nowhere.
    KEY_LINE=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["private_key"].splitlines()[2])' "$CREDS/service_account.json")
    STORAGE_ROOT=${CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE%storage/v1/}
}

use_service_account() {
    export GOOGLE_APPLICATION_CREDENTIALS="$CREDS/service_account.json"
}

# run_fahr, and no token or key in what fahr printed.
run_vertex() {
    run_fahr "$@"
    expect_lacks "$OUT$ERR" "$TOKEN" "the access token on the terminal (fahr $*)"
    expect_lacks "$OUT$ERR" "$KEY_LINE" "the private key on the terminal (fahr $*)"
}

no_secret_in_fahrs_files() {
    if grep -rqF -e "$TOKEN" -e "$KEY_LINE" "$XDG_STATE_HOME" "$XDG_DATA_HOME" 2>/dev/null; then
        fail "a token or key is in fahr's files"
    fi
}

# How many requests of a discovery method (e.g. storage.objects.insert)
# the bench has had.
calls_of() { # METHOD_ID
    curl -sSf "$FAHR_BENCH_GOOGLE_CONTROL/requests" | python3 -c 'import json, sys
print(sum(json.dumps(r).count(json.dumps(sys.argv[1])) > 0 for r in json.load(sys.stdin)))' "$1"
}

control() { # WHAT JSON
    curl -sSf -H 'Content-Type: application/json' -d "$2" "$FAHR_BENCH_GOOGLE_CONTROL/$1" >/dev/null
}

# An object put into the bench's bucket through its JSON API, by curl.
put_object() { # NAME FILE
    curl -sSf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' \
        --data-binary "@$2" \
        "${STORAGE_ROOT}upload/storage/v1/b/$BUCKET/o?uploadType=media&name=$1" >/dev/null
}

# fit on the bench: the artifact, then more arguments.
vertex_fit() { # ARTIFACT ARGS...
    local artifact=$1
    shift
    run_vertex fit "$artifact" --build-driver=local --train-driver=vertex \
        --config.base_image="$BENCH_IMAGE" --config.project="$PROJECT" --config.region="$REGION" \
        --config.output_path="gs://$BUCKET/runs" --config.registry="$FAHR_BENCH_GOOGLE_REGISTRY" \
        "$@"
}

