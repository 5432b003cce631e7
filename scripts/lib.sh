# Shared by the scripts: where things are, and how to install Debian packages idempotently.
# shellcheck shell=bash
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian's python3 has numpy and torch from Debian; a python3 earlier on PATH may not.
export ORACLE_PYTHON=${ORACLE_PYTHON:-/usr/bin/python3}

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the packages not yet installed; does nothing (and needs no network) when all are.
apt_ensure() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# libtiff-dev and libwebp-dev: the TIFF and WebP codecs, which ./configure leaves out when
# their library is missing (or with --without-tiff, --without-webp).
BUILD_PACKAGES=(build-essential autoconf automake pkg-config libpng-dev libjpeg-dev libexif-dev
    zlib1g-dev libtiff-dev libwebp-dev)
# parallel, openssh-server and openssh-client: tests/cli/remote.bats runs the README's GNU parallel
# recipe over ssh to its own sshd on a loopback port.
TEST_PACKAGES=(bats python3 python3-numpy python3-torch python3-pil python3-png python3-skimage valgrind parallel
    openssh-server openssh-client
    bash-completion clang-format  # tests/cli/completion.bats; make check-format
    imagemagick libvips-tools     # tests/cli/geometry.bats: --size and --edge beside the tools they follow
    libtiff-tools webp            # tests/oracle: TIFF and WebP inputs made by tiffcp and cwebp
    python3-tifffile              # tests/cli/tiff.bats: TIFFs Pillow cannot write, read without libtiff
    gdal-bin python3-gdal         # tests/cli/geotiff.bats: GeoTIFFs made and read by GDAL
    clang)                        # scripts/fuzz: libFuzzer and the sanitizers
