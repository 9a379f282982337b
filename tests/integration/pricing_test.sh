#!/usr/bin/env bash
# What a SageMaker job costs, against the bench: `fit --dry-run` and the plan
# line from the AWS Price List (tests/bench/aws_bench_pricing.py, fixtures in
# tests/data/aws/pricing), the price cached for a day, no price never
# stopping a fit, and the end-of-job line with its seconds and cost.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

use_docker_bench
use_aws_bench

training_job_count() {
    moto_cli sagemaker list-training-jobs --query 'length(TrainingJobSummaries)'
}

# GetProducts calls the bench has answered so far.
price_calls() {
    grep -c 'pricing: GetProducts' "$AWS_BENCH/bench.log" || true
}

# examples/foo/model.py as NAME/model.py, an image no other test builds.
fresh_model() { # NAME
    docker image rm -f "$1/model:latest" >/dev/null 2>&1 || true
    mkdir -p "$TEST_TMP/src-$1/$1"
    cp "$FAHR_SOURCE_ROOT/examples/foo/model.py" "$TEST_TMP/src-$1/$1/model.py"
    echo "$TEST_TMP/src-$1/$1/model.py"
}

dry_run_plans_and_makes_nothing() {
    export XDG_CACHE_HOME="$TEST_TMP/cache-dry"
    local model before calls
    model=$(fresh_model dryrun)
    before=$(training_job_count)
    calls=$(price_calls)
    # ml.c4.2xlarge's hosting price differs from its training price in the
    # fixture: the line must carry the training one.
    fit_on_bench "$model" --config.train_instance_type=ml.c4.2xlarge --dry-run
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "fahr: sagemaker: plan: 1 x ml.c4.2xlarge in us-east-1, on-demand at \$0.557/h; at most \$13.37 for max_runtime 24 h" "the plan line"
    # Nothing made: no build, no build files, no image, no job.
    expect_eq "$OUT" "" "stdout (no job id)"
    expect_lacks "$ERR" "building" "stderr"
    [ ! -e "$(dirname "$model")/Dockerfile" ] || fail "build files were written"
    if docker image inspect dryrun/model:latest >/dev/null 2>&1; then
        fail "the image was built"
    fi
    expect_eq "$(training_job_count)" "$before" "training jobs"
    expect_contains "$ERR" "dry run: fit would build dryrun/model with the local driver and run it with the sagemaker driver; nothing was built, pushed, uploaded or submitted" "the dry run's end"
    expect_eq "$(price_calls)" "$((calls + 1))" "GetProducts calls"

    # Several instances, and a ceiling that is no whole number of hours.
    fit_on_bench "$model" --config.train_instance_type=ml.m5.large \
        --config.train_instance_count=2 --config.max_runtime=5400 --dry-run
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "plan: 2 x ml.m5.large in us-east-1, on-demand at \$0.115/h each (\$0.23/h); at most \$0.345 for max_runtime 1.5 h" "the plan line"

    # Another region, another price (its usage type is EU-Train:...).
    fit_on_bench "$model" --config.train_instance_type=ml.m5.large --config.region=eu-west-1 \
        --dry-run
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "plan: 1 x ml.m5.large in eu-west-1, on-demand at \$0.128/h; at most \$3.07 for max_runtime 24 h" "the plan line"

    # A dry run checks as fit does: a value SageMaker refuses still fails.
    fit_on_bench "$model" --config.train_instance_count=0 --dry-run
    expect_eq "$RC" 2 "exit code of a bad value; stderr: $ERR"
    expect_contains "$ERR" "--config.train_instance_count must be at least 1" "stderr"
    expect_lacks "$ERR" "dry run:" "stderr"
}

price_is_cached_for_a_day() {
    export XDG_CACHE_HOME="$TEST_TMP/cache-day"
    local model calls file
    model=$(fresh_model cached)
    calls=$(price_calls)
    fit_on_bench "$model" --config.train_instance_type=ml.g5.2xlarge --dry-run
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "plan: 1 x ml.g5.2xlarge in us-east-1, on-demand at \$1.515/h" "first plan line"
    expect_eq "$(price_calls)" "$((calls + 1))" "GetProducts calls after the first run"
    fit_on_bench "$model" --config.train_instance_type=ml.g5.2xlarge --dry-run
    expect_contains "$ERR" "plan: 1 x ml.g5.2xlarge in us-east-1, on-demand at \$1.515/h" "second plan line"
    expect_eq "$(price_calls)" "$((calls + 1))" "GetProducts calls after the second run"
    # One file, the user's alone, in a directory that is the user's alone.
    expect_eq "$(stat -c %a "$XDG_CACHE_HOME/fahr/aws-prices")" 700 "the cache directory's mode"
    file=$(find "$XDG_CACHE_HOME/fahr/aws-prices" -type f)
    expect_eq "$(echo "$file" | wc -l)" 1 "cache files"
    expect_eq "$(stat -c %a "$file")" 600 "the cache file's mode"
    # A day later it is asked again.
    touch -d '25 hours ago' "$file"
    fit_on_bench "$model" --config.train_instance_type=ml.g5.2xlarge --dry-run
    expect_contains "$ERR" "on-demand at \$1.515/h" "plan line after a day"
    expect_eq "$(price_calls)" "$((calls + 2))" "GetProducts calls after a day"
    # A cache file that is not a price is not believed.
    echo "lots" >"$file"
    fit_on_bench "$model" --config.train_instance_type=ml.g5.2xlarge --dry-run
    expect_contains "$ERR" "on-demand at \$1.515/h" "plan line over a bad cache file"
    expect_eq "$(price_calls)" "$((calls + 3))" "GetProducts calls over a bad cache file"
}

missing_price_says_so_and_fit_goes_on() {
    export XDG_CACHE_HOME="$TEST_TMP/cache-missing"
    local model before
    model=$(fresh_model noprice)
    # ml.m4.xlarge is not in the fixture.
    fit_on_bench "$model" --config.train_instance_type=ml.m4.xlarge --dry-run
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "plan: 1 x ml.m4.xlarge in us-east-1, on-demand; no price: the AWS Price List has none for ml.m4.xlarge training in us-east-1; max_runtime 24 h" "the plan line"
    # The Price List out of reach: said, and the job is submitted all the same.
    local closed
    closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    before=$(training_job_count)
    AWS_ENDPOINT_URL_PRICING="http://127.0.0.1:$closed" fit_on_bench "$model" \
        --config.train_instance_type=ml.m5.large --no-wait
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "plan: 1 x ml.m5.large in us-east-1, on-demand; no price: GetProducts: " "the plan line"
    expect_eq "$(training_job_count)" "$((before + 1))" "training jobs"
}

end_of_job_line_gives_seconds_and_cost() {
    export XDG_CACHE_HOME="$TEST_TMP/cache-end"
    local model job line
    model=$(fresh_model endline)
    fit_on_bench "$model" --config.train_instance_type=ml.m5.large --config.train_instance_count=2
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    job=$OUT
    line=$(grep "job $job: completed: " <<<"$ERR") || fail "no end line in: $ERR"
    # The seconds as DescribeTrainingJob gives them (through the bench, an
    # independent client), the cost of the billable seconds on both
    # instances at the fixture's $0.115/h.
    local described
    described=$(aws --endpoint-url "$AWS_ENDPOINT_URL" --region us-east-1 --output json \
        sagemaker describe-training-job --training-job-name "$job")
    python3 - "$line" "$described" <<'PY' || fail "the end line: $line"
import json, re, sys
line, job = sys.argv[1], json.loads(sys.argv[2])
training, billable = job["TrainingTimeInSeconds"], job["BillableTimeInSeconds"]
assert training == billable >= 1, job
match = re.search(r"completed: Completed(?:: [^.]*)?\. Training seconds: (\d+)\. Billable seconds: (\d+)\. "
                  r"Cost: \$([0-9.]+) \((\d+) s x 2 x ml\.m5\.large at \$0\.115/h on-demand\)$", line)
assert match, line
assert int(match[1]) == training and int(match[2]) == billable and int(match[4]) == billable, line
assert abs(float(match[3]) - billable * 2 * 0.115 / 3600) < 0.0001, line
assert "Managed Spot" not in line, line
PY
    # status says the same of the finished job.
    run_fahr status "$job"
    expect_contains "$OUT" "Billable seconds: " "status"
}

run_test dry_run_plans_and_makes_nothing
run_test price_is_cached_for_a_day
run_test missing_price_says_so_and_fit_goes_on
run_test end_of_job_line_gives_seconds_and_cost
finish
