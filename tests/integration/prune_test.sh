#!/usr/bin/env bash
# fahr prune on the bench's Docker engine: exited local job containers, the
# jobs' folders and the images fahr built go; what runs, what the user or
# the bench made, and what is younger than --older-than stays. The engine
# is shared: every name here carries this run's own prefix, and what fahr
# removes is scoped to this test's XDG_DATA_HOME (the jobs) and fahr's
# build label (the images).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

use_docker_bench
export XDG_DATA_HOME="$TEST_TMP/xdg" FAHR_POLL_INTERVAL_MS=200
U="prune$$"
JOBS="$XDG_DATA_HOME/fahr/jobs"
CHECKPOINTS="$XDG_DATA_HOME/fahr/drivers/local/checkpoints"
trap 'for name in a b r; do docker rm -f "fahr-$(cat "$TEST_TMP/job-$name" 2>/dev/null)"; done >/dev/null 2>&1
      docker rm -f "$U-exited" "$U-user" >/dev/null 2>&1
      docker rmi -f "${U}a/model" "${U}b/model" "${U}c/model" "${U}r/train" "$U-foreign/base" \
          "${U}d/model" "$U-mine:v1" "${U}o/model" \
          >/dev/null 2>&1
      chmod -R u+w "$TEST_TMP" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT

# An artifact of its own (so its image is this run's alone): DIR/NAME.py
# with a line only this run has.
artifact() { # FIXTURE_FILE DIR
    mkdir -p "$TEST_TMP/w/$2"
    { cat "$FAHR_SOURCE_ROOT/$1"; echo "# $U $2"; } >"$TEST_TMP/w/$2/$(basename "$1")"
    echo "$TEST_TMP/w/$2/$(basename "$1")"
}

exists_container() { docker container inspect "$1" >/dev/null 2>&1; }
exists_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The scene: two finished local jobs (a and b), an image built for no job
# (c), a job still running (r), and what fahr did not make: an image
# tagged from the bench's base image, an exited container of the user's,
# and a container the user made from b's image.
setup_the_scene() {
    local job
    for name in a b; do
        fit_local "$(artifact tests/fixtures/foo/model.py "$U$name")"
        expect_eq "$RC" 0 "fit $name; stderr: $ERR"
        job=$(printf '%s\n' "$OUT" | head -n 1)
        [ -d "$JOBS/$job" ] || fail "no folder for job $job"
        echo "$job" >"$TEST_TMP/job-$name"
    done
    run_fahr build "$(artifact tests/fixtures/foo/model.py "${U}c")" --build-driver=local \
        --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "build c; stderr: $ERR"
    expect_eq "$(docker image inspect -f '{{index .Config.Labels "fahr.build"}}' "${U}c/model")" \
        local "the label of a built image"
    # d: built by fahr, then tagged by the user; o: built by another user
    # (another data directory) on the same engine.
    run_fahr build "$(artifact tests/fixtures/foo/model.py "${U}d")" --build-driver=local \
        --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "build d; stderr: $ERR"
    docker tag "${U}d/model:latest" "$U-mine:v1"
    XDG_DATA_HOME="$TEST_TMP/other-user" run_fahr build \
        "$(artifact tests/fixtures/foo/model.py "${U}o")" --build-driver=local \
        --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "build o; stderr: $ERR"
    local sleeper
    sleeper=$(artifact tests/fixtures/sleeper/train.py "${U}r")
    sed -i 's/range(300)/range(30000)/' "$sleeper"
    fit_local "$sleeper" --no-wait
    expect_eq "$RC" 0 "fit r; stderr: $ERR"
    echo "$OUT" >"$TEST_TMP/job-r"
    docker tag "$BENCH_IMAGE" "$U-foreign/base:latest"
    docker run --name "$U-exited" "$BENCH_IMAGE" true
    docker create --name "$U-user" "${U}b/model:latest" true >/dev/null
    for name in a b r; do
        exists_container "fahr-$(cat "$TEST_TMP/job-$name")" || fail "no container of $name"
    done
    [ "$(docker inspect -f '{{.State.Status}}' "fahr-$(cat "$TEST_TMP/job-r")")" = running ] ||
        fail "job r is not running"
}

# Everything of the scene that must survive every prune.
expect_survivors() { # WHAT
    exists_container "fahr-$(cat "$TEST_TMP/job-r")" || fail "$1: the running job's container went"
    [ -d "$JOBS/$(cat "$TEST_TMP/job-r")" ] || fail "$1: the running job's folder went"
    exists_image "${U}r/train:latest" || fail "$1: the running job's image went"
    exists_image "${U}b/model:latest" || fail "$1: the image a user's container uses went"
    exists_image "$U-foreign/base:latest" || fail "$1: the foreign image went"
    exists_image "${U}d/model:latest" || fail "$1: the image the user tagged went"
    exists_image "${U}o/model:latest" || fail "$1: another user's image went"
    exists_image "$BENCH_IMAGE" || fail "$1: the bench's base image went"
    exists_container "$U-exited" || fail "$1: the user's exited container went"
    exists_container "$U-user" || fail "$1: the user's container of b's image went"
}

# What prune takes, all still there.
expect_prunable_here() { # WHAT
    local name
    for name in a b; do
        exists_container "fahr-$(cat "$TEST_TMP/job-$name")" || fail "$1: container of $name went"
        [ -d "$JOBS/$(cat "$TEST_TMP/job-$name")" ] || fail "$1: folder of $name went"
    done
    exists_image "${U}a/model:latest" || fail "$1: image a went"
    exists_image "${U}c/model:latest" || fail "$1: image c went"
}

older_than_keeps_fresh_things() {
    run_fahr prune --older-than 1h
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_lacks "$OUT" "$U" "stdout"
    expect_prunable_here "prune --older-than 1h"
    expect_survivors "prune --older-than 1h"
}

bad_durations_are_usage_errors() {
    local value
    for value in 3x 10 0m -1h 1.5h "2 w" h 99999999d; do
        run_fahr prune --older-than "$value"
        expect_eq "$RC" 2 "exit code for '$value'"
        expect_contains "$ERR" "--older-than '$value'" "stderr for '$value'"
        expect_eq "$OUT" "" "stdout for '$value'"
    done
    expect_prunable_here "refused prunes"
}

dry_run_lists_and_removes_nothing() {
    local a b
    a=$(cat "$TEST_TMP/job-a") b=$(cat "$TEST_TMP/job-b")
    run_fahr prune --dry-run
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$OUT" "would remove container fahr-$a" "stdout"
    expect_contains "$OUT" "would remove container fahr-$b" "stdout"
    expect_contains "$OUT" "would remove folder $JOBS/$a (" "stdout"
    expect_contains "$OUT" "would remove folder $JOBS/$b (" "stdout"
    expect_contains "$OUT" "would remove image ${U}a/model:latest" "stdout"
    expect_contains "$OUT" "would remove image ${U}c/model:latest" "stdout"
    expect_lacks "$OUT" "${U}b/model" "stdout: b's image is used by the user's container"
    expect_lacks "$OUT" "${U}r" "stdout: the running job"
    expect_lacks "$OUT" "${U}d" "stdout: the image the user tagged"
    expect_lacks "$OUT" "${U}o" "stdout: another user's image"
    expect_lacks "$OUT" "$U-" "stdout: the foreign things"
    expect_contains "$OUT" "would free " "stdout's last line"
    expect_contains "$ERR" "left alone" "the note on remote things"
    expect_prunable_here "prune --dry-run"
    expect_survivors "prune --dry-run"
}

prune_removes_exactly_fahrs() {
    local a b
    a=$(cat "$TEST_TMP/job-a") b=$(cat "$TEST_TMP/job-b")
    run_fahr prune
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$OUT" "removed container fahr-$a" "stdout"
    expect_contains "$OUT" "removed folder $JOBS/$b (" "stdout"
    expect_contains "$OUT" "removed image ${U}a/model:latest" "stdout"
    expect_contains "$OUT" "removed image ${U}c/model:latest" "stdout"
    expect_eq "$(printf '%s\n' "$OUT" | grep -c "$U")" 6 "lines of this run's things"
    expect_contains "$(printf '%s\n' "$OUT" | tail -n 1)" "freed " "the last line"
    for job in "$a" "$b"; do
        ! exists_container "fahr-$job" || fail "container fahr-$job stays"
        [ ! -e "$JOBS/$job" ] || fail "folder of $job stays"
    done
    ! exists_image "${U}a/model:latest" || fail "image a stays"
    ! exists_image "${U}c/model:latest" || fail "image c stays"
    expect_survivors "prune"
    # a's checkpoints stay while its image was there when they were looked at.
    [ -d "$CHECKPOINTS/${U}a/model" ] || fail "a's checkpoints went with its image"
    # The local driver now knows a's job no more; the running one it does.
    run_fahr jobs --train-driver=local
    expect_lacks "$OUT" "$a" "jobs"
    expect_contains "$OUT" "$(cat "$TEST_TMP/job-r")" "jobs"
}

# A checkpoint folder goes once its image is gone and no job folder names
# it; those of b (its image stays) and of the running job stay.
checkpoints_go_once_their_image_is_gone() {
    echo step >"$CHECKPOINTS/${U}a/model/step"
    run_fahr prune --older-than 1h
    expect_lacks "$OUT" "$U" "prune --older-than 1h: a checkpoint written now"
    run_fahr prune --dry-run
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    [[ "$(printf '%s\n' "$OUT" | grep "$U")" =~ ^"would remove folder $CHECKPOINTS/${U}a ("[0-9.]+" KiB)"$ ]] ||
        fail "a second prune's list: $OUT"
    run_fahr prune
    [[ "$(printf '%s\n' "$OUT" | grep "$U")" =~ ^"removed folder $CHECKPOINTS/${U}a ("[0-9.]+" KiB)"$ ]] ||
        fail "a second prune: $OUT"
    [ ! -e "$CHECKPOINTS/${U}a" ] || fail "a's checkpoints stay"
    [ -d "$CHECKPOINTS/${U}b/model" ] || fail "b's checkpoints went"
    [ -d "$CHECKPOINTS/${U}r/train" ] || fail "the running job's checkpoints went"
    expect_survivors "a second prune"
}

# A driver of ABI 1.0 has no prune: it loads, is skipped, and prune goes on.
a_driver_without_prune_still_loads() {
    local dir="$TEST_TMP/abi10"
    mkdir -p "$dir"
    chmod 0755 "$dir"
    cp "$FAHR_FIXTURE_DIR/train_abi_1_0.so" "$FAHR_FIXTURE_DIR/build_abi_1_0.so" "$dir/"
    run_fahr --plugin-dir "$dir" prune --dry-run
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_lacks "$ERR" "abi" "stderr"
    expect_lacks "$ERR" "warning" "stderr"
    run_fahr --plugin-dir "$dir" plugins
    printf '%s\n' "$OUT" | grep -qE '^abi-one-oh +train +1\.0\.0 +1\.0 ' ||
        fail "the 1.0 driver is not listed: $OUT"
}

run_test setup_the_scene
run_test older_than_keeps_fresh_things
run_test bad_durations_are_usage_errors
run_test dry_run_lists_and_removes_nothing
run_test prune_removes_exactly_fahrs
run_test checkpoints_go_once_their_image_is_gone
run_test a_driver_without_prune_still_loads
finish
