#!/usr/bin/env bash
# The test bench's AWS and registry (see README, "Tests").
#
#   tests/bench/aws.sh start DIR   start moto_server, the bench's front for it
#                                  (signature judge and SageMaker's part,
#                                  tests/bench/aws_bench.py) and a local
#                                  docker-registry, all on free ports of
#                                  127.0.0.1; create a user with keys, a role
#                                  and a bucket; write DIR/env, a file of
#                                  `export` lines for the tests
#   tests/bench/aws.sh ecr-password DIR [FILE]
#                                  the registry takes the password in FILE
#                                  from now on (ECR goes on handing out its
#                                  own: a revoked token); without FILE, ECR's
#                                  again
#   tests/bench/aws.sh stop DIR    stop what `start DIR` started
#
# The registry is ECR's (tests/bench/aws_bench_ecr.py): it takes pushes and
# pulls only as user AWS with the password that ECR's GetAuthorizationToken
# hands out, kept in DIR/ecr/password (0600), written nowhere else.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # PORT WHAT LOG
    for _ in $(seq 1 100); do
        if python3 -c "import socket, sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then
            return
        fi
        sleep 0.1
    done
    echo "aws.sh: $2 did not start; see $3" >&2
    tail -n 20 "$3" >&2 || true
    exit 1
}

# The registry's htpasswd: user AWS with the password in FILE (read from
# stdin: never on a command line), replaced whole; the registry re-reads it.
registry_password() { # DIR FILE
    (
        umask 077
        htpasswd -niB AWS <"$2" >"$1/ecr/htpasswd.new"
    )
    mv -f "$1/ecr/htpasswd.new" "$1/ecr/htpasswd"
}

start() {
    local dir=$1
    mkdir -p "$dir/registry"
    (
        umask 077
        mkdir -p "$dir/ecr"
        python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$dir/ecr/password"
    )
    registry_password "$dir" "$dir/ecr/password"
    local moto_port bench_port registry_port
    moto_port=$(free_port)
    bench_port=$(free_port)
    registry_port=$(free_port)

    moto_server -H 127.0.0.1 -p "$moto_port" >"$dir/moto.log" 2>&1 &
    echo $! >"$dir/moto.pid"
    cat >"$dir/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$registry_port
auth:
  htpasswd:
    realm: aws-bench-ecr
    path: $dir/ecr/htpasswd
EOF
    docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
    echo $! >"$dir/registry.pid"

    local root_key=AKIDBENCHROOT root_secret
    root_secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(30))')
    FAHR_BENCH_ECR_REGISTRY="127.0.0.1:$registry_port" FAHR_BENCH_ECR_DIR="$dir/ecr" \
        FAHR_BENCH_ECR_STORAGE="$dir/registry" \
        python3 "$here/aws_bench.py" "$bench_port" "http://127.0.0.1:$moto_port" \
        "$root_key:$root_secret" >"$dir/bench.log" 2>&1 &
    echo $! >"$dir/bench.pid"

    wait_for_port "$moto_port" moto_server "$dir/moto.log"
    wait_for_port "$registry_port" docker-registry "$dir/registry.log"
    wait_for_port "$bench_port" aws_bench.py "$dir/bench.log"

    # The bench's user, role and bucket, made through the judge with the
    # root key, as an administrator would.
    local aws=(env -u AWS_PROFILE AWS_ACCESS_KEY_ID="$root_key" AWS_SECRET_ACCESS_KEY="$root_secret"
        AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null
        AWS_SHARED_CREDENTIALS_FILE=/dev/null
        aws --endpoint-url "http://127.0.0.1:$bench_port" --output text)
    "${aws[@]}" iam create-user --user-name fahr-bench >/dev/null
    local keys
    keys=$("${aws[@]}" iam create-access-key --user-name fahr-bench \
        --query 'AccessKey.[AccessKeyId,SecretAccessKey]')
    "${aws[@]}" iam create-role --role-name fahr-bench-role --assume-role-policy-document \
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
    "${aws[@]}" s3api create-bucket --bucket fahr-bench >/dev/null

    cat >"$dir/env" <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$bench_port
export AWS_ACCESS_KEY_ID=${keys%%$'\t'*}
export AWS_SECRET_ACCESS_KEY=${keys#*$'\t'}
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export FAHR_BENCH_MOTO=http://127.0.0.1:$moto_port
export FAHR_BENCH_REGISTRY=127.0.0.1:$registry_port
export FAHR_BENCH_REGISTRY_USER=AWS
export FAHR_BENCH_REGISTRY_PASSWORD_FILE=$dir/ecr/password
export FAHR_BENCH_ROLE=fahr-bench-role
export FAHR_BENCH_BUCKET=fahr-bench
EOF
}

stop() {
    local dir=$1 name
    for name in bench moto registry; do
        if [ -s "$dir/$name.pid" ]; then
            kill "$(cat "$dir/$name.pid")" 2>/dev/null || true
        fi
    done
}

case "${1:-}" in
start) start "${2:?usage: $0 start DIR}" ;;
stop) stop "${2:?usage: $0 stop DIR}" ;;
ecr-password)
    dir=${2:?usage: $0 ecr-password DIR [FILE]}
    registry_password "$dir" "${3:-$dir/ecr/password}"
    ;;
*)
    echo "usage: $0 start|stop|ecr-password DIR" >&2
    exit 2
    ;;
esac
