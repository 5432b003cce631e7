#!/usr/bin/env bats
# The README's GNU parallel recipe (issue 8), run for real: on two local job slots, and
# through --sshlogin to an sshd of the test's own on a loopback port (with a host key and
# a client key made here, so no system sshd, ssh configuration or key is used or touched).
# Either way the shards together write, byte for byte, what one `pool -j 2` run writes.

load helpers

SSHD=/usr/sbin/sshd

# A tree of real photographs with odd names, a text file and a hidden folder, with enough
# files that most of the 8 shards get some.
make_photos() {
    command -v parallel >/dev/null || skip "no GNU parallel (Debian parallel)"
    photo_tree
    for i in 1 2 3 4 5 6 7 8; do cp "$DATA/coffee.png" "photos/a/c$i.png"; done
    # the reference: one process, two threads
    "$POOL" -q -m avg -k 2 -R photos -O one -j 2
    [ "$(cd one && find . -type f | wc -l)" -eq 13 ]
}

# recipe PARALLEL_OPTIONS...: the README's recipe, verbatim but for the options given to
# parallel and the path of pool (a remote shell starts in $HOME with the default PATH).
# Every job is logged in jobs.log. Bounded in time, so that a broken ssh never hangs the
# suite; fd 3 (bats's) is closed, so that a stray ssh cannot keep bats waiting either.
recipe() {
    local env=() v
    for v in ASAN_OPTIONS UBSAN_OPTIONS; do   # the sanitizer build's, to the remote side too
        [ -z "${!v:-}" ] || env+=(--env "$v")
    done
    seq 0 7 | timeout -k 10 120 parallel "${env[@]}" --joblog jobs.log "$@" --workdir . \
        "$POOL" -q -j 1 -m avg -k 2 -R photos/ -O small/ --skip-existing --shard {}/8 3>&- ||
        { v=$?; [ "$v" -lt 124 ] || echo "parallel $*: timed out after 120 s"; return "$v"; }
}

# jobs_ok HOSTS: jobs.log holds 8 jobs, each exited 0, run on the hosts (sshlogins) HOSTS
# (a space-separated sorted list) and only on them.
jobs_ok() {
    local got
    [ "$(awk -F '\t' 'NR > 1 && $7 == 0 && $8 == 0' jobs.log | wc -l)" -eq 8 ] ||
        { echo "jobs.log: not 8 jobs that exited 0:"; cat jobs.log; return 1; }
    got=$(awk -F '\t' 'NR > 1 { print $2 }' jobs.log | sort -u | tr '\n' ' ')
    [ "$got" = "$1 " ] || { echo "jobs ran on: $got, want: $1"; cat jobs.log; return 1; }
}

# start_sshd: an sshd of our own, as the current user (root in CI: key login to root is
# allowed by key only), on a free port of 127.0.0.1, logging to $SSH_DIR/sshd.log; and an
# ssh configuration $SSH_DIR/ssh_config in which host1 and host2 both name it, trusting
# its host key only. A taken port is tried again with another one.
start_sshd() {
    [ -x "$SSHD" ] || skip "no $SSHD (Debian openssh-server)"
    command -v ssh >/dev/null || skip "no ssh (Debian openssh-client)"
    command -v ssh-keygen >/dev/null || skip "no ssh-keygen (Debian openssh-client)"
    SSH_DIR=$TMP/.ssh-test
    mkdir -m 700 "$SSH_DIR"
    ssh-keygen -q -t ed25519 -N '' -C pool-test-host -f "$SSH_DIR/host_key"
    ssh-keygen -q -t ed25519 -N '' -C pool-test-client -f "$SSH_DIR/client_key"
    cp "$SSH_DIR/client_key.pub" "$SSH_DIR/authorized_keys"
    # sshd started by root wants its privilege separation folder, which the system makes
    # at boot or when its own sshd starts: neither may have happened in a container
    if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
        mkdir -m 0755 /run/sshd 2>/dev/null || [ -d /run/sshd ]
    fi
    local user port up i pam=no
    user=$(id -un)
    # Without PAM, sshd refuses a key login to a locked account ('!' in /etc/shadow, which
    # only root can read); PAM lets it in. PAM is used then only: it may not work unprivileged.
    case $(getent shadow "$user" 2>/dev/null | cut -d : -f 2) in '!'*) pam=yes ;; esac
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + RANDOM % 12000))   # below Linux's ephemeral ports (32768 up)
        cat > "$SSH_DIR/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $SSH_DIR/host_key
PidFile $SSH_DIR/sshd.pid
AuthorizedKeysFile $SSH_DIR/authorized_keys
AllowUsers $user
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM $pam
StrictModes no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
EOF
        : > "$SSH_DIR/sshd.log"
        "$SSHD" -D -f "$SSH_DIR/sshd_config" -E "$SSH_DIR/sshd.log" </dev/null >/dev/null 2>&1 3>&- &
        SSHD_PID=$!
        up=
        for i in $(seq 100); do
            if grep -q "Server listening on 127.0.0.1 port $port\." "$SSH_DIR/sshd.log"; then
                up=1
                break
            fi
            kill -0 "$SSHD_PID" 2>/dev/null || break
            sleep 0.1
        done
        [ -z "$up" ] || break
        stop_sshd
        grep -q "Address already in use" "$SSH_DIR/sshd.log" ||
            { echo "$SSHD did not start on 127.0.0.1 port $port"; return 1; }
    done
    [ -n "$up" ] || { echo "$SSHD: no free port in 10 tries"; return 1; }
    printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d ' ' -f 1,2 "$SSH_DIR/host_key.pub")" \
        > "$SSH_DIR/known_hosts"
    cat > "$SSH_DIR/ssh_config" <<EOF
Host host1 host2
    HostName 127.0.0.1
    Port $port
    User $user
    IdentityFile $SSH_DIR/client_key
    IdentitiesOnly yes
    IdentityAgent none
    UserKnownHostsFile $SSH_DIR/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    UpdateHostKeys no
    BatchMode yes
    ControlMaster no
    ControlPath none
    ConnectTimeout 10
    ServerAliveInterval 5
    ServerAliveCountMax 3
    LogLevel ERROR
EOF
    # one login by hand, so that a failure here says so plainly
    timeout -k 5 30 ssh -F "$SSH_DIR/ssh_config" host1 true </dev/null 3>&- ||
        { echo "ssh -F $SSH_DIR/ssh_config host1 true: failed"; return 1; }
}

stop_sshd() {
    local i
    [ -n "${SSHD_PID:-}" ] || return 0
    pkill -TERM -P "$SSHD_PID" 2>/dev/null || true   # its connections, if any are left
    kill -TERM "$SSHD_PID" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$SSHD_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SSHD_PID" 2>/dev/null || true
    wait "$SSHD_PID" 2>/dev/null || true
    SSHD_PID=
}

teardown() {
    stop_sshd
    # on a failure, what sshd saw
    if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -s "${SSH_DIR:-/nonexistent}/sshd.log" ]; then
        echo "--- $SSH_DIR/sshd.log:"
        cat "$SSH_DIR/sshd.log"
    fi
    rm -rf "$TMP"
}

@test "the README's GNU parallel recipe on two local job slots writes what one pool -j 2 run writes" {
    make_photos
    recipe -j 2
    jobs_ok ":"
    diff -r one small
    # resumable: a lost output is written again, the rest are skipped
    rm small/a/b/chelsea.png "small/with space/it's 1.png"
    recipe -j 2
    jobs_ok ":"
    diff -r one small
}

@test "the README's GNU parallel recipe through --sshlogin to our own sshd on 127.0.0.1 writes what one pool -j 2 run writes" {
    make_photos
    start_sshd
    local before after
    before=$(grep -c "Starting session: command for" "$SSH_DIR/sshd.log" || true)
    # two hosts with two job slots each, as in the README; both are our sshd
    recipe --ssh "ssh -F $SSH_DIR/ssh_config" --sshlogin 2/host1,2/host2
    jobs_ok "host1 host2"
    diff -r one small
    # every job went through our sshd: one session with a command each, or more
    after=$(grep -c "Starting session: command for" "$SSH_DIR/sshd.log" || true)
    [ $((after - before)) -ge 8 ] ||
        { echo "sshd ran $((after - before)) commands for 8 jobs"; return 1; }
    # resumable over ssh too
    rm small/a/b/chelsea.png "small/with space/it's 1.png"
    recipe --ssh "ssh -F $SSH_DIR/ssh_config" --sshlogin 2/host1,2/host2
    jobs_ok "host1 host2"
    diff -r one small
}
