#!/usr/bin/env bats
# Bash completion (completion/bash/pool): options, the values of options that take a
# fixed set, files and folders; in a plain bash and with bash-completion loaded.

load helpers

SCRIPT=$BATS_TEST_DIRNAME/../../completion/bash/pool
BASH_COMPLETION=/usr/share/bash-completion/bash_completion   # Debian's bash-completion

# comp WITH LINE: the completions of the last word of LINE (as typed, e.g. "pool -m "),
# one a line, sorted; in a fresh bash with bash-completion loaded (WITH=full) or without
# it (WITH=plain). Words split as bash splits them: at blanks, and around '='.
comp() {
    bash --norc --noprofile -c '
        set -f
        if [ "$1" = full ]; then
            . "$3" || exit 1
            declare -F _init_completion >/dev/null || exit 1
        fi
        . "$2"
        words=() held=
        for w in $4; do
            w=$held$w held=
            if [[ $w == *\\ ]]; then held="$w "    # an escaped blank: one word
            elif [[ $w == *=* ]]; then words+=("${w%%=*}" =) && [ -n "${w#*=}" ] && words+=("${w#*=}")
            else words+=("$w"); fi
        done
        [[ $4 == *" " ]] && words+=("")
        COMP_WORDS=("${words[@]}")
        COMP_CWORD=$((${#words[@]} - 1))
        COMP_LINE=$4
        COMP_POINT=${#4}
        _pool
        printf "%s\n" "${COMPREPLY[@]}"
    ' comp "$1" "$SCRIPT" "$BASH_COMPLETION" "$2" | sed '/^$/d' | LC_ALL=C sort
}

# typed WITH KEYS: types KEYS (tabs included) into an interactive bash on a terminal, then
# the line as completed runs with pool replaced by a function that writes its words, one a
# line, to ./words. WITH=full: bash-completion finds the script by the command's name in
# its completions folder, as once installed; WITH=plain: a bash that sources the script.
typed() {
    mkdir -p share/bash-completion/completions
    ln -sf "$SCRIPT" share/bash-completion/completions/pool
    rm -f words
    local load=". '$SCRIPT'"
    [ "$1" = full ] && load="BASH_COMPLETION_USER_DIR='$PWD/share/bash-completion' && . '$BASH_COMPLETION'"
    "$PY" - "$load; pool() { printf '%s\\n' pool \"\$@\" >words; }" "$2" <<'PY'
import os, pty, select, sys, time
setup, keys = sys.argv[1], sys.argv[2]
env = dict(os.environ, TERM="dumb", INPUTRC="/dev/null", HISTFILE="/dev/null", PS1="$ ")
pid, fd = pty.fork()
if pid == 0:
    os.execvpe("bash", ["bash", "--norc", "--noprofile", "-i"], env)
os.write(fd, (setup + "\n" + keys + "\n" + "exit\n").encode())
deadline = time.time() + 20
while time.time() < deadline:  # drain until bash exits
    if select.select([fd], [], [], 1)[0]:
        try:
            if not os.read(fd, 4096):
                break
        except OSError:
            break
else:
    os.kill(pid, 9)
os.waitpid(pid, 0)
PY
    [ -f words ] || { echo "bash $1: typing '$2' ran nothing"; return 1; }
}

# ran WITH WORD...: the line typed last ran with exactly these words.
ran() {
    local with=$1
    shift
    [ "$(cat words)" = "$(printf '%s\n' "$@")" ] || {
        printf 'bash %s ran:\n%s\nwant:\n%s\n' "$with" "$(cat words)" "$(printf '%s\n' "$@")"
        return 1
    }
}

# expect LINE WORD...: LINE completes to exactly these words, in both bashes.
expect() {
    local line=$1 with got want
    shift
    want=$(printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort)
    for with in plain full; do
        got=$(comp "$with" "$line")
        [ "$got" = "$want" ] || {
            printf 'bash %s, "%s" completes to:\n%s\nwant:\n%s\n' "$with" "$line" "$got" "$want"
            return 1
        }
    done
}

setup() {
    TMP=$(mktemp -d)
    cd "$TMP" || return 1
    [ -f "$BASH_COMPLETION" ] || skip "no bash-completion (the Debian package)"
    mkdir photos sheets
    touch feat.npy photo.png list.txt
}

@test "completion: an option from its start" {
    expect "pool --mo" --mode
    expect "pool --stats" --stats --stats-format
    expect "pool --no-p" --no-premultiply
    expect "pool --prog" --progress --progressive
    expect "pool -O" -O
}

@test "completion: -m and --mode offer the modes, -P the modes a pass starts with" {
    expect "pool -m " max avg min lp mode median nearest fmax gmax gavg gmin
    expect "pool -k 2 --mode g" gmax gavg gmin
    expect "pool --mode=" max avg min lp mode median nearest fmax gmax gavg gmin
    expect "pool --mode=a" avg
    expect "pool -P " max avg min lp mode median nearest fmax gmax gavg gmin
}

@test "completion: formats, element types, layouts and stats formats" {
    expect "pool -f " png jpeg pnm tiff webp npy raw txt csv
    expect "pool --format=p" png pnm
    expect "pool --dtype " u8 i8 u16 i16 u32 i32 u64 i64 f16 f32 f64
    expect "pool --dtype f" f16 f32 f64
    expect "pool --layout n" ncl nchw nhwc ncdhw
    expect "pool --stats-format " json text
    expect "pool --palette " index expand
    expect "pool --edge " floor ceil partial replicate
}

@test "completion: inputs and -o complete file names" {
    expect "pool -k 2 fe" feat.npy
    expect "pool -k 2 p" photo.png photos
    expect "pool -k 2 feat.npy -o ph" photo.png photos
    expect "pool --files-from l" list.txt
    expect "pool --contact-sheet=ph" photo.png photos
}

@test "completion: on a terminal, a name is completed and quoted" {
    mkdir "with space"
    touch "with space/a b.npy"
    for with in plain full; do
        typed "$with" 'pool -m av	-k 2 fe	-o with\ sp	a	'
        ran "$with" pool -m avg -k 2 feat.npy -o "with space/a b.npy"
        typed "$with" 'pool --mo	max --stats-format=te	-O wi	'
        ran "$with" pool --mode max --stats-format=text -O "with space/"
    done
}

@test "completion: -O, --outdir and --save-passes complete folders only" {
    expect "pool -O " photos sheets
    expect "pool --outdir p" photos
    expect "pool --save-passes=s" sheets
    expect "pool -O f"
}

@test "completion: nothing after an option that takes a number or a size" {
    for opt in -k --kernel -s -p -d --norm --output-size -r --shape --png-level --quality \
        --max-pixels --warn-psnr -j --jobs --shard; do
        expect "pool $opt "
        expect "pool $opt f"
    done
    expect "pool --kernel=f"
}

@test "completion: --stats=... offers files and shift; flags are followed by inputs" {
    expect "pool --stats=sh" shift sheets
    expect "pool --stats=fe" feat.npy
    expect "pool --ceil fe" feat.npy
    expect "pool -R ph" photo.png photos
}

# The lists cannot rot: every option pool --help shows is completed, and no other.
@test "completion: the options are exactly those of pool --help" {
    run "$POOL" --help
    [ "$status" -eq 0 ]
    # The option column: "  -m, --mode MODE", "      --ceil", "      --stats[=FILE]".
    help_long=$(sed -n 's/^ *\(-[^-], \)\{0,1\}\(--[a-z0-9-]*\).*/\2/p' <<<"$output" | LC_ALL=C sort -u)
    help_short=$(sed -n 's/^ *\(-[^-]\), --.*/\1/p' <<<"$output" | LC_ALL=C sort -u)
    [ "$(wc -l <<<"$help_long")" -ge 40 ]
    [ "$(wc -l <<<"$help_short")" -ge 10 ]
    for with in plain full; do
        long=$(comp "$with" "pool --")
        short=$(comp "$with" "pool -" | grep -v '^--')
        [ "$long" = "$help_long" ] || {
            echo "bash $with: --help and the completion differ:"
            diff <(echo "$help_long") <(echo "$long")
            return 1
        }
        [ "$short" = "$help_short" ] || {
            echo "bash $with: --help and the completion differ:"
            diff <(echo "$help_short") <(echo "$short")
            return 1
        }
    done
}
