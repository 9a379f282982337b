#!/usr/bin/env bash
# The start-up benchmark: `fahr plugins` and `fahr status JOB` beside one
# raw signed request to the same endpoint (curl --aws-sigv4) and the AWS
# CLI's describe-training-job, against the bench's AWS (tests/bench/aws.sh)
# on this machine in this run. Prints the median wall time of each and the
# ratios. fahr runs with a plugin cache of its own (FAHR_PLUGIN_CACHE), warm,
# and cold: removed before each run, so every plugin is scanned again.
set -euo pipefail
# shellcheck source=tests/perf/lib.sh
. "$(dirname "$0")/lib.sh"
runs=${FAHR_BENCH_RUNS:-20}
bench=$(mktemp -d)
trap '"$root/tests/bench/aws.sh" stop "$bench"; rm -rf "$bench"' EXIT
"$root/tests/bench/aws.sh" start "$bench"
# shellcheck disable=SC1091 # written by aws.sh start
. "$bench/env"
export FAHR_PLUGIN_CACHE="$bench/plugin-registry"
export XDG_CONFIG_HOME="$bench/config" XDG_STATE_HOME="$bench/state"
unset FAHR_PROFILE
mkdir -p "$bench/config-full/fahr"
# A config file as a user of several profiles keeps (core/user_config.c).
{
    printf '# fahr defaults\n[defaults]\nbuild-driver = local\ntrain-driver = sagemaker\n\n'
    printf '[sagemaker]\noutput_path = s3://fahr-bench/models\nrole_name = fahr-bench-role\n\n'
    for n in $(seq 1 20); do
        printf '[profile p%d]\ntrain-driver = sagemaker\n\n[profile p%d sagemaker]\n' "$n" "$n"
        printf 'train_instance_type = ml.m5.large\nmax_runtime = %d\n\n' "$((n * 60))"
    done
} >"$bench/config-full/fahr/config"
chmod 0600 "$bench/config-full/fahr/config"
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
aws --endpoint-url "$AWS_ENDPOINT_URL" sagemaker create-training-job --training-job-name bench-job \
    --algorithm-specification TrainingImage=127.0.0.1:1/none:latest,TrainingInputMode=File \
    --role-arn arn:aws:iam::123456789012:role/fahr-bench-role \
    --output-data-config S3OutputPath=s3://fahr-bench/models \
    --resource-config InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=1 \
    --stopping-condition MaxRuntimeInSeconds=60 >/dev/null

python3 - "$runs" "$FAHR" "$AWS_ENDPOINT_URL" "$bench/config-full" <<'PY'
import os, statistics, subprocess, sys, time
runs, fahr, endpoint, config_full = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
with_config = dict(os.environ, XDG_CONFIG_HOME=config_full, FAHR_PROFILE="p7")
key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
cache = os.environ["FAHR_PLUGIN_CACHE"]

def cold():
    """Before a cold run: no plugin cache, every plugin is scanned."""
    if os.path.exists(cache):
        os.unlink(cache)

commands = {
    "fahr plugins, cold cache": ([fahr, "plugins"], cold),
    "fahr plugins": ([fahr, "plugins"], None),
    "fahr status JOB, cold cache": ([fahr, "status", "bench-job"], cold),
    "fahr status JOB": ([fahr, "status", "bench-job"], None),
    "fahr status JOB, config file, profile": ([fahr, "status", "bench-job"], None, with_config),
    "fahr status JOB -o json": ([fahr, "status", "bench-job", "-o", "json"], None),
    "fahr __complete fit --config.": ([fahr, "__complete", "fit", "--config."], None),
    "one signed request (curl)": ([
        "curl", "-sf", "-o", "/dev/null", "--aws-sigv4", "aws:amz:us-east-1:sagemaker",
        "--user", f"{key}:{secret}", "-H", "Content-Type: application/x-amz-json-1.1",
        "-H", "X-Amz-Target: SageMaker.DescribeTrainingJob",
        "-d", '{"TrainingJobName":"bench-job"}', endpoint + "/"], None),
    "aws sagemaker describe-training-job": ([
        "aws", "--endpoint-url", endpoint, "sagemaker", "describe-training-job",
        "--training-job-name", "bench-job"], None),
}
medians = {}
for name, (command, before, *env) in commands.items():
    env = env[0] if env else None
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    times = []
    for _ in range(runs if not name.startswith("aws") else max(3, runs // 5)):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env)
        times.append(time.perf_counter() - start)
    medians[name] = statistics.median(times)
print("median wall time, milliseconds")
for name, value in medians.items():
    print(f"{name:40} {value * 1000:8.1f}")
raw = medians["one signed request (curl)"]
print(f"fahr status / one signed request: {medians['fahr status JOB'] / raw:.2f}x   (target <= 2x)")
print(f"fahr plugins / one signed request: {medians['fahr plugins'] / raw:.2f}x   (target <= 2x)")
print(f"with a config file and profile / without: "
      f"{medians['fahr status JOB, config file, profile'] / medians['fahr status JOB']:.2f}x")
print(f"aws CLI / fahr status: {medians['aws sagemaker describe-training-job'] / medians['fahr status JOB']:.0f}x")
PY
