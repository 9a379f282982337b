#!/usr/bin/env bash
# The sagemaker train driver against the bench: moto behind a signature judge
# that plays SageMaker's part (tests/bench/aws_bench.py), a local
# docker-registry (ECR's, taking ECR's credentials only: the push itself is
# proven in ecr_test.sh) and the bench's Docker engine.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

use_docker_bench
use_aws_bench

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # PORT: up to 5 s for a server to listen there
    for _ in $(seq 1 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return
        sleep 0.1
    done
}

training_job_count() {
    moto_cli sagemaker list-training-jobs --query 'length(TrainingJobSummaries)'
}

# examples/foo/model.py as NAME/model.py, an image of its own (NAME/model)
# that no other test builds, and none left in the engine by an earlier run;
# prints its path.
fresh_model() { # NAME
    docker image rm -f "$1/model:latest" >/dev/null 2>&1 || true
    mkdir -p "$TEST_TMP/src-$1/$1"
    cp "$FAHR_SOURCE_ROOT/examples/foo/model.py" "$TEST_TMP/src-$1/$1/model.py"
    echo "$TEST_TMP/src-$1/$1/model.py"
}

# fit stopped before anything was built, pushed or created: no build line,
# no build files beside the artifact, no image in the engine or the
# registry, no new training job.
expect_nothing_made() { # ARTIFACT IMAGE JOB_COUNT_BEFORE
    local artifact=$1 image=$2 before=$3 status
    expect_lacks "$ERR" "building" "stderr"
    [ ! -e "$(dirname "$artifact")/Dockerfile" ] || fail "build files were written"
    if docker image inspect "$image:latest" >/dev/null 2>&1; then
        fail "the image $image was built"
    fi
    # ECR's credentials as curl's config on stdin, never on a command line.
    status=$(printf 'user = "%s:%s"\n' "$FAHR_BENCH_REGISTRY_USER" "$(cat "$FAHR_BENCH_REGISTRY_PASSWORD_FILE")" |
        curl -s -K - -o /dev/null -w '%{http_code}' "http://$FAHR_BENCH_REGISTRY/v2/$image/tags/list")
    expect_eq "$status" 404 "the registry's answer for $image"
    expect_eq "$(training_job_count)" "$before" "training jobs"
}

# A training job made straight in moto (no container runs), as another
# client or an older fahr made it: NAME, its image's repository, and
# optionally one tag, KEY=VALUE.
moto_training_job() { # NAME REPOSITORY [TAG]
    local tag=()
    if [ -n "${3:-}" ]; then
        tag=(--tags "Key=${3%%=*},Value=${3#*=}")
    fi
    moto_cli sagemaker create-training-job --training-job-name "$1" \
        --algorithm-specification "TrainingImage=$FAHR_BENCH_REGISTRY/$2:old,TrainingInputMode=File" \
        --role-arn arn:aws:iam::123456789012:role/fahr-bench-role \
        --output-data-config "S3OutputPath=s3://$FAHR_BENCH_BUCKET/models" \
        --resource-config InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=1 \
        --stopping-condition MaxRuntimeInSeconds=60 "${tag[@]}" >/dev/null
}

documented_fit_and_fetch() {
    local dir
    dir=$(fixture_copy examples/foo)
    # The original fahr's documented form, plus the bench's registry and image.
    run_fahr fit "$dir/model.py" --build-driver=local --train-driver=sagemaker \
        --config.output_path="s3://$FAHR_BENCH_BUCKET/models" \
        --config.role_name="$FAHR_BENCH_ROLE" \
        --config.train_instance_count=2 --config.train_instance_type=ml.m5.large \
        --config.registry="$FAHR_BENCH_REGISTRY" --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local job=$OUT
    [[ "$job" =~ ^foo-model-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$ ]] || fail "job name '$job'"
    expect_contains "$ERR" "job $job: running: Training" "status lines"
    expect_contains "$ERR" "job $job: completed: Completed" "status lines"
    expect_contains "$ERR" "fitted a=3.000 b=2.000" "the job's log line"

    local described
    described=$(moto_cli sagemaker describe-training-job --training-job-name "$job")
    python3 - "$described" "$FAHR_BENCH_REGISTRY" <<'PY' || fail "the job is not what was asked: $described"
import json, sys
job, registry = json.loads(sys.argv[1]), sys.argv[2]
assert job["AlgorithmSpecification"]["TrainingImage"].startswith(registry + "/foo/model:"), job
assert job["RoleArn"].endswith(":role/fahr-bench-role"), job["RoleArn"]
assert job["ResourceConfig"]["InstanceType"] == "ml.m5.large", job["ResourceConfig"]
assert job["ResourceConfig"]["InstanceCount"] == 2, job["ResourceConfig"]
assert job["OutputDataConfig"]["S3OutputPath"] == "s3://fahr-bench/models", job["OutputDataConfig"]
PY

    # fahr fetch LOCAL_TARGET_DIRECTORY MODEL_IMAGE_TAG S3_ARTIFACT_FILEPATH
    local artifact="s3://$FAHR_BENCH_BUCKET/models/$job/output/model.tar.gz"
    run_fahr fetch "$TEST_TMP/model" foo/model "$artifact"
    expect_eq "$RC" 0 "fetch exit code; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/model/model.json")" '{"a": 3.0, "b": 2.0}' "fetched model.json"
    python3 -c "import pickle, sys; assert pickle.load(open(sys.argv[1], 'rb')) == (3.0, 2.0)" \
        "$TEST_TMP/model/model.pkl" || fail "fetched model.pkl"
    expect_eq "$(find "$TEST_TMP/model" -mindepth 1 | wc -l)" 2 "files fetched"

    # Without the S3 path: the tag's newest completed job.
    run_fahr fetch "$TEST_TMP/model-latest" foo/model
    expect_eq "$RC" 0 "fetch exit code; stderr: $ERR"
    cmp "$TEST_TMP/model/model.pkl" "$TEST_TMP/model-latest/model.pkl" || fail "latest model differs"

    # An existing file is kept, and the directory left as it was.
    echo "mine" >"$TEST_TMP/model/model.json"
    run_fahr fetch "$TEST_TMP/model" foo/model "$artifact"
    expect_eq "$RC" 1 "exit code over an existing file"
    expect_contains "$ERR" "model.json exists; --overwrite replaces it" "stderr"
    expect_eq "$(cat "$TEST_TMP/model/model.json")" "mine" "kept file"
    expect_eq "$(find "$TEST_TMP/model" -mindepth 1 | wc -l)" 2 "nothing left behind"
    run_fahr fetch "$TEST_TMP/model" foo/model "$artifact" --overwrite
    expect_eq "$RC" 0 "exit code with --overwrite"
    expect_eq "$(cat "$TEST_TMP/model/model.json")" '{"a": 3.0, "b": 2.0}' "replaced file"

    # status and jobs see it too.
    run_fahr status "$job"
    expect_eq "$RC" 0 "status exit code"
    expect_contains "$OUT" "$job	completed	Completed" "status"
    expect_contains "$OUT" "model: $artifact" "status"
    run_fahr jobs foo/model
    expect_contains "$OUT" "$job" "jobs"
    # Two instances: each host's line, prefixed with it (which host ends
    # first is the hosts' race).
    run_fahr logs "$job"
    expect_eq "$(printf '%s\n' "$OUT" | sort)" "[algo-1] fitted a=3.000 b=2.000
[algo-2] fitted a=3.000 b=2.000" "logs"
}

# The turn lines of fit's or logs' output, checked: turns 0.. in order,
# each prefixed with the host that printed it, none twice, none lost.
expect_turns_in_order() { # TEXT TURNS WHAT
    python3 - "$1" "$2" <<'PY' || fail "$3: lines out of order, repeated or lost: $1"
import re, sys
text, turns = sys.argv[1], int(sys.argv[2])
lines = [l for l in text.splitlines() if " turn " in l]
seen = []
for line in lines:
    m = re.fullmatch(r"\[(algo-\d+)\] (algo-\d+) turn (\d+)", line)
    assert m and m.group(1) == m.group(2), line
    seen.append(int(m.group(3)))
assert seen == list(range(turns)), seen
PY
}

# Two hosts that take turns printing, 0.4 s apart: fit (polling once a
# second, so that each read has lines of both) and logs show the lines in
# time order, each with its host, as often as the job printed them.
two_hosts_interleave_in_time_order() {
    local dir
    dir=$(fixture_copy tests/fixtures/hosts)
    FAHR_POLL_INTERVAL_MS=1000 fit_on_bench "$dir/train.py" --config.train_instance_count=2 \
        --hp.turns=5 --fetch "$TEST_TMP/hosts-model"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local job
    job=$(printf '%s\n' "$OUT" | head -n 1)
    expect_turns_in_order "$ERR" 10 "fit"
    expect_contains "$ERR" "[algo-1] algo-1 of 2 met algo-1" "fit"
    expect_contains "$ERR" "[algo-2] algo-2 of 2 met algo-1" "fit"
    # Every host's model, one archive; the name both wrote is algo-1's.
    expect_eq "$(cat "$TEST_TMP/hosts-model/algo-2.json")" '{"host": "algo-2"}' "algo-2's model"
    expect_eq "$(cat "$TEST_TMP/hosts-model/model.json")" '{"written_by": "algo-1"}' "model.json"
    # Each host wrote its own stream (read straight from moto).
    local streams
    streams=$(moto_cli logs describe-log-streams --log-group-name /aws/sagemaker/TrainingJobs \
        --log-stream-name-prefix "$job/" --query 'logStreams[].logStreamName' --output text)
    [[ "$streams" =~ ^$job/algo-1-[0-9]+[[:space:]]+$job/algo-2-[0-9]+$ ]] ||
        fail "the job's streams: $streams"
    run_fahr logs "$job"
    expect_eq "$RC" 0 "logs exit code; stderr: $ERR"
    expect_turns_in_order "$OUT" 10 "logs"
    expect_eq "$(printf '%s\n' "$OUT" | grep -vc '^\[algo-[12]\] ')" 0 "lines without a host"
}

# One host of two fails: the job fails with its reason, the other stopped.
one_failing_host_fails_the_job() {
    local dir started
    dir=$(fixture_copy tests/fixtures/hosts)
    started=$(date +%s)
    fit_on_bench "$dir/train.py" --config.train_instance_count=2 --hp.fail_host=algo-2 \
        --hp.turns=100
    expect_eq "$RC" 3 "exit code; stderr: $ERR"
    expect_contains "$ERR" "failed: AlgorithmError: algo-2 gave up" "stderr"
    # algo-1 waits for algo-2 forever (100 turns after): it was stopped.
    [ $(($(date +%s) - started)) -lt 60 ] || fail "the job outlived its failed host"
}

# SageMaker's secondary statuses with their messages, as they change; the
# job's addresses on stderr, never on stdout (scripts read the job id
# there) nor with -q.
statuses_with_messages_and_urls() {
    local dir job region=$AWS_REGION
    dir=$(fixture_copy examples/foo)
    fit_on_bench "$dir/model.py"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    job=$OUT
    expect_contains "$ERR" "job $job: running: Starting: Starting the training job" "statuses"
    expect_contains "$ERR" "job $job: running: Training: Downloading the training image" "statuses"
    expect_contains "$ERR" "job $job: running: Training: Training image download completed. Training in progress." "statuses"
    expect_contains "$ERR" "job $job: completed: Completed: Training job completed" "statuses"
    expect_eq "$(printf '%s\n' "$ERR" | grep -c "Training image download completed")" 1 \
        "status lines for one change"
    expect_contains "$ERR" "fahr: sagemaker: console: https://$region.console.aws.amazon.com/sagemaker/home?region=$region#/jobs/$job" "stderr"
    expect_contains "$ERR" "fahr: sagemaker: logs: https://$region.console.aws.amazon.com/cloudwatch/home?region=$region#logStream:group=/aws/sagemaker/TrainingJobs;prefix=$job;streamFilter=typeLogStreamPrefix" "stderr"
    # One host: the lines as the job wrote them.
    expect_contains "$ERR" "
fitted a=3.000 b=2.000" "the job's line, without a prefix"
    # The transitions as the bench gives them, through the AWS CLI.
    aws --endpoint-url "$AWS_ENDPOINT_URL" --region "$region" --output json sagemaker \
        describe-training-job --training-job-name "$job" >"$TEST_TMP/described"
    python3 - "$TEST_TMP/described" <<'PY' || fail "SecondaryStatusTransitions: $(cat "$TEST_TMP/described")"
import json, sys
transitions = json.load(open(sys.argv[1]))["SecondaryStatusTransitions"]
assert [t["Status"] for t in transitions] == ["Starting", "Downloading", "Training", "Uploading", "Completed"], transitions
assert all(t["StatusMessage"] and "EndTime" in t for t in transitions), transitions
PY
    fit_on_bench "$dir/model.py" --no-wait
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    [[ "$OUT" =~ ^foo-model-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$ ]] || fail "stdout of --no-wait: $OUT"
    expect_contains "$ERR" "console: https://" "stderr of --no-wait"
    run_fahr fit "$dir/model.py" --build-driver=local --train-driver=sagemaker -q \
        --config.output_path="s3://$FAHR_BENCH_BUCKET/models" \
        --config.role_name="$FAHR_BENCH_ROLE" --config.registry="$FAHR_BENCH_REGISTRY" \
        --config.base_image="$BENCH_IMAGE" --no-wait
    expect_eq "$RC" 0 "exit code with -q; stderr: $ERR"
    expect_lacks "$ERR" "https://" "stderr with -q"
}

failing_job_reports_its_reason() {
    local dir
    dir=$(fixture_copy tests/fixtures/failing)
    fit_on_bench "$dir/train.py"
    expect_eq "$RC" 3 "exit code; stderr: $ERR"
    expect_contains "$ERR" "failed: AlgorithmError: ValueError: the data has no rows" "stderr"
    expect_contains "$ERR" "loading data" "the job's log"
    run_fahr fetch "$TEST_TMP/never" failing/train
    expect_eq "$RC" 1 "fetch of a tag without a completed job"
    expect_contains "$ERR" "no completed job for 'failing/train'" "stderr"
    [ ! -e "$TEST_TMP/never" ] || fail "a failed fetch left LOCAL_DIR behind"
}

stop_and_logs_follow() {
    local dir
    dir=$(fixture_copy tests/fixtures/sleeper)
    fit_on_bench "$dir/train.py" --no-wait
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local job=$OUT
    # Wait until it trains (Training begins with the image's download:
    # wait for the script's lines), then stop it.
    for _ in $(seq 1 100); do
        run_fahr status "$job"
        case "$OUT" in *"Training in progress"*) break ;; esac
        sleep 0.2
    done
    expect_contains "$OUT" "running	Training: Training image download completed. Training in progress." \
        "status while training"
    for _ in $(seq 1 150); do
        run_fahr logs "$job"
        case "$OUT" in *"step 2"*) break ;; esac
        sleep 0.2
    done
    run_fahr stop "$job"
    expect_eq "$RC" 0 "stop exit code; stderr: $ERR"
    run_fahr logs "$job" --follow
    expect_eq "$RC" 3 "logs --follow exit code of a stopped job; stderr: $ERR"
    expect_contains "$OUT" "step 0" "followed logs"
    # Lines in order, none lost.
    python3 - "$OUT" <<'PY' || fail "log lines out of order or lost"
import sys
steps = [int(line.split()[1]) for line in sys.argv[1].splitlines() if line.startswith("step ")]
assert steps == list(range(len(steps))) and len(steps) >= 3, steps
PY
    run_fahr status "$job"
    expect_contains "$OUT" "$job	stopped" "status after stop"
}

max_runtime_stops_the_job() {
    local dir
    dir=$(fixture_copy tests/fixtures/sleeper)
    fit_on_bench "$dir/train.py" --config.max_runtime=2
    expect_eq "$RC" 3 "exit code; stderr: $ERR"
    expect_contains "$ERR" "stopped" "stderr"
}

wrong_secret_fails_and_creates_nothing() {
    local dir before after
    dir=$(fixture_copy examples/foo)
    before=$(moto_cli sagemaker list-training-jobs --query 'length(TrainingJobSummaries)')
    AWS_SECRET_ACCESS_KEY=wrong-secret fit_on_bench "$dir/model.py"
    expect_eq "$RC" 1 "exit code"
    expect_contains "$ERR" "fahr: sagemaker: GetCallerIdentity: SignatureDoesNotMatch: The request signature we calculated does not match" "stderr"
    expect_eq "$(printf '%s\n' "$ERR" | grep -c '^fahr: sagemaker:')" 1 "one error line"
    expect_lacks "$ERR" "wrong-secret" "stderr"
    after=$(moto_cli sagemaker list-training-jobs --query 'length(TrainingJobSummaries)')
    expect_eq "$after" "$before" "training jobs"
}

unknown_role_is_a_clear_error() {
    local artifact before
    artifact=$(fresh_model norole)
    before=$(training_job_count)
    run_fahr fit "$artifact" --build-driver=local --train-driver=sagemaker \
        --config.output_path="s3://$FAHR_BENCH_BUCKET/models" --config.role_name=no-such-role \
        --config.registry="$FAHR_BENCH_REGISTRY" --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 1 "exit code"
    expect_contains "$ERR" "fahr: sagemaker: GetRole: NoSuchEntity:" "stderr"
    # Found before the build, not after the push.
    expect_nothing_made "$artifact" norole/model "$before"
}

missing_credentials_are_found_before_the_build() {
    local artifact before key=$AWS_ACCESS_KEY_ID secret=$AWS_SECRET_ACCESS_KEY
    artifact=$(fresh_model nocreds)
    before=$(training_job_count)
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    fit_on_bench "$artifact"
    export AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret
    expect_eq "$RC" 1 "exit code; stderr: $ERR"
    expect_contains "$ERR" "no AWS credentials found" "stderr"
    expect_nothing_made "$artifact" nocreds/model "$before"
}

role_arn_is_checked_first() {
    local artifact before arn=arn:aws:iam::12345:role/fahr-bench-role
    artifact=$(fresh_model badarn)
    before=$(training_job_count)
    fit_on_bench "$artifact" --config.role_name="$arn"
    expect_eq "$RC" 2 "exit code; stderr: $ERR"
    expect_contains "$ERR" "fahr: sagemaker: --config.role_name: '$arn' is neither an IAM role name" "stderr"
    expect_nothing_made "$artifact" badarn/model "$before"
}

missing_bucket_is_found_before_the_build() {
    local artifact before
    artifact=$(fresh_model nobucket)
    before=$(training_job_count)
    fit_on_bench "$artifact" --config.output_path=s3://no-such-bucket/models
    expect_eq "$RC" 1 "exit code; stderr: $ERR"
    expect_contains "$ERR" "fahr: sagemaker: the bucket no-such-bucket does not exist" "stderr"
    expect_nothing_made "$artifact" nobucket/model "$before"
}

bucket_without_access_is_found_before_the_build() {
    # S3 through a server that refuses everything, as S3 answers for a
    # bucket that is someone else's.
    local artifact before port server
    artifact=$(fresh_model denied)
    before=$(training_job_count)
    port=$(free_port)
    python3 - "$port" <<'PY' &
import http.server, sys
class Deny(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_HEAD(self):
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_GET = do_PUT = do_POST = do_HEAD
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Deny).serve_forever()
PY
    server=$!
    # shellcheck disable=SC2064 # the pid is known now
    trap "kill $server" RETURN
    wait_for_port "$port"
    AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port" fit_on_bench "$artifact"
    expect_eq "$RC" 1 "exit code; stderr: $ERR"
    expect_contains "$ERR" "fahr: sagemaker: no access to bucket $FAHR_BENCH_BUCKET" "stderr"
    expect_nothing_made "$artifact" denied/model "$before"
}

sagemaker_rules_are_checked_first() {
    local artifact before long
    artifact=$(fresh_model rules)
    before=$(training_job_count)
    long=$(printf 'a%.0s' $(seq 1 70))
    fit_on_bench "$artifact" --config.job_name='my job_1'
    expect_eq "$RC" 2 "exit code for 'my job_1'; stderr: $ERR"
    expect_contains "$ERR" "'my job_1' is not a SageMaker training job name" "stderr"
    expect_nothing_made "$artifact" rules/model "$before"
    fit_on_bench "$artifact" --config.job_name="$long"
    expect_eq "$RC" 2 "exit code for 70 characters; stderr: $ERR"
    expect_contains "$ERR" "'$long' is not a SageMaker training job name" "stderr"
    expect_nothing_made "$artifact" rules/model "$before"
    local key
    for key in train_instance_count volume_size max_runtime; do
        fit_on_bench "$artifact" "--config.$key=0"
        expect_eq "$RC" 2 "exit code for $key 0; stderr: $ERR"
        expect_contains "$ERR" "fahr: sagemaker: --config.$key must be at least 1, not 0" "stderr"
        expect_nothing_made "$artifact" rules/model "$before"
    done
    fit_on_bench "$artifact" --config.role_name='my role'
    expect_eq "$RC" 2 "exit code for 'my role'; stderr: $ERR"
    expect_contains "$ERR" "fahr: sagemaker: --config.role_name: 'my role' is neither an IAM role name" "stderr"
    expect_nothing_made "$artifact" rules/model "$before"
    fit_on_bench "$artifact" --config.train_instance_type=m5.large
    expect_eq "$RC" 2 "exit code for m5.large; stderr: $ERR"
    expect_contains "$ERR" "fahr: sagemaker: --config.train_instance_type: 'm5.large' is not a SageMaker instance type" "stderr"
    expect_nothing_made "$artifact" rules/model "$before"
}

# SageMaker's limits on hyperparameters and channels are the driver's, in
# check(), before anything is built (the host takes what any driver may).
sagemaker_input_limits_are_checked_first() {
    local artifact before many=() channels=() i
    artifact=$(fresh_model limits)
    before=$(training_job_count)
    for i in $(seq 0 100); do many+=("--hp.k$i=v"); done
    fit_on_bench "$artifact" "${many[@]}"
    expect_eq "$RC" 2 "exit code with 101 hyperparameters; stderr: $ERR"
    expect_eq "$ERR" "fahr: sagemaker: 101 hyperparameters; SageMaker takes at most 100" "stderr"
    expect_nothing_made "$artifact" limits/model "$before"
    fit_on_bench "$artifact" "--hp.$(printf 'k%.0s' $(seq 1 257))=v"
    expect_eq "$RC" 2 "exit code with a long name; stderr: $ERR"
    expect_contains "$ERR" "a hyperparameter's name is at most 256 characters" "stderr"
    fit_on_bench "$artifact" "--hp.long=$(head -c 2501 /dev/zero | tr '\0' x)"
    expect_eq "$RC" 2 "exit code with a long value; stderr: $ERR"
    expect_eq "$ERR" "fahr: sagemaker: --hp.long: a hyperparameter's value is at most 2500 characters" "stderr"
    for i in $(seq 1 21); do channels+=(--input "c$i=s3://$FAHR_BENCH_BUCKET/$i"); done
    fit_on_bench "$artifact" "${channels[@]}"
    expect_eq "$RC" 2 "exit code with 21 channels; stderr: $ERR"
    expect_eq "$ERR" "fahr: sagemaker: 21 input channels; SageMaker takes at most 20" "stderr"
    fit_on_bench "$artifact" --input "my data=s3://$FAHR_BENCH_BUCKET/x"
    expect_eq "$RC" 2 "exit code with a space in a channel's name; stderr: $ERR"
    expect_contains "$ERR" "fahr: sagemaker: --input my data: a channel's name is letters" "stderr"
    fit_on_bench "$artifact" --input "train=gs://bucket/data"
    expect_eq "$RC" 2 "exit code with a gs source; stderr: $ERR"
    expect_eq "$ERR" "fahr: sagemaker: --input train: SageMaker reads s3:// locations and local files and directories, not gs://bucket/data" "stderr"
    fit_on_bench "$artifact" --input "train=kaggle:owner/some-set"
    expect_eq "$RC" 2 "exit code with an opaque kaggle: source; stderr: $ERR"
    expect_eq "$ERR" "fahr: sagemaker: --input train: SageMaker reads s3:// locations and local files and directories, not kaggle:owner/some-set" "stderr"
    fit_on_bench "$artifact" --input "train=s3://No_Bucket/data"
    expect_eq "$RC" 2 "exit code with a bad bucket; stderr: $ERR"
    expect_eq "$ERR" "fahr: sagemaker: --input train: 's3://No_Bucket/data' is not an S3 location (like s3://bucket/prefix)" "stderr"
    expect_nothing_made "$artifact" limits/model "$before"
}

job_name_taken_is_refused() {
    # A job of that name, with a model of its own.
    local name=taken-job key=models/taken-job/output/model.tar.gz artifact before etag
    moto_training_job "$name" other/model
    echo "the old model" >"$TEST_TMP/old-model"
    moto_cli s3 cp --quiet "$TEST_TMP/old-model" "s3://$FAHR_BENCH_BUCKET/$key"
    etag=$(moto_cli s3api head-object --bucket "$FAHR_BENCH_BUCKET" --key "$key" --query ETag --output text)
    artifact=$(fresh_model taken)
    before=$(training_job_count)
    fit_on_bench "$artifact" --config.job_name="$name"
    expect_eq "$RC" 2 "exit code; stderr: $ERR"
    expect_contains "$ERR" "fahr: sagemaker: a training job named $name already exists; choose another --config.job_name" "stderr"
    expect_nothing_made "$artifact" taken/model "$before"
    expect_eq "$(moto_cli s3api head-object --bucket "$FAHR_BENCH_BUCKET" --key "$key" \
        --query ETag --output text)" "$etag" "the old job's model"
    expect_eq "$(moto_cli sagemaker describe-training-job --training-job-name "$name" \
        --query AlgorithmSpecification.TrainingImage --output text)" \
        "$FAHR_BENCH_REGISTRY/other/model:old" "the old job"
}

# A script that writes which image it is as its model.
image_script() { # DIR/NAME.py IMAGE
    mkdir -p "$(dirname "$1")"
    printf 'import json\nwith open("/opt/ml/model/model.json", "w") as f:\n    json.dump({"image": "%s"}, f)\n' \
        "$2" >"$1"
}

jobs_and_fetch_match_the_image_exactly() {
    image_script "$TEST_TMP/one/smx/model.py" smx/model
    image_script "$TEST_TMP/two/smx/model-v2.py" smx/model-v2
    fit_on_bench "$TEST_TMP/one/smx/model.py"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local first=$OUT
    fit_on_bench "$TEST_TMP/two/smx/model-v2.py"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local second=$OUT
    expect_eq "$(moto_cli sagemaker list-tags --resource-arn \
        "arn:aws:sagemaker:us-east-1:123456789012:training-job/$first" \
        --query "Tags[?Key=='fahr:image'].Value" --output text)" smx/model "the job's tag"

    local tag
    for tag in smx/model smx/model:latest; do
        run_fahr jobs "$tag"
        expect_eq "$RC" 0 "jobs $tag; stderr: $ERR"
        expect_lacks "$OUT" "$second" "jobs $tag"
        [[ "$OUT" =~ $first\ +completed\ +[0-9]{4}-[0-9]{2}-[0-9]{2}T ]] ||
            fail "jobs $tag: no completed row with its time for $first: $OUT"
    done
    run_fahr jobs smx/model-v2
    expect_contains "$OUT" "$second" "jobs smx/model-v2"
    expect_lacks "$OUT" "$first" "jobs smx/model-v2"

    # The newest job is smx/model-v2's: fetch brings smx/model's.
    run_fahr fetch "$TEST_TMP/smx-model" smx/model
    expect_eq "$RC" 0 "fetch exit code; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/smx-model/model.json")" '{"image": "smx/model"}' "fetched model"

    # Names of smx/model's form that are another image's jobs (smx-model:
    # tagged, and made before fahr tagged its jobs), and one made before
    # then that ran smx/model, which is its job.
    moto_training_job smx-model-20200101-000000-0001 smx-model fahr:image=smx-model
    moto_training_job smx-model-20200101-000000-0002 smx-model
    moto_training_job smx-model-20200101-000000-0003 smx/model
    run_fahr jobs smx/model
    expect_eq "$RC" 0 "jobs; stderr: $ERR"
    expect_contains "$OUT" "$first" "jobs smx/model"
    expect_contains "$OUT" "smx-model-20200101-000000-0003" "jobs smx/model"
    expect_lacks "$OUT" "smx-model-20200101-000000-0001" "jobs smx/model"
    expect_lacks "$OUT" "smx-model-20200101-000000-0002" "jobs smx/model"
    expect_lacks "$OUT" "$second" "jobs smx/model"
}

profiles_session_tokens_and_assumed_roles() {
    local key=$AWS_ACCESS_KEY_ID secret=$AWS_SECRET_ACCESS_KEY
    cat >"$TEST_TMP/credentials" <<EOF
[bench]
aws_access_key_id = $key
aws_secret_access_key = $secret
EOF
    cat >"$TEST_TMP/config" <<EOF
[profile bench]
region = us-east-1

[profile assumed]
role_arn = arn:aws:iam::123456789012:role/fahr-bench-role
source_profile = bench
region = us-east-1
EOF
    local common=(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_REGION
        AWS_SHARED_CREDENTIALS_FILE="$TEST_TMP/credentials" AWS_CONFIG_FILE="$TEST_TMP/config")
    RC=0
    OUT=$("${common[@]}" AWS_PROFILE=bench "$FAHR" -v jobs 2>"$TEST_TMP/err") || RC=$?
    expect_eq "$RC" 0 "jobs with a profile: $(cat "$TEST_TMP/err")"
    expect_contains "$(cat "$TEST_TMP/err")" "credentials from profile bench" "debug line"
    OUT=$("${common[@]}" AWS_PROFILE=assumed "$FAHR" -v jobs 2>"$TEST_TMP/err") || RC=$?
    expect_eq "$RC" 0 "jobs with an assumed role: $(cat "$TEST_TMP/err")"
    expect_contains "$(cat "$TEST_TMP/err")" "credentials from role arn:aws:iam::123456789012:role/fahr-bench-role" "debug line"

    # A session token from STS, in the environment.
    local session
    session=$(aws --endpoint-url "$AWS_ENDPOINT_URL" --region us-east-1 --output text sts get-session-token \
        --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]')
    read -r session_key session_secret session_token <<<"$session"
    OUT=$(AWS_ACCESS_KEY_ID=$session_key AWS_SECRET_ACCESS_KEY=$session_secret \
        AWS_SESSION_TOKEN=$session_token "$FAHR" jobs 2>"$TEST_TMP/err") || RC=$?
    expect_eq "$RC" 0 "jobs with a session token: $(cat "$TEST_TMP/err")"
    # A profile that does not exist is named in the error.
    OUT=$("${common[@]}" AWS_PROFILE=nobody "$FAHR" jobs 2>"$TEST_TMP/err") || RC=$?
    expect_eq "$RC" 2 "exit code for a missing profile"
    expect_contains "$(cat "$TEST_TMP/err")" "AWS_PROFILE names profile 'nobody'" "stderr"
}

keys_with_reserved_characters_fetch() {
    # A model stored under a key with every reserved character, a space and
    # non-ASCII; each of fahr's requests must satisfy botocore's signer.
    local key="models/a b+c=d&e,f;g:h@i(j)k'l*m!n ü/model.tar.gz"
    mkdir -p "$TEST_TMP/odd-src"
    echo '{"odd": true}' >"$TEST_TMP/odd-src/weights.json"
    tar -C "$TEST_TMP/odd-src" -czf "$TEST_TMP/odd.tar.gz" weights.json
    aws --endpoint-url "$AWS_ENDPOINT_URL" --region us-east-1 s3 cp --quiet "$TEST_TMP/odd.tar.gz" "s3://$FAHR_BENCH_BUCKET/$key"
    run_fahr fetch "$TEST_TMP/odd" foo/model "s3://$FAHR_BENCH_BUCKET/$key"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/odd/weights.json")" '{"odd": true}' "fetched file"
}

container_and_instance_credentials() {
    local port
    port=$(free_port)
    python3 "$FAHR_SOURCE_ROOT/tests/bench/metadata_server.py" "$port" "$AWS_ACCESS_KEY_ID" \
        "$AWS_SECRET_ACCESS_KEY" container-auth-token &
    local server=$!
    # shellcheck disable=SC2064 # the pid is known now
    trap "kill $server" RETURN
    wait_for_port "$port"
    local bare=(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_EC2_METADATA_DISABLED)
    RC=0
    OUT=$("${bare[@]}" AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$port/container-credentials" \
        AWS_CONTAINER_AUTHORIZATION_TOKEN=container-auth-token "$FAHR" -v jobs 2>"$TEST_TMP/err") || RC=$?
    expect_eq "$RC" 0 "jobs with container credentials: $(cat "$TEST_TMP/err")"
    expect_contains "$(cat "$TEST_TMP/err")" "credentials from container credentials" "debug line"
    expect_lacks "$(cat "$TEST_TMP/err")" "container-auth-token" "debug output"
    # Through the host's transport: its -v lines, without a token.
    expect_contains "$(cat "$TEST_TMP/err")" "GET http://127.0.0.1:$port/container-credentials: 200" "-v"
    OUT=$("${bare[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$port" \
        "$FAHR" -v jobs 2>"$TEST_TMP/err") || RC=$?
    expect_eq "$RC" 0 "jobs with instance metadata: $(cat "$TEST_TMP/err")"
    expect_contains "$(cat "$TEST_TMP/err")" "credentials from instance metadata" "debug line"
    expect_contains "$(cat "$TEST_TMP/err")" "PUT http://127.0.0.1:$port/latest/api/token: 200" "-v"
    expect_contains "$(cat "$TEST_TMP/err")" \
        "GET http://127.0.0.1:$port/latest/meta-data/iam/security-credentials/bench-instance-role: 200" "-v"
    expect_lacks "$(cat "$TEST_TMP/err")" "imds-token-for-tests" "debug output"
    OUT=$("${bare[@]}" AWS_EC2_METADATA_DISABLED=true "$FAHR" jobs 2>"$TEST_TMP/err") || RC=$?
    expect_eq "$RC" 1 "jobs with no credentials at all"
    expect_contains "$(cat "$TEST_TMP/err")" "no AWS credentials found" "stderr"

    # An answer larger than a credentials document is refused, and the
    # instance metadata's first request waits 1 s, as botocore's, not 5 s.
    RC=0
    "${bare[@]}" AWS_EC2_METADATA_DISABLED=true \
        AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$port/container-credentials-large" \
        "$FAHR" jobs >/dev/null 2>"$TEST_TMP/err" || RC=$?
    expect_eq "$RC" 1 "jobs with an oversized credentials document"
    expect_contains "$(cat "$TEST_TMP/err")" "no AWS credentials found" "stderr"

    RC=0
    local started
    started=$(date +%s%N)
    "${bare[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$port/slow" "$FAHR" jobs \
        >/dev/null 2>"$TEST_TMP/err" || RC=$?
    expect_eq "$RC" 1 "jobs with an instance metadata token 2 s late"
    expect_contains "$(cat "$TEST_TMP/err")" "no AWS credentials found" "stderr"
    local waited=$((($(date +%s%N) - started) / 1000000))
    [ "$waited" -lt 1900 ] || fail "waited $waited ms for the token"
}

interrupt_leaves_the_job_running() {
    local dir
    dir=$(fixture_copy tests/fixtures/sleeper)
    "$FAHR" fit "$dir/train.py" --build-driver=local --train-driver=sagemaker \
        --config.output_path="s3://$FAHR_BENCH_BUCKET/models" \
        --config.role_name="$FAHR_BENCH_ROLE" --config.registry="$FAHR_BENCH_REGISTRY" \
        --config.base_image="$BENCH_IMAGE" >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
    local fit=$!
    for _ in $(seq 1 200); do
        grep -q "step 3" "$TEST_TMP/err" && break
        sleep 0.1
    done
    kill -INT "$fit"
    RC=0
    wait "$fit" || RC=$?
    expect_eq "$RC" 130 "exit code after Ctrl-C; stderr: $(cat "$TEST_TMP/err")"
    local job
    job=$(cat "$TEST_TMP/out")
    expect_contains "$(cat "$TEST_TMP/err")" "stopped following job $job; it goes on running (follow it again: fahr logs $job --follow)" "stderr"
    run_fahr status "$job"
    expect_contains "$OUT" "$job	running	Training" "the job goes on"
    run_fahr stop "$job"
}

secrets_stay_out_of_verbose_output() {
    local dir
    dir=$(fixture_copy examples/foo)
    fit_on_bench "$dir/model.py" --verbose
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "debug: POST http://" "verbose output"
    expect_lacks "$ERR" "$AWS_SECRET_ACCESS_KEY" "verbose output"
    expect_lacks "$OUT" "$AWS_SECRET_ACCESS_KEY" "stdout"
}

hyperparameters_and_uploaded_inputs() {
    local dir data="$TEST_TMP/sm-data"
    dir=$(fixture_copy tests/fixtures/hyper)
    mkdir -p "$data/more"
    printf '1 2 3\n4\n' >"$data/numbers.txt"
    echo "extra" >"$data/more/notes.txt"
    fit_on_bench "$dir/train.py" --hp.scale=0.5 --input "train=$data" \
        --input "extra=s3://$FAHR_BENCH_BUCKET/shared/extra" --fetch "$TEST_TMP/sm-model"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local job
    job=$(printf '%s\n' "$OUT" | head -n 1)
    expect_eq "$(cat "$TEST_TMP/sm-model/model.json")" \
        '{"channels": ["extra", "train"], "hyperparameters": {"scale": "0.5"}, "total": 5.0}' \
        "model.json"
    local described
    described=$(moto_cli sagemaker describe-training-job --training-job-name "$job")
    local train_uri
    train_uri=$(python3 - "$described" <<'PY') || fail "HyperParameters or InputDataConfig: $described"
import json, re, sys
job = json.loads(sys.argv[1])
assert job["HyperParameters"] == {"scale": "0.5"}, job.get("HyperParameters")
channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
assert set(channels) == {"train", "extra"}, channels
assert channels["extra"] == "s3://fahr-bench/shared/extra", channels
assert re.fullmatch(r"s3://fahr-bench/models/fahr-inputs/train/[0-9a-f]{16}", channels["train"]), channels
print(channels["train"])
PY
    local prefix=${train_uri#s3://"$FAHR_BENCH_BUCKET"/} listed
    listed=$(moto_cli s3api list-objects-v2 --bucket "$FAHR_BENCH_BUCKET" \
        --prefix "$prefix" --query 'Contents[].Key' --output text)
    expect_contains "$listed" "$prefix/numbers.txt" "uploaded inputs"
    expect_contains "$listed" "$prefix/more/notes.txt" "uploaded inputs"

    # The same data again: the same prefix, nothing uploaded twice.
    fit_on_bench "$dir/train.py" --hp.scale=0.5 --input "train=$data" --no-wait
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "$train_uri: 0 file(s) uploaded, 2 already there" "second upload"
    # Changed data: a prefix of its own.
    echo "5" >>"$data/numbers.txt"
    fit_on_bench "$dir/train.py" --hp.scale=0.5 --input "train=$data" --no-wait
    expect_contains "$ERR" "2 file(s) uploaded, 0 already there" "changed data"
    expect_lacks "$ERR" "$train_uri:" "changed data's prefix"
}

large_inputs_go_up_in_parts() {
    local dir data="$TEST_TMP/big-data"
    dir=$(fixture_copy examples/foo)
    mkdir -p "$data"
    head -c $((11 * 1024 * 1024 + 7)) /dev/urandom >"$data/weights.bin"
    FAHR_S3_PART_SIZE=$((5 * 1024 * 1024)) fit_on_bench "$dir/model.py" \
        --input "big=$data" --no-wait
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "1 file(s) uploaded, 0 already there" "first upload"
    local uri key etag
    uri=$(printf '%s\n' "$ERR" | sed -n 's/^fahr: sagemaker: \(s3:[^:]*\): 1 file(s) uploaded.*/\1/p')
    key="${uri#s3://"$FAHR_BENCH_BUCKET"/}/weights.bin"
    etag=$(moto_cli s3api head-object --bucket "$FAHR_BENCH_BUCKET" --key "$key" --query ETag --output text)
    [[ "$etag" == *-3\" ]] || fail "ETag '$etag' is not that of a 3-part upload"
    moto_cli s3 cp --quiet "s3://$FAHR_BENCH_BUCKET/$key" "$TEST_TMP/round-trip.bin"
    cmp "$data/weights.bin" "$TEST_TMP/round-trip.bin" || fail "the uploaded object differs"
    # Again: the parts' ETag matches, nothing is sent.
    FAHR_S3_PART_SIZE=$((5 * 1024 * 1024)) fit_on_bench "$dir/model.py" \
        --input "big=$data" --no-wait
    expect_contains "$ERR" "$uri: 0 file(s) uploaded, 1 already there" "second upload"
}

run_test documented_fit_and_fetch
run_test two_hosts_interleave_in_time_order
run_test one_failing_host_fails_the_job
run_test statuses_with_messages_and_urls
run_test hyperparameters_and_uploaded_inputs
run_test large_inputs_go_up_in_parts
run_test failing_job_reports_its_reason
run_test stop_and_logs_follow
run_test max_runtime_stops_the_job
run_test wrong_secret_fails_and_creates_nothing
run_test unknown_role_is_a_clear_error
run_test missing_credentials_are_found_before_the_build
run_test role_arn_is_checked_first
run_test missing_bucket_is_found_before_the_build
run_test bucket_without_access_is_found_before_the_build
run_test sagemaker_rules_are_checked_first
run_test sagemaker_input_limits_are_checked_first
run_test job_name_taken_is_refused
run_test jobs_and_fetch_match_the_image_exactly
run_test profiles_session_tokens_and_assumed_roles
run_test keys_with_reserved_characters_fetch
run_test container_and_instance_credentials
run_test interrupt_leaves_the_job_running
run_test secrets_stay_out_of_verbose_output
finish
