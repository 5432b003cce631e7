#!/usr/bin/env bats
# --plan and the warnings about pooling that throws detail away.

load helpers

@test "--plan and --contact-sheet take their argument first, not the next option" {
    run "$POOL" --plan -k 2 a.png
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --plan -k: --plan takes a SHAPE or a FILE first (--plan a.png -k 2)" ]
    run "$POOL" -k 2 --contact-sheet -o out.png a.png
    [ "$status" -eq 2 ]
    [ "$output" = "pool: --contact-sheet -o: give the sheet's file name first (--contact-sheet sheet.png)" ]
    [ ! -e -o ] && [ ! -e out.png ]
    # an image's size read as chw: the hint names the layout
    run "$POOL" --plan 4000x3000x3 -k 8
    [ "$status" -eq 1 ]
    [[ "$output" == *"axis W: the kernel 8 is larger than the input 3"*"; if the last axis holds channels, give --layout hwc"* ]]
}

@test "--plan prints each pass's shape, stride, receptive field and coverage" {
    run "$POOL" --plan 3x224x224 -P max:3,s=2,p=1 -P avg:2
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "pass  mode    output                   stride         field          coverage" ]
    [[ "${lines[1]}" == "in            3x224x224 (CHW) "* ]]
    [[ "${lines[2]}" =~ ^1\ +max\ +3x112x112\ \(CHW\)\ +2\ +3\ +100\.0%$ ]]
    [[ "${lines[3]}" =~ ^2\ +avg\ +3x56x56\ \(CHW\)\ +4\ +5\ +100\.0%$ ]]
}

@test "--plan gives an image's size as WIDTHxHEIGHT, a tensor's in its layout, labelled" {
    "$PY" -c 'import numpy as np; np.save("t.npy", np.zeros((1, 3, 8, 6), np.float32))'
    printf 'P5\n300 200\n255\n' > wide.pgm
    head -c 60000 /dev/zero >> wide.pgm
    run "$POOL" --plan wide.pgm -k 2
    [ "$status" -eq 0 ]
    [[ "${lines[1]}" =~ ^in\ +300x200\ *$ ]]
    [[ "${lines[2]}" =~ ^1\ +max\ +150x100\ +2\ +2\ +100\.0%$ ]]
    run "$POOL" --plan t.npy -k 2
    [[ "${lines[1]}" =~ ^in\ +1x3x8x6\ \(NCHW\)\ *$ ]]
    run "$POOL" --plan t.npy --layout nchw -k 3x2 -s 1
    [[ "${lines[2]}" =~ ^1\ +max\ +1x3x6x5\ \(NCHW\)\ +1\ +3x2\ \(HxW\)\ +100\.0%$ ]]
    # an image with --layout is a tensor: its axes in their order
    run "$POOL" --plan wide.pgm --layout hw -k 2
    [[ "${lines[1]}" =~ ^in\ +200x300\ \(HW\)\ *$ ]]
}

@test "kernel and stride sizes name their axes unless they agree" {
    run "$POOL" --plan 1x3x8x6 -P max:2,s=3x2
    [ "$status" -eq 0 ]
    [[ "$output" == *"pool: 1x3x8x6: warning: pass 1 (max): stride 3x2 (HxW) > kernel 2: 25% of input elements are never read"* ]]
    run "$POOL" -q --plan 1x3x8x6 -P max:2,s=3x2
    [[ "${lines[2]}" =~ ^1\ +max\ +1x3x3x3\ \(NCHW\)\ +3x2\ \(HxW\)\ +2\ +75\.0%$ ]]
    run "$POOL" --plan 2x8x8x8 --layout cdhw -k 2x1x1 -s 3
    [[ "$output" == *"stride 3 > kernel 2x1x1 (DxHxW)"* ]]
}

@test "--plan plans every input, one table each headed by its name" {
    bats_require_minimum_version 1.5.0
    mknpy a.npy 'np.zeros((4, 6), np.float32)'
    mknpy b.npy 'np.zeros((1, 2, 10, 8), np.float32)'
    mkdir d && mknpy d/c.npy 'np.zeros((1, 1, 4, 4), np.float32)'
    run --separate-stderr "$POOL" -k 2 --plan a.npy b.npy nope.npy -R d
    [ "$status" -eq 1 ]
    [ "$stderr" = "pool: nope.npy: cannot open: No such file or directory" ]
    [ "${lines[0]}" = "a.npy:" ]
    [[ "${lines[3]}" =~ ^1\ +max\ +2x3\ \(HW\)\  ]]
    [ "${lines[4]}" = "b.npy:" ]
    [[ "${lines[7]}" =~ ^1\ +max\ +1x2x5x4\ \(NCHW\)\  ]]
    [ "${lines[8]}" = "d/c.npy:" ]
    [[ "${lines[11]}" =~ ^1\ +max\ +1x1x2x2\ \(NCHW\)\  ]]
    # tables are set apart by a blank line (which bats's lines leave out)
    [[ "$output" == *"100.0%"$'\n\n'"b.npy:"* ]]
    # a SHAPE and --files-from inputs; one input alone has no heading
    printf 'b.npy\n' > list
    run "$POOL" -k 2 --plan 1x4x4 --files-from list
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "1x4x4:" ]
    [ "${lines[4]}" = "b.npy:" ]
    run "$POOL" -k 2 --plan b.npy
    [[ "${lines[0]}" == "pass "* ]]
}

@test "--plan output shapes match PyTorch for a stack of passes" {
    "$PY" -c 'import torch' 2>/dev/null || skip "no torch"
    run "$POOL" --plan 2x3x37x53 -P max:3,s=2,p=1,ceil -P avg:3,s=2,p=1 -P lp:2,norm=2 -P max,out=5x7 -P gavg
    [ "$status" -eq 0 ]
    got=$(printf '%s\n' "${lines[@]:2}" | awk '{print $3}' | tr '\n' ' ')
    want=$("$PY" -c '
import torch, torch.nn.functional as F
x = torch.zeros(2, 3, 37, 53)
shapes = []
for f in (lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), lambda t: F.avg_pool2d(t, 3, 2, 1),
          lambda t: F.lp_pool2d(t, 2, 2), lambda t: F.adaptive_max_pool2d(t, (5, 7)),
          lambda t: F.adaptive_avg_pool2d(t, 1)):
    x = f(x); shapes.append("x".join(map(str, x.shape)))
print(" ".join(shapes), end=" ")')
    [ "$got" = "$want" ] || { echo "got $got, want $want"; false; }
}

@test "--plan reads only a file's header" {
    mknpy a.npy 'np.zeros((1, 4, 64, 48), np.float32)'
    run "$POOL" --plan a.npy -k 2
    [ "$status" -eq 0 ]
    [[ "${lines[2]}" =~ ^1\ +max\ +1x4x32x24\  ]]
    # from a pipe that carries the header alone: the data is never asked for
    run bash -c 'head -c 128 a.npy | "$0" --plan - -k 2' "$POOL"
    [ "$status" -eq 0 ]
    [[ "${lines[2]}" =~ ^1\ +max\ +1x4x32x24\  ]]
}

@test "a stride past the kernel warns how much input is never read" {
    run "$POOL" --plan 1x8x8 -k 2 -s 3
    [ "$status" -eq 0 ]
    [[ "$output" == *"pool: 1x8x8: warning: pass 1 (max): stride 3 > kernel 2: 44% of input elements are never read"* ]]
    run "$POOL" --plan 1x9x9 -k 3 -s 3
    [[ "$output" != *warning* ]]
    run "$POOL" -q --plan 1x8x8 -k 2 -s 3
    [[ "$output" != *warning* ]]
}

@test "an axis collapsing before the last pass warns; a window past the padded input warns" {
    run "$POOL" --plan 3x4x4 -P max:2 -P max:2 -P avg:1
    [[ "$output" == *"pass 2 (max): axis H collapses to 1 element before the last pass"* ]]
    run "$POOL" --plan 3x4x4 -P max:2 -P max:2
    [[ "$output" != *collapses* ]]
    run "$POOL" --plan 5 -m avg -k 6 -s 6 --ceil
    [ "$status" -eq 0 ]
    [[ "$output" == *"the window 6 is larger than the padded input 5 on axis L"* ]]
}

@test "warnings come once per real run too, and -q silences them" {
    mknpy a.npy 'np.zeros((8, 8), np.float32)'
    run "$POOL" -k 2 -s 3 a.npy -o b.npy
    [ "$status" -eq 0 ]
    [ "$output" = "pool: a.npy: warning: pass 1 (max): stride 3 > kernel 2: 44% of input elements are never read" ]
    run "$POOL" -q -k 2 -s 3 a.npy -o b.npy
    [ -z "$output" ]
}

@test "--plan refuses what the passes would refuse" {
    run "$POOL" --plan 3x4x4 -k 5
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: 3x4x4: pass 1 (max): axis H: the kernel 5 is larger than the input 4"* ]]
    run "$POOL" --plan nope.npy -k 2
    [ "$status" -eq 1 ]
    [[ "$output" == "pool: nope.npy: cannot open"* ]]
}

@test "--plan lays out an image saved as .npy as the run does (hwc)" {
    mknpy img.npy 'np.zeros((29, 37, 4), np.uint8)'
    run "$POOL" --plan img.npy -k 2
    [ "$status" -eq 0 ]
    [[ "${lines[2]}" =~ ^1\ +max\ +14x18x4\  ]]
    "$POOL" -k 2 img.npy -o out.npy
    [ "$(npy_show out.npy)" = "uint8 (14, 18, 4)" ]
}
