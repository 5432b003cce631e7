#!/bin/sh
# The C sources are as .clang-format has them (make format changes nothing): one TAP test
# per file, naming the first lines clang-format would change.
# Needs clang-format (Debian clang-format, which scripts/ installs); skips without it,
# except under scripts/test and in CI, where that fails (tests/skips.sh).
set -eu
top=${TESTS_DIR:-$(dirname "$0")}/..
if ! command -v clang-format >/dev/null; then
    . "$top/tests/skips.sh"
    skip_all "format_check: no clang-format"
fi
cd "$top"
set -- src/*/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] tests/alloc/*.[ch]
echo "1..$#"
n=0
for f in "$@"; do
    n=$((n + 1))
    if out=$(clang-format --dry-run --Werror "$f" 2>&1); then
        echo "ok $n $f"
    else
        echo "not ok $n $f (make format fixes it)"
        printf '%s\n' "$out" | head -n 12 | sed 's/^/# /'
    fi
done
