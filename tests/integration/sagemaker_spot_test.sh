#!/usr/bin/env bash
# Managed spot training and checkpoints on the AWS bench: a spot job
# interrupted once (tests/bench/aws_bench_spot.py), resumed from its
# checkpoints and followed to its end; a re-run of the same artifact that
# resumes; the spot settings SageMaker would refuse, refused before building.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

use_docker_bench
# Every spot job on this bench is interrupted once, 2 s after its script's
# first line, with a grace period of 2 s.
export FAHR_BENCH_SPOT_INTERRUPT_AFTER=2 FAHR_BENCH_SPOT_GRACE=2 FAHR_BENCH_SPOT_RESTART_DELAY=1
use_aws_bench

training_job_count() {
    moto_cli sagemaker list-training-jobs --query 'length(TrainingJobSummaries)'
}

# DescribeTrainingJob through the bench (which plays SageMaker's part), as
# the AWS CLI asks it; prints the fields named, one a line.
describe_job() { # JOB QUERY
    aws --endpoint-url "$AWS_ENDPOINT_URL" --region us-east-1 --output text \
        sagemaker describe-training-job --training-job-name "$1" --query "$2"
}

# A line of `text` with `first`, then a later one with `second`.
expect_in_order() { # TEXT FIRST SECOND WHAT
    local after
    expect_contains "$1" "$2" "$4"
    after=${1#*"$2"}
    expect_contains "$after" "$3" "$4 (after '$2')"
}

a_spot_job_resumes_after_an_interruption_and_a_rerun_resumes_too() {
    local dir job
    dir=$(fixture_copy tests/fixtures/resumer)
    fit_on_bench "$dir/train.py" --config.spot=true --config.max_runtime=600 \
        --config.max_wait=1200 --hp.steps=10 --hp.delay=0.5 --fetch "$TEST_TMP/spot-model"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    job=$(printf '%s\n' "$OUT" | head -n 1)
    # fit showed the interruption and the restart and followed to the end.
    expect_in_order "$ERR" "job $job: running: Training" "job $job: running: Interrupted" \
        "fit's status lines"
    expect_in_order "$ERR" "job $job: running: Interrupted" "job $job: running: Restarting" \
        "fit's status lines"
    expect_in_order "$ERR" "job $job: running: Restarting" "job $job: completed" \
        "fit's status lines"
    expect_in_order "$ERR" "checkpoint saved" "resuming from the checkpoint at step" \
        "the job's log"
    # The model shows the second container began where the first stopped.
    local starts
    starts=$(python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(m["step"], *m["starts"])' \
        "$TEST_TMP/spot-model/model.json")
    [[ "$starts" =~ ^10\ 0\ [1-9]$ ]] || fail "model: step and starts '$starts', want 10 0 and one of 1-9"
    # What fahr asked for, as SageMaker (moto) recorded it.
    expect_eq "$(moto_cli sagemaker describe-training-job --training-job-name "$job" --output text \
        --query '[EnableManagedSpotTraining, StoppingCondition.MaxWaitTimeInSeconds, StoppingCondition.MaxRuntimeInSeconds, CheckpointConfig.S3Uri, CheckpointConfig.LocalPath]')" \
        "True	1200	600	s3://$FAHR_BENCH_BUCKET/models/checkpoints/resumer/train	/opt/ml/checkpoints" \
        "the job's spot settings"
    # The bench's rule: spot bills 30 % of the training seconds.
    local times training billable
    times=$(describe_job "$job" '[TrainingTimeInSeconds, BillableTimeInSeconds]')
    read -r training billable <<<"$times"
    if [ "$training" -lt 4 ] || [ "$billable" -ge "$training" ]; then
        fail "training and billable seconds: '$times'"
    fi
    # fit's end line gives the saving as the SDK does, from those seconds.
    local saving
    saving=$(python3 -c 'import sys; t, b = map(int, sys.argv[1:]); print("%.1f" % ((1 - b / t) * 100))' \
        "$training" "$billable")
    expect_contains "$ERR" "Billable seconds: $billable. Managed Spot Training savings: $saving%." \
        "fit's end line"
    # The checkpoints stayed on S3, per image: a re-run, on demand, resumes.
    expect_contains "$(moto_cli s3 cp "s3://$FAHR_BENCH_BUCKET/models/checkpoints/resumer/train/state.json" -)" \
        '"step": 10' "the saved checkpoint"
    dir=$(fixture_copy tests/fixtures/resumer)
    fit_on_bench "$dir/train.py" --config.max_runtime=600 --hp.steps=11 --fetch "$TEST_TMP/rerun"
    expect_eq "$RC" 0 "re-run's exit code; stderr: $ERR"
    expect_contains "$ERR" "resuming from the checkpoint at step 10" "the re-run's log"
    expect_lacks "$ERR" "Interrupted" "the on-demand re-run"
    starts=$(python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(m["step"], *m["starts"])' \
        "$TEST_TMP/rerun/model.json")
    [[ "$starts" =~ ^11\ 0\ [1-9]\ 10$ ]] || fail "re-run model: step and starts '$starts'"
    job=$(printf '%s\n' "$OUT" | head -n 1)
    times=$(describe_job "$job" '[EnableManagedSpotTraining, TrainingTimeInSeconds, BillableTimeInSeconds]')
    read -r spot training billable <<<"$times"
    expect_eq "$spot $billable" "False $training" "on demand, billable seconds are training seconds"
}

# Spot settings SageMaker would refuse, and a checkpoint bucket that does not
# exist, are refused before anything is built or created, in one line.
refused_before_building() { # EXIT_CODE EXPECTED_ERROR ARGS...
    local code=$1 expected=$2 dir before
    shift 2
    dir=$(fixture_copy tests/fixtures/resumer)
    before=$(training_job_count)
    fit_on_bench "$dir/train.py" "$@"
    expect_eq "$RC" "$code" "exit code; stderr: $ERR"
    expect_eq "$ERR" "fahr: sagemaker: $expected" "stderr"
    [ ! -e "$dir/Dockerfile" ] || fail "build files were written"
    expect_eq "$(training_job_count)" "$before" "training jobs"
}

max_wait_below_max_runtime_is_refused() {
    refused_before_building 2 "--config.max_wait (599 s) must be at least --config.max_runtime (600 s): it is the time to wait for spot capacity plus the time to train" \
        --config.spot=true --config.max_runtime=600 --config.max_wait=599
}

max_wait_without_spot_is_refused() {
    refused_before_building 2 "--config.max_wait applies to spot training only; add --config.spot=true or drop it" \
        --config.max_wait=7200
}

# Two hosts: the interruption stops both and both start again, each new
# container writing a stream of its own; fit and logs follow all four.
an_interruption_restarts_every_host() {
    local dir job streams
    dir=$(fixture_copy tests/fixtures/hosts)
    fit_on_bench "$dir/train.py" --config.spot=true --config.max_runtime=600 \
        --config.max_wait=1200 --config.train_instance_count=2 --hp.turns=10
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    job=$(printf '%s\n' "$OUT" | head -n 1)
    expect_in_order "$ERR" "job $job: running: Interrupted" "job $job: running: Restarting" \
        "fit's status lines"
    expect_in_order "$ERR" "[algo-2] algo-2 of 2 met algo-1" "[algo-2] algo-2 of 2 met algo-1" \
        "algo-2 started twice"
    expect_in_order "$ERR" "[algo-1] algo-1 of 2 met algo-1" "[algo-1] algo-1 of 2 met algo-1" \
        "algo-1 started twice"
    streams=$(moto_cli logs describe-log-streams --log-group-name /aws/sagemaker/TrainingJobs \
        --log-stream-name-prefix "$job/" --query 'logStreams[].logStreamName' --output text |
        tr '\t' '\n' | sed 's/-[0-9]*$//' | sort | uniq -c | tr -s ' ')
    expect_eq "$streams" " 2 $job/algo-1
 2 $job/algo-2" "streams per host"
    run_fahr logs "$job"
    expect_eq "$(printf '%s\n' "$OUT" | grep -c ' met algo-1$')" 4 "hosts started, in logs"
    expect_eq "$(printf '%s\n' "$OUT" | grep -vc '^\[algo-[12]\] ')" 0 "lines without a host"
    # Each host's last turn, once, after the restart.
    expect_eq "$(printf '%s\n' "$OUT" | grep -c '^\[algo-2\] algo-2 turn 19$')" 1 "algo-2's last turn"
}

a_missing_checkpoint_bucket_is_refused() {
    refused_before_building 1 "the bucket no-such-bucket does not exist (--config.checkpoint_s3_uri)" \
        --config.spot=true --config.checkpoint_s3_uri=s3://no-such-bucket/checkpoints
}

run_test a_spot_job_resumes_after_an_interruption_and_a_rerun_resumes_too
run_test an_interruption_restarts_every_host
run_test max_wait_below_max_runtime_is_refused
run_test max_wait_without_spot_is_refused
run_test a_missing_checkpoint_bucket_is_refused
finish
