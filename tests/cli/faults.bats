#!/usr/bin/env bats
# Faults around pool (issue 12): an output that exists, a bad input under --force, a full
# device, a folder it may not write, a closed pipe, an interrupt in a large write and in a
# batch on two workers, stdin ending early, a file that changes size while read. Each case
# checks the status (1 for a failure), the message (pool: FILE: reason, naming the file at
# fault), that nothing is left half written under an output's name nor as a temp file, that
# older files are untouched, and that the other outputs of a batch are written, byte for byte
# as a run of their own writes them.
# Nothing waits on time alone: each waits (a bounded poll) for the state it needs, and pool
# is held where a test needs it by a FIFO that nobody reads yet.

load helpers

ARGS=(-m avg -k 2 --png-level 9)
SRCS=(astronaut camera chelsea coffee)

# photo_set N: in/d0..d2, N real photographs named SOURCE-I.png; ref/SOURCE.png, each
# photograph pooled by a run of its own.
photo_set() {
    need_photos
    local i s
    mkdir -p in/d0 in/d1 in/d2 ref
    for s in "${SRCS[@]}"; do "$POOL" "${ARGS[@]}" "$DATA/$s.png" -o "ref/$s.png"; done
    for i in $(seq 1 "$1"); do
        s=${SRCS[i % 4]}
        cp "$DATA/$s.png" "in/d$((i % 3))/$s-$i.png"
    done
}

# same_as_ref DIR: every file under DIR is whole, byte for byte what a run of its own wrote
# (ref/SOURCE.png for SOURCE-I.png, else ref/ under the same name).
same_as_ref() {
    local f b want
    while IFS= read -r f; do
        b=${f##*/}
        case $b in
        *-*.png) want=ref/${b%-*}.png ;;
        *) want=ref/$b ;;
        esac
        cmp "$f" "$want" || return 1
    done < <(find "$1" -type f)
}

count_files() { find "$1" -type f | wc -l; }

# No temp file anywhere in the test's folder.
no_temps() {
    local left
    left=$(find . -name '.*.pool-*')
    [ -z "$left" ] || { echo "temp files left: $left"; return 1; }
}

# wait_until CMD...: polls CMD every 0.05 s, for at most 30 s, until it succeeds.
wait_until() {
    local _
    for _ in $(seq 1 600); do
        "$@" && return 0
        sleep 0.05
    done
    echo "gave up waiting for: $*"
    return 1
}

# temp_with_data DIR NAME: the temp file of DIR/NAME exists and holds some of its data.
temp_with_data() { [ -n "$(find "$1" -maxdepth 1 -name ".$2.pool-*" -size +0 2>/dev/null)" ]; }
temp_of() { [ -n "$(find "$1" -maxdepth 1 -name ".$2.pool-*" 2>/dev/null)" ]; }
at_least() { [ "$(find "$2" -name '*.png' 2>/dev/null | wc -l)" -ge "$1" ]; }

# start_pool ARGS...: pool in the background, stderr to err, pid in $pid, ended after a
# minute if it hangs (status 124). A shell starts its background jobs with SIGINT ignored,
# which pool keeps: env gives it back SIGINT as a terminal's Ctrl-C would find it. (timeout
# passes INT and TERM on, and ends with the status of the signal that ended pool.)
start_pool() {
    timeout 60 env --default-signal=INT "$POOL" "$@" 2> err 5>&- &
    pid=$!
}

# finish_pool: waits for it; sets status and output (its stderr) as run does.
finish_pool() {
    status=0
    wait "$pid" || status=$?
    output=$(cat err)
    mapfile -t lines < err
}

# big_npy FILE: 48 MiB of float32 (1x3x2048x2048), its header 128 bytes.
big_npy() {
    mknpy "$1" 'np.random.default_rng(1).random((1, 3, 2048, 2048), dtype=np.float32)'
}

@test "an existing output: a batch refuses it, leaves it as it was and writes the rest; -o FILE is replaced only by a whole result" {
    photo_set 12
    mkdir -p out/d1 keep
    cp "$DATA/coffee.png" out/d1/camera-1.png   # an output from some other run
    cp "$DATA/coffee.png" keep/camera.png
    run "$POOL" "${ARGS[@]}" -R in -O out -j 2
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[0]}" = "pool: out/d1/camera-1.png: exists (--force overwrites it, --skip-existing skips its input)" ]
    [ "${lines[1]}" = "pool: 11 written, 1 failed, 0 skipped" ]
    cmp out/d1/camera-1.png "$DATA/coffee.png"
    mv out/d1/camera-1.png old.png
    [ "$(count_files out)" -eq 11 ]
    same_as_ref out
    no_temps
    # one input with -O is a batch of one
    run "$POOL" "${ARGS[@]}" "$DATA/camera.png" -O keep
    [ "$status" -eq 1 ]
    [ "$output" = "pool: keep/camera.png: exists (--force overwrites it, --skip-existing skips its input)
pool: 0 written, 1 failed, 0 skipped" ]
    cmp keep/camera.png "$DATA/coffee.png"
    # one -o FILE is replaced (the man page's --force): by the whole result, in one step
    cp "$DATA/coffee.png" one.png
    ln -s one.png link.png
    run "$POOL" "${ARGS[@]}" "$DATA/camera.png" -o link.png
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ -L link.png ]
    cmp one.png ref/camera.png
    no_temps
}

@test "--force on a bad input leaves the old output as it was: one file, a tensor, a batch" {
    photo_set 12
    head -c 200000 "$DATA/astronaut.png" > bad.png
    cp "$DATA/coffee.png" out.png
    for force in --force ""; do
        run "$POOL" "${ARGS[@]}" $force bad.png -o out.png
        [ "$status" -eq 1 ]
        [[ "$output" =~ ^"pool: bad.png: truncated PNG data (row "[0-9]+" of 512)"$ ]]
        cmp out.png "$DATA/coffee.png"
    done
    mknpy a.npy 'np.arange(3 * 64 * 64, dtype=np.float32).reshape(3, 64, 64)'
    mknpy old.npy 'np.ones((3, 32, 32), np.float32)'
    cp old.npy out.npy
    head -c 1000 a.npy > cut.npy
    run "$POOL" -k 2 --force cut.npy -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: cut.npy: truncated data: expected 49152 bytes of array data, got 872" ]
    cmp out.npy old.npy
    # a batch: the bad file's old output stays, every other is replaced
    "$POOL" -q "${ARGS[@]}" -R in -O out -j 2
    find out -type f -exec sh -c 'echo stale > "$1"' sh {} \;
    cp "$DATA/coffee.png" out/d2/astronaut-8.png
    head -c 200000 "$DATA/astronaut.png" > in/d2/astronaut-8.png
    run "$POOL" "${ARGS[@]}" --force -R in -O out -j 2
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[0]}" =~ ^"pool: in/d2/astronaut-8.png: truncated PNG data (row "[0-9]+" of 512)"$ ]]
    [ "${lines[1]}" = "pool: 11 written, 1 failed, 0 skipped" ]
    cmp out/d2/astronaut-8.png "$DATA/coffee.png"
    mv out/d2/astronaut-8.png old.png
    [ "$(count_files out)" -eq 11 ]
    same_as_ref out
    no_temps
}

@test "/dev/full: one output, stdout, --indices, a batch's --stats, a table and its --stats" {
    [ -w /dev/full ] || skip "no /dev/full"
    photo_set 12
    run "$POOL" "${ARGS[@]}" "$DATA/astronaut.png" -o /dev/full
    [ "$status" -eq 1 ]
    [ "$output" = "pool: /dev/full: write failed: No space left on device" ]
    mknpy a.npy 'np.random.default_rng(0).random((1, 3, 512, 512), dtype=np.float32)'
    run bash -c '"$0" -k 2 a.npy > /dev/full' "$POOL"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdout>: write failed: No space left on device" ]
    run "$POOL" -m max -k 2 --indices /dev/full a.npy -o out.npy
    [ "$status" -eq 1 ]
    [ "$output" = "pool: /dev/full: write failed: No space left on device" ]
    [ ! -e out.npy ]
    # a batch: every output is written; the stats file's failure is said after the summary
    run "$POOL" "${ARGS[@]}" -R in -O out -j 2 --stats=/dev/full
    [ "$status" -eq 1 ]
    [ "$output" = "pool: 12 written, 0 failed, 0 skipped
pool: /dev/full: write failed: No space left on device" ]
    [ "$(count_files out)" -eq 12 ]
    same_as_ref out
    # a table (of the colour photographs: one shape): one message, whether the table or its
    # stats cannot be written, and no table
    mkdir colour
    for i in 1 2 3 4; do
        for s in astronaut chelsea coffee; do cp "$DATA/$s.png" "colour/$s-$i.png"; done
    done
    run "$POOL" -P gavg -f csv -R colour -j 2 -o /dev/full
    [ "$status" -eq 1 ]
    [ "$output" = "pool: /dev/full: write failed: No space left on device" ]
    run bash -c '"$0" -P gavg -f csv -R colour -j 2 > /dev/full' "$POOL"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdout>: write failed: No space left on device" ]
    run "$POOL" -P gavg -f csv -R colour -j 2 -o t.csv --stats=/dev/full
    [ "$status" -eq 1 ]
    [ "$output" = "pool: /dev/full: write failed: No space left on device" ]
    [ ! -e t.csv ]
    no_temps
}

@test "an output folder pool may not write in (as nobody under root), or a file in the way of one" {
    photo_set 12
    # root writes in any folder: then pool runs as nobody (setpriv, from util-linux), from a
    # copy of its own, as nobody may not reach the build folder
    as_user=()
    [ "$(id -u)" -eq 0 ] && as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    cp "$POOL" ./pool-copy
    mkdir -p ro out/d1
    chmod -R a+rX . && chmod a+rwx . out && chmod 555 ro out/d1
    run "${as_user[@]}" ./pool-copy "${ARGS[@]}" "$DATA/astronaut.png" -o ro/out.png
    [ "$status" -eq 1 ]
    [ "$output" = "pool: ro/out.png: cannot create a file in its folder: Permission denied" ]
    [ -z "$(ls -A ro)" ]
    run "${as_user[@]}" ./pool-copy "${ARGS[@]}" -R in -O out -j 2
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 5 ]
    for name in astronaut-4 camera-1 chelsea-10 coffee-7; do
        [[ " ${lines[*]:0:4} " == *" pool: out/d1/$name.png: cannot create a file in its folder: Permission denied "* ]]
    done
    [ "${lines[4]}" = "pool: 8 written, 4 failed, 0 skipped" ]
    [ -z "$(ls -A out/d1)" ]
    [ "$(count_files out)" -eq 8 ]
    same_as_ref out
    # a regular file where a folder should be (ENOTDIR, whoever runs it)
    echo text > file.txt
    run "$POOL" "${ARGS[@]}" "$DATA/astronaut.png" -o file.txt/out.png
    [ "$status" -eq 1 ]
    [ "$output" = "pool: file.txt/out.png: cannot create a file in its folder: Not a directory" ]
    [ "$(cat file.txt)" = text ]
    mkdir o2 && echo text > o2/d1
    run "$POOL" "${ARGS[@]}" -R in -O o2 -j 2
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 5 ]
    for name in astronaut-4 camera-1 chelsea-10 coffee-7; do
        [[ " ${lines[*]:0:4} " == *" pool: o2/d1/$name.png: o2/d1 is in the way of a folder "* ]]
    done
    [ "${lines[4]}" = "pool: 8 written, 4 failed, 0 skipped" ]
    [ "$(cat o2/d1)" = text ]
    [ "$(count_files o2)" -eq 9 ]
    rm o2/d1
    same_as_ref o2
    chmod 755 ro out/d1
    no_temps
}

# piped STATUS-FILE COMMAND: runs COMMAND | head -c 10 (bash, so that SIGPIPE is as a
# caller left it); COMMAND's status goes to STATUS-FILE.
piped() {
    bash -c "$2"' | head -c 10 > /dev/null; echo "${PIPESTATUS[0]}" > '"$1"
}

@test "a closed pipe: pool ends quietly from SIGPIPE as cat does; with SIGPIPE ignored, one message and status 1, as cat" {
    photo_set 12
    export POOL
    mknpy big.npy 'np.random.default_rng(0).random((1, 4, 1024, 1024), dtype=np.float32)'
    # (each writes far more than a pipe holds, so the reader is gone before the end)
    [ "$("$POOL" "${ARGS[@]}" -f png "$DATA/astronaut.png" | wc -c)" -gt 100000 ]
    piped cat.st 'cat big.npy'
    [ "$(cat cat.st)" -eq 141 ]
    for cmd in '"$POOL" -k 2 big.npy' '"$POOL" -m avg -k 2 -f png "$DATA/astronaut.png"' \
        '"$POOL" -m avg -k 2 -f pnm -R in -j 2 -o -'; do
        piped pool.st "$cmd 2> err"
        [ "$(cat pool.st)" -eq 141 ]
        [ ! -s err ]
    done
    # SIGPIPE ignored by the caller: a write error, said once (not once per input)
    piped cat.st "trap '' PIPE; cat big.npy 2> /dev/null"
    [ "$(cat cat.st)" -eq 1 ]
    for cmd in '"$POOL" -k 2 big.npy' '"$POOL" -m avg -k 2 -f pnm -R in -j 2 -o -'; do
        piped pool.st "trap '' PIPE; $cmd 2> err"
        [ "$(cat pool.st)" -eq 1 ]
        [ "$(cat err)" = "pool: <stdout>: write failed: Broken pipe" ]
    done
    [ "$(ls -A | sort | tr '\n' ' ')" = "big.npy cat.st err in pool.st ref " ]
}

@test "SIGINT and SIGTERM in the middle of a large write leave nothing under the output's name" {
    need_photos
    big_npy big.npy
    # a photograph's pixels as a large PPM, 2048x2048
    "$PY" - "$DATA/astronaut.png" <<'PY'
import sys, numpy as np
from PIL import Image
x = np.tile(np.asarray(Image.open(sys.argv[1]).convert("RGB")), (4, 4, 1))
with open("big.ppm", "wb") as f:
    f.write(b"P6\n2048 2048\n255\n" + x.tobytes())
PY
    for sig in INT TERM; do
        for input in big.npy:out.npy big.ppm:out.png; do
            mkfifo feed
            exec 5<> feed   # read-write: opening never blocks, and pool sees no end of data
            start_pool -m avg -k 2 feed -o "${input#*:}"
            timeout 20 head -c 6000000 "${input%:*}" >&5
            wait_until temp_with_data . "${input#*:}"   # pool is writing
            kill -"$sig" "$pid"
            finish_pool
            exec 5>&-
            [ "$status" -eq $((128 + $(kill -l "$sig"))) ]
            [ -z "$output" ]
            no_files_but big.npy big.ppm err feed
            rm feed
        done
    done
}

@test "signals ignored when pool starts stay ignored: nohup's SIGHUP, a background job's SIGINT" {
    big_npy big.npy
    "$POOL" -m avg -k 2 big.npy -o want.npy
    mkfifo feed
    exec 5<> feed
    # (a shell starts its background jobs with SIGINT ignored, and nohup ignores SIGHUP)
    nohup "$POOL" -m avg -k 2 feed -o out.npy < /dev/null > /dev/null 2> err 5>&- &
    pid=$!
    timeout 20 head -c 6000000 big.npy >&5
    wait_until temp_with_data . out.npy
    kill -HUP "$pid"
    kill -INT "$pid"
    timeout 20 tail -c +6000001 big.npy >&5
    exec 5>&-
    finish_pool
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    cmp out.npy want.npy
    no_temps
}

@test "SIGINT and SIGTERM in a batch on 2 workers: the outputs there are whole, no temp file; --skip-existing completes the set" {
    photo_set 40
    big_npy big.npy
    "$POOL" "${ARGS[@]}" big.npy -o ref/feed.npy
    for sig in INT TERM; do
        rm -rf out
        # feed.npy comes first and is read from a FIFO that never ends: one worker is in
        # the middle of writing its output while the other writes the photographs'
        mkfifo feed.npy
        exec 5<> feed.npy
        start_pool "${ARGS[@]}" -R feed.npy in -O out -j 2
        timeout 20 head -c 6000000 big.npy >&5
        wait_until temp_with_data out feed.npy
        wait_until at_least 3 out
        kill -"$sig" "$pid"
        finish_pool
        exec 5>&-
        [ "$status" -eq $((128 + $(kill -l "$sig"))) ]
        [ -z "$output" ]
        no_temps
        [ ! -e out/feed.npy ]
        n=$(count_files out)
        [ "$n" -ge 3 ]
        [ "$n" -le 40 ]
        same_as_ref out
        # the whole file now: --skip-existing does what is missing, and only that
        rm feed.npy && cp big.npy feed.npy
        run "$POOL" "${ARGS[@]}" -R feed.npy in -O out -j 2 --skip-existing
        [ "$status" -eq 0 ]
        [ "$output" = "pool: $((41 - n)) written, 0 failed, $n skipped (already written)" ]
        [ "$(count_files out)" -eq 41 ]
        same_as_ref out
        no_temps
        rm feed.npy
    done
}

@test "stdin that ends early or is closed: a clear error and nothing written" {
    need_photos
    run bash -c 'head -c 200000 "$1" | "$0" -m avg -k 2 - -o out.png' "$POOL" "$DATA/astronaut.png"
    [ "$status" -eq 1 ]
    [[ "$output" =~ ^"pool: <stdin>: truncated PNG data (row "[0-9]+" of 512)"$ ]]
    mknpy a.npy 'np.random.default_rng(0).random((1, 3, 512, 512), dtype=np.float32)'
    run bash -c 'head -c 1000000 a.npy | "$0" -k 2 - -o out.npy' "$POOL"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdin>: truncated data: expected 3145728 bytes of array data, got 999872" ]
    # a writer that closes its end once pool is writing the output
    mkfifo feed
    timeout 60 "$POOL" -k 2 - -o out.npy < feed 2> err &
    pid=$!
    exec 5> feed
    timeout 20 head -c 2000000 a.npy >&5
    wait_until temp_with_data . out.npy
    exec 5>&-
    finish_pool
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdin>: truncated data: expected 3145728 bytes of array data, got 1999872" ]
    # closed, and empty
    run bash -c '"$0" -k 2 - -o out.npy <&-' "$POOL"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdin>: read failed: Bad file descriptor" ]
    run "$POOL" -k 2 - -o out.npy < /dev/null
    [ "$status" -eq 1 ]
    [ "$output" = "pool: <stdin>: empty input" ]
    no_files_but a.npy err feed
    # a batch's list of files that ends in the middle of a name: the names before it are pooled
    photo_set 4
    run bash -c 'printf "in/d1/camera-1.png\nin/d2/chelsea-2.png\nin/d0/coff" | "$0" -m avg -k 2 --png-level 9 --files-from - -O out -j 2' "$POOL"
    [ "$status" -eq 1 ]
    [ "$output" = "pool: in/d0/coff: cannot open: No such file or directory
pool: 2 written, 1 failed, 0 skipped" ]
    [ "$(count_files out)" -eq 2 ]
    same_as_ref out
    no_temps
}

# changed_while_read CHANGE INPUT OUTPUT: pool -m max -k 2 INPUT -o OUTPUT with --indices
# into a FIFO that nobody reads yet: pool opens it after reading INPUT's header (checked
# against the file's size) and making OUTPUT's temp file, before reading its data. There it
# waits while CHANGE is evaluated, then a reader lets it go on. Sets status and output.
changed_while_read() {
    rm -f idx.npy && mkfifo idx.npy
    start_pool -m max -k 2 --indices idx.npy "$2" -o "$3"
    wait_until temp_of . "$3"
    eval "$1"
    timeout 20 cat idx.npy > /dev/null
    finish_pool
    rm idx.npy
}

@test "a file that shrinks or grows while read: a clear error or the right result, never a partial output" {
    need_photos
    big_npy a.npy
    size=$(stat -c %s a.npy)
    cp a.npy b.npy
    changed_while_read 'truncate -s 4096 b.npy' b.npy out.npy
    [ "$status" -eq 1 ]
    [[ "$output" =~ ^"pool: b.npy: truncated data: expected 50331648 bytes of array data, got "[1-9][0-9]*$ ]]
    [ "${output##* }" -lt 50331648 ]   # (what was buffered before the cut: the data began)
    cp a.npy b.npy
    changed_while_read 'head -c 100 a.npy >> b.npy' b.npy out.npy
    [ "$status" -eq 1 ]
    # (said at the end of the data: the size was right when the header was read)
    [ "$output" = "pool: b.npy: trailing data after the array" ]
    "$PY" -c 'from PIL import Image; import sys; Image.open(sys.argv[1]).save("p.ppm")' "$DATA/astronaut.png"
    cp p.ppm c.ppm
    changed_while_read 'truncate -s 300000 c.ppm' c.ppm out.ppm
    [ "$status" -eq 1 ]
    [[ "$output" =~ ^"pool: c.ppm: truncated PNM data (row "[0-9]+" of 512)"$ ]]
    cp "$DATA/astronaut.png" d.png
    changed_while_read 'truncate -s 300000 d.png' d.png out.png
    [ "$status" -eq 1 ]
    [[ "$output" =~ ^"pool: d.png: truncated PNG data (row "[0-9]+" of 512)"$ ]]
    # bytes after a PNG's end are not its data: the result is the whole file's
    cp "$DATA/astronaut.png" d.png
    changed_while_read 'head -c 5000 a.npy >> d.png' d.png out.png
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    "$POOL" -m max -k 2 "$DATA/astronaut.png" -o want.png
    cmp out.png want.png
    rm out.png want.png
    no_files_but a.npy b.npy c.ppm d.png err p.ppm
    [ "$(stat -c %s a.npy)" -eq "$size" ]
}

@test "a file that shrinks or grows while a batch on 2 workers reads it: its error, the rest written" {
    photo_set 12
    big_npy big.npy
    for change in "truncate -s 4096" "head -c 100 big.npy >>"; do
        rm -rf out && mkdir -p out/d2
        cp big.npy in/d2/zz.npy
        # the last input, its output a FIFO (written in place, so --force): the worker that
        # has read its header waits there while the other writes the photographs
        mkfifo out/d2/zz.npy
        start_pool "${ARGS[@]}" --force -R in -O out -j 2
        wait_until at_least 12 out
        eval "$change in/d2/zz.npy"
        timeout 20 cat out/d2/zz.npy > /dev/null
        finish_pool
        [ "$status" -eq 1 ]
        [ "${#lines[@]}" -eq 2 ]
        if [[ $change == truncate* ]]; then
            [[ "${lines[0]}" =~ ^"pool: in/d2/zz.npy: truncated data: expected 50331648 bytes of array data, got "[1-9][0-9]*$ ]]
        else
            [ "${lines[0]}" = "pool: in/d2/zz.npy: trailing data after the array" ]
        fi
        [ "${lines[1]}" = "pool: 12 written, 1 failed, 0 skipped" ]
        rm out/d2/zz.npy
        [ "$(count_files out)" -eq 12 ]
        same_as_ref out
        no_temps
    done
}
