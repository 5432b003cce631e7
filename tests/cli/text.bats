#!/usr/bin/env bats
# Text output: txt and csv, one line per batch item; feature vectors of several images.

load helpers


@test "-f txt writes one line per batch item, values in C order" {
    mknpy a.npy 'np.arange(2*3*4*4, dtype=np.float32).reshape(2, 3, 4, 4)'
    run "$POOL" -m gmax -f txt a.npy
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[0]}" = "15 31 47" ]
    [ "${lines[1]}" = "63 79 95" ]
    "$POOL" -m avg -k 2 a.npy -o a.txt
    "$PY" -c 'import numpy as np; t = np.loadtxt("a.txt", dtype=np.float32); want = np.arange(96, dtype=np.float32).reshape(2,3,2,2,2,2).mean(axis=(3,5)).reshape(2, -1); assert (t == want).all()'
}

@test "floats are written so that they read back exactly" {
    mknpy a.npy 'np.random.default_rng(5).standard_normal((1, 64)).astype(np.float32)'
    "$POOL" -k 1 -f txt a.npy > a.txt
    "$PY" -c 'import numpy as np; assert (np.loadtxt("a.txt", dtype=np.float32) == np.load("a.npy")[0]).all()'
    mknpy d.npy 'np.random.default_rng(6).standard_normal((1, 64))'
    "$POOL" -k 1 -f txt d.npy > d.txt
    "$PY" -c 'import numpy as np; assert (np.loadtxt("d.txt") == np.load("d.npy")[0]).all()'
}

@test "gavg -f csv over several photographs: one row per image, values as NumPy" {
    cp "$DATA/astronaut.png" "$DATA/coffee.png" "$DATA/chelsea.png" .
    "$POOL" -P gavg -f csv astronaut.png coffee.png chelsea.png -o feat.csv
    "$PY" - <<'PY'
import csv, numpy as np
from PIL import Image
rows = list(csv.reader(open("feat.csv")))
assert rows[0] == ["file", "c0", "c1", "c2"], rows[0]
assert [r[0] for r in rows[1:]] == ["astronaut.png", "coffee.png", "chelsea.png"]
for r in rows[1:]:
    a = np.asarray(Image.open(r[0]).convert("RGB")).astype(np.int64)
    want = (2 * a.sum(axis=(0, 1)) + a.shape[0] * a.shape[1]) // (2 * a.shape[0] * a.shape[1])
    assert [int(v) for v in r[1:]] == want.tolist(), (r, want)
PY
}

@test "csv quotes odd file names; inputs of another shape are refused and left out" {
    mknpy 'a,"b".npy' 'np.arange(4, dtype=np.int16).reshape(1, 4)'
    mknpy c.npy 'np.arange(8, dtype=np.int16).reshape(2, 4)'
    "$POOL" -m gmax -f csv 'a,"b".npy' -o q.csv
    [ "$(tail -n 1 q.csv)" = '"a,""b"".npy",3' ]
    run "$POOL" -m max -k 1x2 -f csv 'a,"b".npy' c.npy -o m.csv
    [ "$status" -eq 1 ]
    [[ "${lines[0]}" == "pool: c.npy: this input gives 4 values per row, the table has 2 columns"* ]]
    [ "${lines[1]}" = "pool: 1 of 2 inputs in the table, 1 failed" ]
    [ "$(cat m.csv)" = "$(printf 'file,w0,w1\n"a,""b"".npy",1,3')" ]
}

@test "several inputs need an output that holds several" {
    mknpy a.npy 'np.zeros((4, 4), np.float32)'
    run "$POOL" -k 2 a.npy a.npy -o b.npy
    [ "$status" -eq 2 ]
    [[ "$output" == "pool: b.npy: several inputs go into one csv, txt, PNM or TIFF output"* ]]
    "$POOL" -k 2 -f txt a.npy a.npy > two.txt
    [ "$(wc -l < two.txt)" -eq 2 ]
}

@test "--flatten drops size-1 axes from .npy output" {
    mknpy a.npy 'np.arange(64*16, dtype=np.float32).reshape(1, 64, 4, 4)'
    "$POOL" -m gmax --flatten a.npy -o v.npy
    npy_equal v.npy 'np.arange(64*16, dtype=np.float32).reshape(64, 16).max(axis=1)'
    "$POOL" -m gmax a.npy -o k.npy
    run npy_show k.npy
    [ "$output" = "float32 (1, 64, 1, 1)" ]
    mknpy one.npy 'np.ones((1, 1, 2, 2), np.float32)'
    "$POOL" -m gavg --flatten one.npy -o s.npy
    npy_equal s.npy 'np.ones((1,), np.float32)'
}

@test "csv: a batch axis gives one row per item, labelled; --no-header leaves the header out" {
    mknpy n.npy 'np.random.default_rng(7).standard_normal((2, 3, 4, 4)).astype(np.float32)'
    mknpy m.npy 'np.random.default_rng(8).standard_normal((3, 3, 4, 4)).astype(np.float32)'
    "$POOL" -P gavg -f csv n.npy m.npy -o feat.csv
    "$PY" - <<'PY'
import csv, numpy as np, torch
rows = list(csv.reader(open("feat.csv")))
assert rows[0] == ["file", "item", "c0", "c1", "c2"], rows[0]
want = []
for name in ["n.npy", "m.npy"]:
    x = torch.from_numpy(np.load(name))
    g = torch.nn.functional.adaptive_avg_pool2d(x, 1).reshape(x.shape[0], -1).numpy()
    want += [(name, str(i), g[i]) for i in range(x.shape[0])]
assert len(rows) == 1 + len(want), rows
for r, (name, item, g) in zip(rows[1:], want):
    assert r[:2] == [name, item], (r, name, item)
    assert np.allclose(np.array(r[2:], np.float32), g, rtol=1e-6), (r, g)
PY
    "$POOL" -P gavg -f csv --no-header n.npy m.npy -o bare.csv
    [ "$(cat bare.csv)" = "$(tail -n +2 feat.csv)" ]
    # a first input without a batch axis makes a table without the column
    mknpy plain.npy 'np.ones((3, 4, 4), np.float32)'
    run "$POOL" -P gavg -f csv plain.npy n.npy -o mixed.csv
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "pool: n.npy: this input holds 2 batch items, and the table has no item column (its first input had no batch axis): pool them apart" ]
    [ "$(cat mixed.csv)" = "$(printf 'file,c0,c1,c2\nplain.npy,1,1,1')" ]
    run "$POOL" -P gavg -f txt --no-header n.npy
    [ "$status" -eq 2 ]
    [ "$output" = "pool: <stdout>: --no-header leaves out a csv table's header: only -f csv has one" ]
}

@test "csv items go on counting over the images of one input, and start again with the next" {
    mknpy b2.npy 'np.arange(2*1*4*4, dtype=np.float32).reshape(2, 1, 4, 4)'
    printf 'P5\n2 2\n255\n\001\002\003\004P5\n2 2\n255\n\005\006\007\010' > two.pgm
    "$POOL" -P gavg -f csv b2.npy two.pgm two.pgm -o items.csv
    [ "$(cut -d, -f1,2 items.csv | tr '\n' ' ')" = "file,item b2.npy,0 b2.npy,1 two.pgm,0 two.pgm,1 two.pgm,0 two.pgm,1 " ]
}

@test "a table whose first input fails after its header: the header and columns are the next input's" {
    mknpy wide.npy 'np.ones((2, 3, 4, 4), np.float32)'
    cp wide.npy cut.npy && truncate -s -4 cut.npy
    mknpy narrow.npy 'np.ones((2, 2, 4, 4), np.float32)'
    run "$POOL" -P gavg -f csv cut.npy narrow.npy -o t.csv
    [ "$status" -eq 1 ]
    [ "$(head -n 1 t.csv)" = "file,item,c0,c1" ]
    [ "$(wc -l < t.csv)" -eq 3 ]
}
