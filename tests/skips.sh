# The skip policy, shared by the bats helpers and the shell tests (POSIX sh, sourced).
# Under scripts/test (POOL_STRICT=1) and in CI (CI=true) a test may skip only for a reason
# that holds on every machine; any other skip (a missing package, photograph or tool) is a
# failure, so the suite cannot report green while parts of it did not run.

# The reasons that hold on every machine, as prefixes of the skip's reason.
skip_allowed() {
    case "$1" in
    "sanitizer build:"*) return 0 ;;   # valgrind cannot run a binary built with a sanitizer
    # a build configured --without-tiff or --without-webp (scripts/build configures the
    # others --with-tiff --with-webp, which fails when a library is missing)
    "built without TIFF"* | "built without WebP"*) return 0 ;;
    esac
    return 1
}

skips_strict() { [ -n "${POOL_STRICT:-}" ] || [ "${CI:-}" = true ]; }

# A TAP script that cannot run at all: says why in TAP, and exits.
skip_all() {
    if skips_strict && ! skip_allowed "$1"; then
        echo "1..1"
        echo "not ok 1 - cannot run: $1 (a skip is a failure under scripts/test and in CI)"
        exit 1
    fi
    echo "1..0 # SKIP $1"
    exit 0
}
