#!/usr/bin/env bash
# fahr prune --registry on the AWS bench: the stamp tags fahr pushed into
# the account's ECR (the bench's docker-registry, whose tags ECR's
# DescribeImages and BatchDeleteImage answer from: aws_bench_ecr.py) go
# once no unended job uses them; a running job's tag, a tag fahr did not
# push, a repository that --config.registry named or the user made, and
# everything without --registry or younger than --older-than stay. Checked
# through the registry's own tags/list and the AWS CLI's ecr list-images.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

use_docker_bench
use_aws_bench
export HOME="$TEST_TMP/home" XDG_DATA_HOME="$TEST_TMP/xdg"
mkdir -p "$HOME"
U="preg$$"
trap 'if [ -s "$TEST_TMP/job-r" ]; then "$FAHR" stop "$(cat "$TEST_TMP/job-r")" \
          --train-driver=sagemaker >/dev/null 2>&1 || true; fi
      "$FAHR_SOURCE_ROOT/tests/bench/aws.sh" stop "$AWS_BENCH"
      docker rmi -f "${U}a/model" "${U}r/train" "${U}g/model" "${U}n/model" >/dev/null 2>&1
      chmod -R u+w "$TEST_TMP" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT

# FIXTURE as NAME/FILE with a line of this run's: an image of its own.
artifact() { # FIXTURE NAME
    mkdir -p "$TEST_TMP/src/$2"
    { cat "$FAHR_SOURCE_ROOT/$1"; echo "# $U $2"; } >"$TEST_TMP/src/$2/$(basename "$1")"
    echo "$TEST_TMP/src/$2/$(basename "$1")"
}

# The registry's API as ECR's user (the password from a file, in curl's
# config on stdin: on no command line).
registry() { # METHOD PATH [CURL ARGS...]
    local method=$1 path=$2
    shift 2
    printf 'user = "AWS:%s"\n' "$(cat "$FAHR_BENCH_REGISTRY_PASSWORD_FILE")" |
        curl -sS -K - -X "$method" "$@" "http://$FAHR_BENCH_REGISTRY/v2/$path"
}

# A repository's tags, sorted, one line.
tags_of() { # REPOSITORY
    registry GET "$1/tags/list" |
        python3 -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin).get("tags") or [])))'
}

# The same as the AWS CLI reads them through the bench's ECR.
ecr_tags_of() { # REPOSITORY
    aws --endpoint-url "$AWS_ENDPOINT_URL" --region us-east-1 --output json ecr list-images \
        --repository-name "$1" |
        python3 -c 'import json, sys; print(" ".join(sorted(i["imageTag"] for i in json.load(sys.stdin)["imageIds"])))'
}

# NAME:TO, a tag fahr did not push, naming the manifest NAME:FROM names.
copy_tag() { # REPOSITORY FROM TO
    local accept=application/vnd.docker.distribution.manifest.v2+json
    local oci=application/vnd.oci.image.manifest.v1+json
    registry GET "$1/manifests/$2" -H "Accept: $accept, $oci" -D "$TEST_TMP/headers" \
        -o "$TEST_TMP/manifest"
    local type
    type=$(sed -n 's/^[Cc]ontent-[Tt]ype: *\([^;[:space:]]*\).*/\1/p' "$TEST_TMP/headers")
    registry PUT "$1/manifests/$3" -H "Content-Type: $type" --data-binary "@$TEST_TMP/manifest" \
        -o /dev/null -w '%{http_code}' | grep -qx 201 || fail "PUT $1:$3"
}

fit_ecr() { # ARTIFACT ARGS...: fit_on_bench, pushing to the account's ECR
    fit_on_bench "$@" --config.registry=
}

# The scene: two fits of one image (a) push two stamp tags, and the user
# tags one of them v1; a job still running (r) and its tag; a fit through
# --config.registry naming ECR's registry (g: a repository fahr did not
# make for the image); a repository the user made, with a stamp-like tag.
setup_the_scene() {
    local a r
    a=$(artifact examples/foo/model.py "${U}a")
    for _ in 1 2; do
        fit_ecr "$a"
        expect_eq "$RC" 0 "fit a; stderr: $ERR"
        sleep 1 # another second: another stamp
    done
    read -r A1 A2 rest <<<"$(tags_of "${U}a/model")"
    if [ -z "$A2" ] || [ -n "$rest" ]; then
        fail "two stamp tags in ${U}a/model: $(tags_of "${U}a/model")"
    fi
    copy_tag "${U}a/model" "$A1" v1
    r=$(artifact tests/fixtures/sleeper/train.py "${U}r")
    sed -i 's/range(300)/range(30000)/' "$r"
    fit_ecr "$r" --no-wait
    expect_eq "$RC" 0 "fit r; stderr: $ERR"
    echo "$OUT" >"$TEST_TMP/job-r"
    R1=$(tags_of "${U}r/train")
    fit_on_bench "$(artifact examples/foo/model.py "${U}g")"
    expect_eq "$RC" 0 "fit g; stderr: $ERR"
    G1=$(tags_of "${U}g/model")
    moto_cli ecr create-repository --repository-name "${U}u/model" >/dev/null
    copy_tag_across "${U}a/model" "$A1" "${U}u/model" 20200101-000000
    {
        echo "A1=$A1 A2=$A2 R1=$R1 G1=$G1"
        echo "BEFORE_A='$A1 $A2 v1'"
    } >"$TEST_TMP/scene"
}

# The manifest of NAME:FROM put as OTHER:TO, its blobs mounted first.
copy_tag_across() { # REPOSITORY FROM OTHER TO
    local accept=application/vnd.docker.distribution.manifest.v2+json
    registry GET "$1/manifests/$2" -H "Accept: $accept" -o "$TEST_TMP/manifest"
    local digest
    for digest in $(python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))
print(m["config"]["digest"]); [print(l["digest"]) for l in m["layers"]]' "$TEST_TMP/manifest"); do
        registry POST "$3/blobs/uploads/?mount=$digest&from=$1" -o /dev/null \
            -w '%{http_code}' | grep -qx 201 || fail "mount $digest into $3"
    done
    registry PUT "$3/manifests/$4" -H "Content-Type: $accept" \
        --data-binary "@$TEST_TMP/manifest" -o /dev/null -w '%{http_code}' | grep -qx 201 ||
        fail "PUT $3:$4"
}

scene() { # the tags setup_the_scene found
    # shellcheck disable=SC1091 # written by setup_the_scene
    . "$TEST_TMP/scene"
}

expect_untouched() { # WHAT
    expect_eq "$(tags_of "${U}a/model")" "$BEFORE_A" "$1: the tags of ${U}a/model"
    expect_eq "$(tags_of "${U}r/train")" "$R1" "$1: the running job's tag"
    expect_eq "$(tags_of "${U}g/model")" "$G1" "$1: the --config.registry tag"
    expect_eq "$(tags_of "${U}u/model")" 20200101-000000 "$1: the user's repository"
}

dry_run_lists_both_and_removes_nothing() {
    scene
    run_fahr prune --registry --dry-run
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$OUT" "would remove image tag $FAHR_BENCH_REGISTRY/${U}a/model:$A1" "stdout"
    expect_contains "$OUT" "would remove image tag $FAHR_BENCH_REGISTRY/${U}a/model:$A2" "stdout"
    expect_lacks "$OUT" ":v1" "stdout"
    # (The local build driver's lines name the local images that carry the
    # pushed references: "image REF", never "image tag REF".)
    expect_lacks "$OUT" "image tag $FAHR_BENCH_REGISTRY/${U}r/train" "stdout (the running job's tag)"
    expect_lacks "$OUT" "image tag $FAHR_BENCH_REGISTRY/${U}g/model" \
        "stdout (the --config.registry repository)"
    expect_lacks "$OUT" "image tag $FAHR_BENCH_REGISTRY/${U}u/model" "stdout (the user's repository)"
    expect_contains "$ERR" "tags they did not push and files in cloud storage are left alone" \
        "the closing note"
    expect_untouched "after --dry-run"
    expect_eq "$(ecr_tags_of "${U}a/model")" "$BEFORE_A" "ecr list-images after --dry-run"
}

without_registry_touches_no_tag() {
    scene
    run_fahr prune
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_lacks "$OUT" "image tag" "stdout"
    expect_contains "$ERR" "images pushed to registries and files in cloud storage are left alone" \
        "the closing note"
    expect_untouched "after prune without --registry"
}

older_than_an_hour_removes_none() {
    scene
    run_fahr prune --registry --older-than 1h
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_lacks "$OUT" "image tag" "stdout"
    expect_untouched "after --older-than 1h"
}

no_credentials_is_one_line_and_local_pruning_goes_on() {
    scene
    (
        unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
        run_fahr prune --registry
        [ "$RC" -ne 0 ] || fail "exit code 0 without AWS settings; stderr: $ERR"
        expect_eq "$(printf '%s\n' "$ERR" | grep -c 'sagemaker: ECR not pruned: ')" 1 \
            "the one line of the sagemaker driver in: $ERR"
        expect_contains "$ERR" "tags they did not push and files in cloud storage are left alone" \
            "the closing note"
        expect_contains "$OUT" "nothing to remove" "stdout (the local drivers pruned)"
    )
    (
        unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
        run_fahr prune --registry --dry-run
        [ "$RC" -ne 0 ] || fail "exit code 0 without AWS credentials; stderr: $ERR"
        expect_eq "$(printf '%s\n' "$ERR" | grep -c 'sagemaker: ECR not pruned: ')" 1 \
            "the one line of the sagemaker driver in: $ERR"
        expect_contains "$OUT" "nothing would be removed" "stdout (the local drivers pruned)"
    )
    expect_untouched "without credentials"
}

# A caller whose policy lacks ecr:TagResource (CreateRepository with tags
# refused): the fit goes on with an untagged repository, says so, and prune
# leaves that repository's tags alone.
a_policy_without_tag_resource_still_fits() {
    touch "$AWS_BENCH/ecr/deny-tag-resource"
    fit_ecr "$(artifact examples/foo/model.py "${U}n")"
    rm "$AWS_BENCH/ecr/deny-tag-resource"
    expect_eq "$RC" 0 "fit n; stderr: $ERR"
    expect_contains "$ERR" "no ecr:TagResource permission" "stderr of fit n"
    [ -n "$(tags_of "${U}n/model")" ] || fail "fit n pushed no tag"
    run_fahr prune --registry --dry-run
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_lacks "$OUT" "image tag $FAHR_BENCH_REGISTRY/${U}n/model" "prune --registry --dry-run"
    expect_contains "$OUT" "would remove image tag $FAHR_BENCH_REGISTRY/${U}a/model" \
        "prune --registry --dry-run"
}

registry_removes_fahrs_tags_only() {
    scene
    run_fahr prune --registry
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$OUT" "removed image tag $FAHR_BENCH_REGISTRY/${U}a/model:$A1" "stdout"
    expect_contains "$OUT" "removed image tag $FAHR_BENCH_REGISTRY/${U}a/model:$A2" "stdout"
    expect_lacks "$OUT" "image tag $FAHR_BENCH_REGISTRY/${U}r/train" "stdout (the running job's tag)"
    # v1 names the image still: no bytes freed by its tags.
    expect_lacks "$OUT" "${U}a/model:$A2 (" "stdout (bytes of an image still tagged)"
    expect_eq "$(tags_of "${U}a/model")" v1 "the tags of ${U}a/model"
    expect_eq "$(ecr_tags_of "${U}a/model")" v1 "ecr list-images"
    python3 "$FAHR_SOURCE_ROOT/tests/integration/registry_image.py" "$FAHR_BENCH_REGISTRY" \
        "${U}a/model" v1 >/dev/null || fail "v1's image is no longer whole"
    expect_eq "$(tags_of "${U}r/train")" "$R1" "the running job's tag"
    expect_eq "$(tags_of "${U}g/model")" "$G1" "the --config.registry tag"
    expect_eq "$(tags_of "${U}u/model")" 20200101-000000 "the user's repository"
    # Once the job has ended, its tag goes too, with its image's bytes.
    run_fahr stop "$(cat "$TEST_TMP/job-r")" --train-driver=sagemaker
    expect_eq "$RC" 0 "stop; stderr: $ERR"
    for _ in $(seq 1 100); do
        run_fahr status "$(cat "$TEST_TMP/job-r")" --train-driver=sagemaker
        case "$OUT" in *stopped*) break ;; esac
        sleep 0.2
    done
    run_fahr prune --registry
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$OUT" "removed image tag $FAHR_BENCH_REGISTRY/${U}r/train:$R1 (" "stdout"
    expect_eq "$(tags_of "${U}r/train")" "" "the ended job's tag"
}

run_test setup_the_scene
run_test dry_run_lists_both_and_removes_nothing
run_test without_registry_touches_no_tag
run_test older_than_an_hour_removes_none
run_test no_credentials_is_one_line_and_local_pruning_goes_on
run_test a_policy_without_tag_resource_still_fits
run_test registry_removes_fahrs_tags_only
finish
