#!/usr/bin/env bash
# The Vertex driver's credentials and Cloud Storage client (issue 13) against
# the Google bench, with the driver installed as a user would
# (vertex_lib.sh): service-account, authorized-user and metadata-server
# credentials each give a token the bench takes; a bad key and an
# external_account file are one line; a 30-file model with one object
# damaged on the way is refused with LOCAL_DIR unchanged; a resumable
# upload broken in the middle completes; objects gcloud uploaded are
# fetched intact. No token or key shows anywhere.
set -euo pipefail
# shellcheck source=tests/integration/vertex_lib.sh
. "$(dirname "$0")/vertex_lib.sh"

# fetch of gs://BUCKET/PREFIX (the ARTIFACT form) into DIR.
fetch_prefix() { # DIR PREFIX ARGS...
    local dir=$1 prefix=$2
    shift 2
    run_vertex fetch "$dir" foo/model "gs://$BUCKET/$prefix" --train-driver=vertex "$@"
}

# The bench's OAuth token endpoint, as the service account file names it.
token_endpoint() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["token_uri"])' \
        "$CREDS/service_account.json"
}

each_credential_gives_a_token() {
    install_driver
    start_bench
    printf 'weights\n' >"$TEST_TMP/w.txt"
    put_object "creds/w.txt" "$TEST_TMP/w.txt"
    local kind
    for kind in service_account authorized_user metadata; do
        unset GOOGLE_APPLICATION_CREDENTIALS CLOUDSDK_AUTH_TOKEN_HOST
        rm -f "$CLOUDSDK_CONFIG/application_default_credentials.json"
        case $kind in
        service_account) export GOOGLE_APPLICATION_CREDENTIALS="$CREDS/service_account.json" ;;
        authorized_user)
            cp "$CREDS/authorized_user.json" "$CLOUDSDK_CONFIG/application_default_credentials.json"
            chmod 600 "$CLOUDSDK_CONFIG/application_default_credentials.json"
            CLOUDSDK_AUTH_TOKEN_HOST=$(token_endpoint)
            export CLOUDSDK_AUTH_TOKEN_HOST
            ;;
        metadata) ;; # GCE_METADATA_HOST from the bench's env
        esac
        fetch_prefix "$TEST_TMP/$kind" creds
        expect_eq "$RC" 0 "fetch with the $kind credential; stderr: $ERR"
        expect_eq "$(cat "$TEST_TMP/$kind/w.txt")" weights "the object fetched with $kind"
        expect_lacks "$ERR" "readable by other" "a 0600 credential ($kind)"
    done
    no_secret_in_fahrs_files
}

bad_credentials_are_one_line() {
    install_driver
    start_bench
    printf 'weights\n' >"$TEST_TMP/w.txt"
    put_object "creds/w.txt" "$TEST_TMP/w.txt"
    export GOOGLE_APPLICATION_CREDENTIALS="$CREDS/bad_service_account.json"
    fetch_prefix "$TEST_TMP/bad" creds
    [ "$RC" -ne 0 ] || fail "a bad key was taken"
    expect_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "the lines a bad key gets: $ERR"
    expect_contains "$ERR" "Invalid JWT Signature" "a bad key"
    expect_contains "$ERR" "bad_service_account.json" "the credential named"
    [ ! -e "$TEST_TMP/bad" ] || fail "a refused fetch made LOCAL_DIR"
    export GOOGLE_APPLICATION_CREDENTIALS="$CREDS/external_account.json"
    fetch_prefix "$TEST_TMP/bad" creds
    [ "$RC" -ne 0 ] || fail "an external_account file was taken"
    expect_contains "$ERR" "credentials of type external_account are not supported yet" \
        "external_account"
    cp "$CREDS/service_account.json" "$TEST_TMP/open.json"
    chmod 644 "$TEST_TMP/open.json"
    export GOOGLE_APPLICATION_CREDENTIALS="$TEST_TMP/open.json"
    fetch_prefix "$TEST_TMP/open" creds
    expect_eq "$RC" 0 "fetch with a key others can read; stderr: $ERR"
    expect_contains "$ERR" "$TEST_TMP/open.json is readable by other users" "the warning"
}

# 30 files under gs://BUCKET/m30/, one damaged on the way: refused, the
# directory as it was; then, without the fault, all fetched.
damaged_object_refused() {
    install_driver
    start_bench
    use_service_account
    local src="$TEST_TMP/m30" dest="$TEST_TMP/dest" i
    mkdir -p "$src/sub" "$dest"
    for i in $(seq 1 30); do
        head -c $((i * 997)) /dev/urandom >"$src/sub/f$i.bin"
        put_object "m30/sub/f$i.bin" "$src/sub/f$i.bin"
    done
    printf 'mine\n' >"$dest/keep.txt"
    cp -R "$dest" "$TEST_TMP/dest.before"
    control fault "{\"corrupt_object\": \"$BUCKET/m30/sub/f17.bin\"}"
    fetch_prefix "$dest" m30 --overwrite
    [ "$RC" -ne 0 ] || fail "a damaged object was taken"
    expect_contains "$ERR" "gs://$BUCKET/m30/sub/f17.bin came damaged" "the damaged object named"
    diff -r "$TEST_TMP/dest.before" "$dest" || fail "a refused fetch changed LOCAL_DIR"
    fetch_prefix "$dest" m30 --overwrite
    expect_eq "$RC" 0 "fetch without the fault; stderr: $ERR"
    for i in $(seq 1 30); do
        cmp "$src/sub/f$i.bin" "$dest/sub/f$i.bin" || fail "f$i.bin differs"
    done
}

# A local input of 9 MiB goes up while the bench cuts the connection inside
# a chunk: the upload resumes and the object is the file.
broken_upload_completes() {
    install_driver
    start_bench
    use_service_account
    local dir data="$TEST_TMP/data" got="$TEST_TMP/got"
    mkdir -p "$data"
    head -c $((9 * 1024 * 1024 + 321)) /dev/urandom >"$data/big.bin"
    dir=$(fixture_copy examples/foo)
    control fault '{"break_upload_after": 3000000}'
    vertex_fit "$dir/model.py" --input "train=$data" --no-wait
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"
    python3 - "$TOKEN" "$STORAGE_ROOT" "$BUCKET" "$got" <<'PY'
import json, sys, urllib.parse, urllib.request
token, storage, bucket, dest = sys.argv[1:]
def get(url):
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    return urllib.request.urlopen(request).read()
query = urllib.parse.urlencode({"prefix": "runs/inputs/"})
names = [i["name"] for i in json.loads(get(f"{storage}storage/v1/b/{bucket}/o?{query}"))["items"]
         if i["name"].endswith("/big.bin")]
assert len(names) == 1, names
with open(dest, "wb") as f:
    f.write(get(f"{storage}storage/v1/b/{bucket}/o/{urllib.parse.quote(names[0], safe='')}?alt=media"))
PY
    cmp "$data/big.bin" "$got" || fail "the uploaded object is not the file"
}

gcloud_uploads_fahr_fetches() {
    install_driver
    start_bench
    use_service_account
    local src="$TEST_TMP/gsrc" i
    mkdir -p "$src/deep"
    for i in 1 2 3; do head -c $((i * 300000)) /dev/urandom >"$src/deep/g$i.bin"; done
    head -c $((9 * 1024 * 1024 + 7)) /dev/urandom >"$src/large.bin" # resumable in gcloud
    printf '{"a": 1}\n' >"$src/model.json"
    # File by file: a recursive copy asks for the bucket's storageLayout,
    # which the bench does not play.
    export CLOUDSDK_AUTH_ACCESS_TOKEN_FILE="$CREDS/access_token" CLOUDSDK_CORE_PROJECT="$PROJECT" \
        CLOUDSDK_CORE_DISABLE_PROMPTS=1
    { gcloud storage cp "$src/model.json" "$src/large.bin" "gs://$BUCKET/gc/" &&
        gcloud storage cp "$src/deep/g1.bin" "$src/deep/g2.bin" "$src/deep/g3.bin" \
            "gs://$BUCKET/gc/deep/"; } >"$TEST_TMP/gcloud.log" 2>&1 ||
        fail "gcloud storage cp: $(cat "$TEST_TMP/gcloud.log")"
    unset CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
    fetch_prefix "$TEST_TMP/gdest" gc
    expect_eq "$RC" 0 "fetch of what gcloud uploaded; stderr: $ERR"
    diff -r "$src" "$TEST_TMP/gdest" || fail "what fahr fetched differs from what gcloud uploaded"
}

run_test each_credential_gives_a_token
run_test bad_credentials_are_one_line
run_test damaged_object_refused
run_test broken_upload_completes
if command -v gcloud >/dev/null; then
    run_test gcloud_uploads_fahr_fetches
else
    TEST_COUNT=$((TEST_COUNT + 1))
    echo "ok $TEST_COUNT - gcloud_uploads_fahr_fetches # SKIP gcloud is not installed"
fi
finish
