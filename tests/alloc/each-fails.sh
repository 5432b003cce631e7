#!/usr/bin/env bash
# each-fails.sh ARGS...: in the current folder (the inputs there), runs pool-failalloc
# ARGS clean in ref/, counting its allocations N, then once for every n in 1..N with the
# n-th allocation failing, in run/, and checks each run as tests/cli/alloc.bats says;
# under valgrind too for a sample of n (five spread over 1..N, and the last two), unless
# POOL_SANITIZED=yes. Prints "N allocations" and exits 0, or says what went wrong and exits
# 1. Needs FAILALLOC, the binary. A script of its own rather than bats functions: bats
# traces every command, which made a thousand runs several times slower.
set -u
shopt -s globstar dotglob nullglob

# The line every module says when memory runs out (src/core/error.h's pool_fail_resource):
# "pool: [SUBJECT: ]out of memory[ for ...]".
OOM_LINE='^pool: ((.+): )?out of memory( |$)'
SUMMARY='^pool: ([0-9]+) written, ([0-9]+) failed, '

# run_failing N DIR ARGS...: pool-failalloc ARGS in DIR (made afresh, beside the inputs),
# its N-th allocation failing (0: none); its status in rc, its stderr in DIR.err.
# VALGRIND=1: under valgrind (JSIMD_FORCENONE: see tests/cli/valgrind.bats).
run_failing() {
    local n=$1 dir=$2
    shift 2
    rm -rf "$dir" && mkdir "$dir"
    rc=0
    if [ -n "${VALGRIND:-}" ]; then
        (cd "$dir" && POOL_FAIL_ALLOC=$n JSIMD_FORCENONE=1 valgrind -q --leak-check=full \
            --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 \
            "$FAILALLOC" "$@" 2>"../$dir.err" >/dev/null) || rc=$?
    else
        (cd "$dir" && POOL_FAIL_ALLOC=$n "$FAILALLOC" "$@" 2>"../$dir.err" >/dev/null) || rc=$?
    fi
}

# files_in DIR: the files under DIR (hidden ones too), relative to it, into the array files.
files_in() {
    local f
    files=()
    for f in "$1"/**; do
        [ -f "$f" ] && files+=("${f#"$1"/}")
    done
}

# same_file A B: cmp, with --stats records' run times left out.
same_file() {
    case "$1" in
    *.jsonl) cmp -s <(sed 's/"seconds":[^,}]*//' "$1") <(sed 's/"seconds":[^,}]*//' "$2") ;;
    *) cmp -s "$1" "$2" ;;
    esac
}

# fail N WHY: says why the run with the N-th allocation failing is wrong, and its stderr.
fail() {
    echo "n=$1${VALGRIND:+ (under valgrind)}: $2"
    sed 's/^/    /' run.err
    return 1
}

# check_run N: run/ and run.err against ref/ and ref.err.
check_run() {
    local n=$1 line f oom=0 said=0 subject= written= failed= outputs=0
    [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || fail "$n" "status $rc" || return 1
    while IFS= read -r line; do
        if [[ "$line" != "pool: "* ]]; then
            fail "$n" "not pool's line: $line" || return 1
        elif [[ "$line" =~ $OOM_LINE ]]; then
            oom=$((oom + 1))
            subject=${BASH_REMATCH[2]}
        elif [[ "$line" =~ $SUMMARY ]]; then
            written=${BASH_REMATCH[1]}
            failed=${BASH_REMATCH[2]}
        elif [[ "$line" == *" warning: "* ]]; then
            : # (warnings may go unsaid when memory runs out)
        elif [ -z "${ref_said[$line]:-}" ]; then
            fail "$n" "a line the clean run did not say: $line" || return 1
        else
            said=$((said + 1))
        fi
    done < run.err
    # Out of memory says so, once; any other outcome is the clean run's.
    if [ "$oom" -gt 1 ] || { [ "$oom" -eq 1 ] && [ "$rc" -ne 1 ]; } ||
        { [ "$oom" -eq 0 ] && [ "$rc" -ne "$ref_rc" ]; }; then
        fail "$n" "status $rc, $oom lines saying out of memory" || return 1
    fi
    # No partial output, no temp file: what is there is the clean run's, byte for byte.
    files_in run
    for f in "${files[@]}"; do
        [ -f "ref/$f" ] || fail "$n" "$f is not the clean run's (a temp file?)" || return 1
        same_file "run/$f" "ref/$f" || fail "$n" "$f differs from the clean run's" || return 1
        [[ "$f" == *.jsonl ]] || outputs=$((outputs + 1))
    done
    if [ "$oom" -eq 0 ] && [ "${files[*]}" != "${ref_files[*]}" ]; then
        fail "$n" "no failure said, and the files are ${files[*]}" || return 1
    fi
    # A batch counts the files and the failures said; a failure in one input's work loses
    # that input alone (a folder's names lose the inputs in it).
    [ -n "$written" ] || return 0
    if [ "$written" -ne "$outputs" ] || [ "$failed" -ne $((oom + said)) ]; then
        fail "$n" "the summary does not count the $outputs outputs and the failures said"
        return 1
    fi
    if [ "$oom" -eq 1 ] && [ -n "$subject" ] && [ ! -d "run/$subject" ] &&
        [ $((written + failed)) -ne "$ref_inputs" ]; then
        fail "$n" "one input's failure took others with it" || return 1
    fi
}

POOL_COUNT_ALLOC=$PWD/count run_failing 0 ref "$@"
ref_rc=$rc
if [ "$ref_rc" -gt 1 ] || [ ! -s count ]; then
    echo "the clean run failed (status $ref_rc) or did not count:"
    cat ref.err
    exit 1
fi
declare -A ref_said
ref_inputs=0
while IFS= read -r line; do
    ref_said[$line]=1
    if [[ "$line" =~ $SUMMARY ]]; then
        ref_inputs=$((BASH_REMATCH[1] + BASH_REMATCH[2]))
    fi
done < ref.err
files_in ref
ref_files=("${files[@]}")
N=$(cat count)
# (every run allocates more than this: fewer means the --wrap link no longer counts)
[ "$N" -ge 20 ] || { echo "only $N allocations counted: is failalloc.c linked with --wrap?"; exit 1; }
for n in $(seq 1 "$N"); do
    run_failing "$n" run "$@"
    check_run "$n" || exit 1
done
if [ "${POOL_SANITIZED:-no}" != yes ] && command -v valgrind >/dev/null; then
    for n in $(seq 1 $(((N + 4) / 5)) "$N") $((N - 1)) "$N"; do
        VALGRIND=1 run_failing "$n" run "$@"
        check_run "$n" || exit 1
    done
fi
echo "$N allocations"
