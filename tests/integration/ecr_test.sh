#!/usr/bin/env bash
# The push into ECR, proven on the bench: the AWS bench's registry takes a
# push or a pull only with the user and password that the bench's ECR
# GetAuthorizationToken hands out (tests/bench/aws_bench_ecr.py). fahr pushes
# through it, layers and all; the image is pulled back by digest, every
# blob checked (tests/integration/registry_image.py) and through the Docker
# engine logged in with the AWS CLI's get-login-password; refusals are one
# clear line; the password shows nowhere.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

use_docker_bench
use_aws_bench
# Nothing of this machine's own Docker setup may leak in (use_aws_bench
# keeps its AWS setup out), and nothing fahr writes may land outside TEST_TMP.
export HOME="$TEST_TMP/home" XDG_CACHE_HOME="$TEST_TMP/cache" XDG_CONFIG_HOME="$TEST_TMP/config"
mkdir -p "$HOME"
PASSWORD=$(cat "$FAHR_BENCH_REGISTRY_PASSWORD_FILE")
TOKEN=$(printf 'AWS:%s' "$PASSWORD" | base64 -w0)

training_job_count() {
    moto_cli sagemaker list-training-jobs --query 'length(TrainingJobSummaries)'
}

# examples/foo/model.py as NAME/model.py: an image (NAME/model) that no
# other test builds; prints its path.
fresh_model() { # NAME
    mkdir -p "$TEST_TMP/src-$1/$1"
    cp "$FAHR_SOURCE_ROOT/examples/foo/model.py" "$TEST_TMP/src-$1/$1/model.py"
    echo "$TEST_TMP/src-$1/$1/model.py"
}

fit_on_bench() { # ARTIFACT ARGS...
    local artifact=$1
    shift
    run_fahr fit "$artifact" --build-driver=local --train-driver=sagemaker \
        --config.output_path="s3://$FAHR_BENCH_BUCKET/models" \
        --config.role_name="$FAHR_BENCH_ROLE" --config.base_image="$BENCH_IMAGE" "$@"
}

# The password, and ECR's token that carries it (base64 of "AWS:PASSWORD"),
# in no output and in no file of this test's but the bench's own ECR and
# SageMaker (DIR/ecr: the password file, the jobs' Docker login), nor in the
# logs of the engine and the bench; no X-Registry-Auth header shown.
expect_password_nowhere() {
    local secret
    for secret in "$PASSWORD" "$TOKEN"; do
        expect_lacks "$OUT" "$secret" "stdout"
        expect_lacks "$ERR" "$secret" "stderr"
        local found
        found=$(grep -rlF -- "$secret" "$TEST_TMP" 2>/dev/null | grep -v "^$AWS_BENCH/ecr/" || true)
        expect_eq "$found" "" "files holding the password"
        local engine_log=${FAHR_BENCH_DIR:-/var/tmp/fahr-bench}/docker/log
        if [ -r "$engine_log" ] && grep -qF -- "$secret" "$engine_log"; then
            fail "the Docker engine's log holds the password"
        fi
    done
    expect_lacks "$ERR" "X-Registry-Auth" "stderr"
}

push_without_registry_goes_to_ecr() {
    # No --config.registry: the account's ECR repository is made, the image
    # pushed with ECR's credentials, and the job (the bench's SageMaker
    # pulls with them too) runs it.
    local artifact before
    artifact=$(fresh_model ecrpush)
    before=$(training_job_count)
    fit_on_bench "$artifact" --verbose
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "creating the ECR repository ecrpush/model" "stderr"
    expect_contains "$ERR" "pushing $FAHR_BENCH_REGISTRY/ecrpush/model:" "stderr"
    expect_contains "$ERR" "fitted a=3.000 b=2.000" "the job's log"
    expect_eq "$(training_job_count)" "$((before + 1))" "training jobs"
    expect_password_nowhere
    local job image reported
    job=$(printf '%s\n' "$OUT" | head -n 1)
    image=$(moto_cli sagemaker describe-training-job --training-job-name "$job" \
        --query AlgorithmSpecification.TrainingImage --output text)
    [[ "$image" == "$FAHR_BENCH_REGISTRY/ecrpush/model:"* ]] || fail "the job's image '$image'"
    reported=$(printf '%s\n' "$ERR" |
        sed -n "s|.*debug: pushed $image, manifest \(sha256:[0-9a-f]\{64\}\), with ECR's credentials$|\1|p")
    [ -n "$reported" ] || fail "no pushed manifest digest with ECR's credentials in: $ERR"

    # Pulled back by that digest through the registry's API: the manifest,
    # config and every layer as built.
    local pulled built
    pulled=$(python3 "$FAHR_SOURCE_ROOT/tests/integration/registry_image.py" \
        "$FAHR_BENCH_REGISTRY" ecrpush/model "$reported") || fail "pull by $reported"
    built=$(docker image inspect ecrpush/model:latest \
        --format '{"config": "{{.Id}}", "diff_ids": {{json .RootFS.Layers}}}')
    python3 - "$pulled" "$built" "$reported" <<'PY' || fail "pulled $pulled, built $built"
import json, sys
pulled, built, digest = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
assert pulled["digest"] == digest, (pulled["digest"], digest)
assert pulled["config"] == built["config"], (pulled["config"], built["config"])
assert pulled["diff_ids"] == built["diff_ids"], (pulled["diff_ids"], built["diff_ids"])
PY
    # The tag names that manifest, and no credentials, no manifest.
    expect_eq "$(python3 "$FAHR_SOURCE_ROOT/tests/integration/registry_image.py" \
        "$FAHR_BENCH_REGISTRY" ecrpush/model "${image##*:}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])')" "$reported" \
        "the tag's manifest"
    expect_eq "$(python3 "$FAHR_SOURCE_ROOT/tests/integration/registry_image.py" --anonymous \
        "$FAHR_BENCH_REGISTRY" ecrpush/model "$reported")" 401 "an anonymous pull"

    # And through the Docker engine, logged in as a user would be, with the
    # AWS CLI's reading of the bench's ECR token.
    local docker_config="$TEST_TMP/docker-config" id
    mkdir -m 700 "$docker_config"
    # shellcheck disable=SC2064 # the path is known now
    trap "rm -rf '$docker_config'" RETURN
    aws --endpoint-url "$AWS_ENDPOINT_URL" --region us-east-1 ecr get-login-password |
        DOCKER_CONFIG=$docker_config docker login -u AWS --password-stdin \
            "$FAHR_BENCH_REGISTRY" >/dev/null 2>&1 || fail "docker login with ECR's token"
    DOCKER_CONFIG=$docker_config docker pull -q "$FAHR_BENCH_REGISTRY/ecrpush/model@$reported" \
        >/dev/null || fail "docker pull by $reported"
    id=$(docker image inspect "$FAHR_BENCH_REGISTRY/ecrpush/model@$reported" --format '{{.Id}}')
    expect_eq "$id" "$(docker image inspect ecrpush/model:latest --format '{{.Id}}')" \
        "the image the engine pulled"
}

registry_naming_ecr_uses_its_token() {
    # --config.registry naming ECR's registry (its proxyEndpoint's host)
    # gets ECR's credentials and repository, a path in it included.
    local artifact job
    artifact=$(fresh_model ecrover)
    fit_on_bench "$artifact" --config.registry="$FAHR_BENCH_REGISTRY/team" --no-wait --verbose
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    job=$OUT
    expect_contains "$ERR" "creating the ECR repository team/ecrover/model" "stderr"
    expect_contains "$ERR" "debug: pushed $FAHR_BENCH_REGISTRY/team/ecrover/model:" "stderr"
    expect_contains "$ERR" ", with ECR's credentials" "stderr"
    expect_password_nowhere
    expect_eq "$(moto_cli ecr describe-repositories --repository-names team/ecrover/model \
        --query 'length(repositories)')" 1 "ECR's repository"
    run_fahr stop "$job"
}

other_registry_gets_no_credentials() {
    # The same registry under another name is not ECR's: fahr sends it no
    # credentials, and it refuses the push, in one line.
    local artifact before other="localhost:${FAHR_BENCH_REGISTRY##*:}"
    artifact=$(fresh_model ecrother)
    before=$(training_job_count)
    fit_on_bench "$artifact" --config.registry="$other" --verbose
    expect_eq "$RC" 1 "exit code; stderr: $ERR"
    expect_contains "$ERR" "debug: $other is not ECR's registry: pushing without credentials" "stderr"
    expect_contains "$ERR" "fahr: sagemaker: push of $other/ecrother/model:" "stderr"
    expect_eq "$(printf '%s\n' "$ERR" | grep -c '^fahr: sagemaker: push of')" 1 "error lines"
    expect_eq "$(training_job_count)" "$before" "training jobs"
    expect_password_nowhere
}

revoked_token_is_one_clear_line() {
    # The registry takes another password from now on while ECR goes on
    # handing out the old one: the push is refused, one line says so and
    # whose credentials they were, no password shows and no job is made.
    local artifact before other
    artifact=$(fresh_model ecrrevoked)
    before=$(training_job_count)
    python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$TEST_TMP/other-password"
    other=$(cat "$TEST_TMP/other-password")
    "$FAHR_SOURCE_ROOT/tests/bench/aws.sh" ecr-password "$AWS_BENCH" "$TEST_TMP/other-password"
    fit_on_bench "$artifact"
    "$FAHR_SOURCE_ROOT/tests/bench/aws.sh" ecr-password "$AWS_BENCH"
    rm -f "$TEST_TMP/other-password"
    expect_eq "$RC" 1 "exit code; stderr: $ERR"
    expect_contains "$ERR" "fahr: sagemaker: push of $FAHR_BENCH_REGISTRY/ecrrevoked/model:" "stderr"
    expect_contains "$ERR" "(the registry refused ECR's credentials for https://$FAHR_BENCH_REGISTRY)" "stderr"
    expect_eq "$(printf '%s\n' "$ERR" | grep -c '^fahr: sagemaker: push of')" 1 "error lines"
    expect_eq "$(printf '%s\n' "$ERR" | grep -c 'unauthorized')" 1 "lines saying so: $ERR"
    expect_lacks "$ERR" "$other" "stderr"
    expect_eq "$(training_job_count)" "$before" "training jobs"
    expect_password_nowhere
}

hostile_repository_uri_gets_no_credentials() {
    # An ECR (AWS_ENDPOINT_URL_ECR) that names a repository on another host
    # than its token's registry: fahr pushes nothing and sends ECR's
    # credentials nowhere; the other host hears nothing.
    local artifact before port server
    artifact=$(fresh_model ecrhostile)
    before=$(training_job_count)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    python3 - "$port" "$FAHR_BENCH_REGISTRY" "$TEST_TMP/contacted" <<'PY' &
import base64, http.server, json, sys
port, registry, contacted = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class HostileEcr(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/v2/"):
            return self.do_GET()
        action = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        answer = {"DescribeRepositories": {"repositories": [
                      {"repositoryUri": f"127.0.0.1:{port}/ecrhostile/model"}]},
                  "GetAuthorizationToken": {"authorizationData": [{
                      "authorizationToken": base64.b64encode(b"AWS:hostile-ecr-password").decode(),
                      "expiresAt": 2000000000, "proxyEndpoint": f"https://{registry}"}]}}
        self.reply(200, json.dumps(answer.get(action, {})).encode())
    def do_GET(self):  # the registry API: whoever comes is recorded
        with open(contacted, "a") as f:
            f.write(f"{self.path} {self.headers.get('Authorization', '')}\n")
        self.reply(401, b"{}", [("WWW-Authenticate", 'Basic realm="hostile"')])
    do_HEAD = do_PUT = do_GET
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), HostileEcr).serve_forever()
PY
    server=$!
    # shellcheck disable=SC2064 # the pid is known now
    trap "kill $server" RETURN
    for _ in $(seq 1 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
        sleep 0.1
    done
    AWS_ENDPOINT_URL_ECR="http://127.0.0.1:$port" fit_on_bench "$artifact"
    expect_eq "$RC" 1 "exit code; stderr: $ERR"
    expect_contains "$ERR" "fahr: sagemaker: ECR put repository 127.0.0.1:$port/ecrhostile/model outside its registry https://$FAHR_BENCH_REGISTRY: not pushed" "stderr"
    expect_lacks "$ERR" "hostile-ecr-password" "stderr"
    [ ! -e "$TEST_TMP/contacted" ] || fail "the other host was contacted: $(cat "$TEST_TMP/contacted")"
    expect_eq "$(training_job_count)" "$before" "training jobs"
}

run_test push_without_registry_goes_to_ecr
run_test registry_naming_ecr_uses_its_token
run_test other_registry_gets_no_credentials
run_test revoked_token_is_one_clear_line
run_test hostile_repository_uri_gets_no_credentials
finish
