#!/usr/bin/env bash
# The Vertex AI train driver (plugins/train-vertex, issue 13), shipped
# separately: fahr is installed into a scratch prefix, the driver is built
# by its own meson project against that prefix's fahr-plugin.pc and
# installed into the plugindir it names, as a user would. Then it runs
# against the Google bench (tests/bench/google.sh), which runs each job's
# pushed image through the Docker engine: script and notebook fits with
# hyperparameters, a gs:// and a local input, the Artifact Registry
# repository made on the first push only, a failing job, stop, fit --fetch
# and fetch, every job command with no flags after fit, refusals before a
# build, and gcloud describing a job fahr made. No token or key shows on the
# terminal or in fahr's files.
set -euo pipefail
# shellcheck source=tests/integration/vertex_lib.sh
. "$(dirname "$0")/vertex_lib.sh"

JOB_ID_FORM="^projects/[a-z0-9-]+/locations/$REGION/customJobs/[0-9]+\$"

# The job's model files as the bench's Cloud Storage serves them, by curl.
bench_model() { # JOB DEST
    python3 - "$1" "$2" "$TOKEN" "$CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM" "$STORAGE_ROOT" <<'PY'
import json, os, sys, urllib.parse, urllib.request
job, dest, token, aiplatform, storage = sys.argv[1:]
def get(url):
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    return urllib.request.urlopen(request).read()
spec = json.loads(get(aiplatform + "v1/" + job))["jobSpec"]
bucket, _, base = spec["baseOutputDirectory"]["outputUriPrefix"][5:].partition("/")
prefix = base.rstrip("/") + "/model/"
query = urllib.parse.urlencode({"prefix": prefix})
for item in json.loads(get(f"{storage}storage/v1/b/{bucket}/o?{query}")).get("items", []):
    path = os.path.join(dest, item["name"][len(prefix):])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    name = urllib.parse.quote(item["name"], safe="")
    with open(path, "wb") as f:
        f.write(get(f"{storage}storage/v1/b/{bucket}/o/{name}?alt=media"))
PY
}

installed_driver_is_listed() {
    install_driver
    run_fahr plugins
    expect_eq "$RC" 0 "exit code of plugins; stderr: $ERR"
    printf '%s\n' "$OUT" | grep -qE "^vertex +train +1\.0\.0 +1\.1 +$PLUGIN_DIR/vertex\.so\$" ||
        fail "vertex is not listed from $PLUGIN_DIR: $OUT"
    run_fahr help vertex
    local key
    for key in project region output_path repository registry machine_type accelerator_type \
        accelerator_count replica_count boot_disk_gb timeout spot service_account; do
        expect_contains "$OUT" "--config.$key" "help vertex"
    done
    expect_contains "$OUT" "\$CLOUDSDK_CORE_PROJECT" "help vertex: the project's variable"
}

# fit --fetch of the example with a service account; the repository is made
# by the first push only; every job command with no flags; the model as
# Cloud Storage has it.
script_fit_and_job_commands() {
    install_driver
    start_bench
    use_service_account
    local dir model="$TEST_TMP/model" job second
    dir=$(fixture_copy examples/foo)
    expect_eq "$(calls_of artifactregistry.projects.locations.repositories.create)" 0 \
        "repositories made before the first push"
    vertex_fit "$dir/model.py" --fetch "$model"
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"
    job=$(printf '%s\n' "$OUT" | head -n 1)
    [[ "$job" =~ $JOB_ID_FORM ]] || fail "stdout does not start with a job id: $OUT"
    expect_eq "$(printf '%s\n' "$OUT" | tail -n +2)" "$model" "stdout after the job id"
    expect_contains "$ERR" "creating the Artifact Registry repository fahr" "the first push"
    expect_contains "$ERR" "fitted a=3.000 b=2.000" "the job's log"
    expect_eq "$(cat "$model/model.json")" '{"a": 3.0, "b": 2.0}' "the model"
    expect_eq "$(calls_of storage.objects.list)" 1 "listings of the job's model by fit --fetch"
    mkdir "$TEST_TMP/bench-model"
    bench_model "$job" "$TEST_TMP/bench-model"
    diff -r "$TEST_TMP/bench-model" "$model" || fail "the fetched model differs from the bench's"
    expect_eq "$(calls_of artifactregistry.projects.locations.repositories.create)" 1 \
        "repositories made by the first push"

    # No flags now: the job index has the driver, the project and region.
    run_vertex status "$job"
    expect_eq "$RC" 0 "exit code of status; stderr: $ERR"
    expect_eq "$(printf '%s\n' "$OUT" | head -n 1)" "$job	completed	SUCCEEDED" "status"
    expect_contains "$OUT" "model: gs://$BUCKET/runs/foo-model-" "status: where the model is"
    run_vertex logs "$job"
    expect_eq "$RC" 0 "exit code of logs; stderr: $ERR"
    expect_contains "$OUT" "fitted a=3.000 b=2.000" "logs"
    expect_eq "$(printf '%s\n' "$OUT" | grep -c 'fitted a=')" 1 "the log line once"
    run_vertex fetch "$TEST_TMP/again" foo/model
    expect_eq "$RC" 0 "exit code of fetch; stderr: $ERR"
    expect_contains "$ERR" "newest completed job for foo/model: $job" "the job fetched"
    diff -r "$model" "$TEST_TMP/again" || fail "fetch differs from fit --fetch"
    run_vertex fetch "$TEST_TMP/again" foo/model
    [ "$RC" -ne 0 ] || fail "a fetch over the model fetched did not fail"
    diff -r "$model" "$TEST_TMP/again" || fail "a refused fetch changed the model"

    # The second push finds the repository.
    vertex_fit "$dir/model.py" --no-wait
    expect_eq "$RC" 0 "exit code of a second fit; stderr: $ERR"
    second=$OUT
    expect_lacks "$ERR" "creating the Artifact Registry repository" "the second push"
    expect_eq "$(calls_of artifactregistry.projects.locations.repositories.create)" 1 \
        "repositories made by the second push"
    CLOUDSDK_CORE_PROJECT="$PROJECT" run_vertex jobs foo/model --train-driver=vertex
    expect_eq "$RC" 0 "exit code of jobs; stderr: $ERR"
    printf '%s\n' "$OUT" | grep -qF "$job" || fail "jobs: $job not listed: $OUT"
    expect_contains "$(printf '%s\n' "$OUT" | grep customJobs | head -n 1)" "$second" "jobs: the newest first"
    expect_eq "$(printf '%s\n' "$OUT" | grep -c customJobs)" 2 "jobs of foo/model"
    no_secret_in_fahrs_files
}

# A notebook with an authorized_user credential; hyperparameters with a
# gs:// input and a local one (uploaded once, content-addressed).
notebook_hyperparameters_and_inputs() {
    install_driver
    start_bench
    export GOOGLE_APPLICATION_CREDENTIALS="$CREDS/authorized_user.json"
    # An authorized_user file names no token URI: gcloud's variable points
    # the refresh grant at the bench's.
    CLOUDSDK_AUTH_TOKEN_HOST=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["token_uri"])' \
        "$CREDS/service_account.json")
    export CLOUDSDK_AUTH_TOKEN_HOST
    local dir uploads
    dir=$(fixture_copy tests/fixtures/notebook)
    vertex_fit "$dir/train.ipynb" --fetch "$TEST_TMP/nb-model"
    expect_eq "$RC" 0 "exit code of a notebook fit; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/nb-model/model.json")" '{"total": 30}' "the notebook's model"
    # What a cell prints reaches the job's log, as a script's does.
    expect_contains "$ERR" "sum of squares 30" "the notebook's log followed by fit"
    local notebook_job
    notebook_job=$(printf '%s\n' "$OUT" | head -n 1)
    run_vertex logs "$notebook_job"
    expect_eq "$RC" 0 "exit code of logs of the notebook's job; stderr: $ERR"
    expect_eq "$(printf '%s\n' "$OUT" | grep -c 'sum of squares 30')" 1 \
        "the notebook's printed line in fahr logs, once"

    echo "1 2 3" >"$TEST_TMP/numbers.txt"
    put_object data/numbers.txt "$TEST_TMP/numbers.txt"
    mkdir -p "$TEST_TMP/local/more" "$TEST_TMP/inputs"
    echo "4 5" >"$TEST_TMP/local/more/numbers.txt"
    cat >"$TEST_TMP/inputs/train.py" <<'PY'
import json, os
hyperparameters = json.load(open("/opt/ml/input/config/hyperparameters.json"))
remote = [float(x) for x in open("/opt/ml/input/data/remote/numbers.txt").read().split()]
local = [float(x) for x in open("/opt/ml/input/data/local/more/numbers.txt").read().split()]
scale = float(hyperparameters["scale"])
print(f"{len(remote)} remote and {len(local)} local numbers, scale {scale}", flush=True)
os.makedirs("/opt/ml/model", exist_ok=True)
with open("/opt/ml/model/model.json", "w") as f:
    json.dump({"total": (sum(remote) + sum(local)) * scale, "hyperparameters": hyperparameters},
              f, sort_keys=True)
PY
    local inputs=(--input "remote=gs://$BUCKET/data" --input "local=$TEST_TMP/local" --hp.scale=2)
    vertex_fit "$TEST_TMP/inputs/train.py" "${inputs[@]}" --fetch "$TEST_TMP/hp-model"
    expect_eq "$RC" 0 "exit code of a fit with inputs; stderr: $ERR"
    expect_contains "$ERR" "3 remote and 2 local numbers, scale 2.0" "the job's log"
    expect_eq "$(cat "$TEST_TMP/hp-model/model.json")" \
        '{"hyperparameters": {"scale": "2"}, "total": 30.0}' "the model"
    uploads=$(calls_of storage.objects.insert)
    [ "$uploads" -ge 1 ] || fail "the local input was not uploaded"
    # The same data again: found where it went, not uploaded twice.
    vertex_fit "$TEST_TMP/inputs/train.py" "${inputs[@]}" --no-wait
    expect_eq "$RC" 0 "exit code of a second fit with inputs; stderr: $ERR"
    expect_contains "$ERR" "input local is in gs://$BUCKET/runs/inputs/" "the input found"
    expect_eq "$(calls_of storage.objects.insert)" "$uploads" "uploads of the same input"
    no_secret_in_fahrs_files
}

# A failing script (exit 3 with Vertex's message and the contract's
# reason), a failure Vertex reports, and stop.
failures_and_stop() {
    install_driver
    start_bench
    use_service_account
    local dir job
    dir=$(fixture_copy tests/fixtures/failing)
    vertex_fit "$dir/train.py"
    expect_eq "$RC" 3 "exit code of a failing script; stderr: $ERR"
    expect_contains "$ERR" "The replica workerpool0-0 exited with a non-zero status of 2" \
        "Vertex's failure message"
    expect_contains "$ERR" "ValueError: the data has no rows" "the contract's reason"
    control fault '{"job_fail": "The machine ran out of memory"}'
    dir=$(fixture_copy examples/foo)
    vertex_fit "$dir/model.py"
    expect_eq "$RC" 3 "exit code of a failed job; stderr: $ERR"
    expect_contains "$ERR" "The machine ran out of memory" "Vertex's failure message"
    # Failed jobs have no model: fetch finds no completed one.
    run_vertex fetch "$TEST_TMP/failed-model" foo/model
    expect_eq "$RC" 1 "exit code of a fetch with failed jobs only; stderr: $ERR"
    expect_contains "$ERR" "no completed job for 'foo/model'" "fetch of failed jobs"
    [ ! -e "$TEST_TMP/failed-model" ] || fail "a refused fetch left its directory"

    dir=$(fixture_copy tests/fixtures/sleeper)
    vertex_fit "$dir/train.py" --no-wait
    expect_eq "$RC" 0 "exit code of fit --no-wait; stderr: $ERR"
    job=$OUT
    expect_contains "$ERR" "fahr logs $job --follow" "the follow-up needs no flags"
    run_vertex stop "$job"
    expect_eq "$RC" 0 "exit code of stop; stderr: $ERR"
    run_vertex logs "$job" --follow
    expect_eq "$RC" 3 "exit code of logs --follow of a stopped job; stderr: $ERR"
    run_vertex status "$job"
    expect_contains "$OUT" "$job	stopped" "status of a stopped job"
    no_secret_in_fahrs_files
}

# A missing or rejected credential and values Vertex would refuse: one
# line each, before anything is built or pushed.
refused_before_the_build() {
    install_driver
    start_bench
    local dir
    dir=$(fixture_copy examples/foo)
    # No credential anywhere (the metadata server: a closed port).
    GCE_METADATA_HOST=127.0.0.1:1 vertex_fit "$dir/model.py"
    expect_eq "$RC" 1 "exit code with no credential; stderr: $ERR"
    expect_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "one line with no credential: $ERR"
    expect_contains "$ERR" "no Google credentials" "no credential"
    # The metadata server is probed once, not with the host's retries
    # (which --verbose shows as "trying again").
    FAHR_HTTP_ATTEMPTS=5 GCE_METADATA_HOST=127.0.0.1:1 vertex_fit "$dir/model.py" --verbose
    expect_eq "$RC" 1 "exit code with no credential (verbose); stderr: $ERR"
    expect_lacks "$ERR" "trying again" "a retry of the metadata server"
    GOOGLE_APPLICATION_CREDENTIALS="$CREDS/bad_service_account.json" vertex_fit "$dir/model.py"
    expect_eq "$RC" 1 "exit code with a key the token endpoint refuses; stderr: $ERR"
    expect_contains "$ERR" "Invalid JWT Signature" "a rejected key"
    GOOGLE_APPLICATION_CREDENTIALS="$CREDS/external_account.json" vertex_fit "$dir/model.py"
    expect_eq "$RC" 1 "exit code with an external_account; stderr: $ERR"
    expect_contains "$ERR" "external_account are not supported yet" "an external_account"
    use_service_account
    vertex_fit "$dir/model.py" --config.accelerator_type=NVIDIA_TESLA_K81
    expect_eq "$RC" 2 "exit code with an unknown accelerator; stderr: $ERR"
    expect_contains "$ERR" "accelerator_type is not one Vertex AI knows" "an unknown accelerator"
    vertex_fit "$dir/model.py" --config.accelerator_count=2
    expect_eq "$RC" 2 "exit code with a count and no accelerator; stderr: $ERR"
    vertex_fit "$dir/model.py" --config.machine_type=N1_STANDARD
    expect_eq "$RC" 2 "exit code with a bad machine type; stderr: $ERR"
    vertex_fit "$dir/model.py" --input "data=s3://bucket/data"
    expect_eq "$RC" 2 "exit code with an s3:// input; stderr: $ERR"
    expect_contains "$ERR" "Vertex AI reads gs://BUCKET/PATH or a local path" "an s3:// input"
    run_vertex fit "$dir/model.py" --build-driver=local --train-driver=vertex \
        --config.project="$PROJECT" --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 2 "exit code without output_path; stderr: $ERR"
    expect_contains "$ERR" "--config.output_path=gs://BUCKET" "no output_path"
    [ ! -e "$dir/Dockerfile" ] || fail "a refused fit built the image"
    expect_eq "$(calls_of aiplatform.projects.locations.customJobs.create)" 0 "jobs made"
}

# On a Google Cloud machine (the bench's metadata server), fit needs no
# --config.project: the machine's project is asked of the metadata server.
metadata_credential_finds_the_project() {
    install_driver
    start_bench
    local dir job
    dir=$(fixture_copy examples/foo)
    run_vertex fit "$dir/model.py" --build-driver=local --train-driver=vertex --no-wait \
        --config.base_image="$BENCH_IMAGE" --config.region="$REGION" \
        --config.output_path="gs://$BUCKET/runs" --config.registry="$FAHR_BENCH_GOOGLE_REGISTRY"
    expect_eq "$RC" 0 "exit code of fit without a project; stderr: $ERR"
    job=$OUT
    [[ "$job" =~ $JOB_ID_FORM ]] || fail "stdout is not a job id: $OUT"
    # (the job's name has the project's number, as Vertex AI gives it)
    expect_eq "$(curl -sSf "$FAHR_BENCH_GOOGLE_CONTROL/requests" | python3 -c 'import json, sys
requests = json.load(sys.stdin)
print(sum(r["path"] == "/computeMetadata/v1/project/project-id" for r in requests),
      *[r["path"] for r in requests
        if r.get("method_id") == "aiplatform.projects.locations.customJobs.create"])')" \
        "1 /v1/projects/$PROJECT/locations/$REGION/customJobs" \
        "the project asked of the metadata server once, the job made in it"
}

# gcloud (Google's own client) describes a job fahr made.
gcloud_describes_a_job() {
    install_driver
    start_bench
    use_service_account
    local dir job described
    dir=$(fixture_copy examples/foo)
    vertex_fit "$dir/model.py" --no-wait
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"
    job=$OUT
    described=$(CLOUDSDK_AUTH_ACCESS_TOKEN_FILE="$CREDS/access_token" CLOUDSDK_CORE_PROJECT="$PROJECT" \
        gcloud ai custom-jobs describe "$job" --region="$REGION" --format=json 2>"$TEST_TMP/gcloud.err") ||
        fail "gcloud ai custom-jobs describe: $(cat "$TEST_TMP/gcloud.err")"
    expect_eq "$(printf '%s' "$described" | python3 -c 'import json, sys
job = json.load(sys.stdin)
pool = job["jobSpec"]["workerPoolSpecs"][0]
print(job["labels"]["fahr-image"], pool["containerSpec"]["args"], pool["machineSpec"]["machineType"])')" \
        "foo-model ['train'] n1-standard-4" "what gcloud describes"
}

run_test installed_driver_is_listed
run_test script_fit_and_job_commands
run_test notebook_hyperparameters_and_inputs
run_test failures_and_stop
run_test refused_before_the_build
run_test metadata_credential_finds_the_project
if command -v gcloud >/dev/null; then
    run_test gcloud_describes_a_job
else
    TEST_COUNT=$((TEST_COUNT + 1))
    echo "ok $TEST_COUNT - gcloud_describes_a_job # SKIP gcloud is not installed"
fi
finish
