"""Oracle test: the selecting modes (mode, median, nearest) against a plain NumPy
reading of POOLING.md ("Label-safe modes"), and nearest against PyTorch's
interpolate(mode="nearest-exact") where the two agree.

Each case makes a random tensor of few distinct values (so windows have ties), pools it
with `pool` (from $POOL) and with the brute-force reference below, and compares exactly:
the same acceptance, shape, dtype and values. The reference walks every output and lists
its real taps per axis, as PyTorch's max pooling lays windows (stride, padding, dilation,
ceil mode) or adaptive pooling does (start floor(o L / O), end ceil((o + 1) L / O)). A
channels-last mode (hwc, nhwc) takes each pixel's channels as one value.
Prints TAP, one test a case.

usage: select_oracle.py [--cases N] [--seed S]
"""
import argparse
import itertools
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

POOL = os.environ.get("POOL", "pool")
# options for every pooling run: a crew of 2 threads whatever the processors (the
# *_portable.sh runs give -j 1)
POOL_ARGS = os.environ.get("POOL_ORACLE_ARGS", "-j 2").split()
LAYOUTS = {1: ["l", "cl", "ncl"], 2: ["hw", "chw", "nchw", "hwc", "nhwc"],
           3: ["dhw", "cdhw", "ncdhw"]}
DTYPES = ["uint8", "int8", "uint16", "int16", "int32", "uint32", "int64", "float32",
          "float64"]


def out_len(L, k, s, p, d, ceil):
    o = (L + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= L + p:
        o -= 1
    return o


def axis_windows(case, i, L):
    """Per output on spatial axis i: (real taps, centre tap)."""
    if case["adaptive"]:
        O = case["out"][i]
        wins = []
        for o in range(O):
            a, b = (o * L) // O, -((-(o + 1) * L) // O)
            wins.append((list(range(a, b)), a + (b - a) // 2))
        return wins
    k, s, p, d = case["k"][i], case["s"][i], case["p"][i], case["d"][i]
    O = out_len(L, k, s, p, d, case["ceil"])
    if O < 1:
        return None
    wins = []
    for o in range(O):
        a = o * s - p
        taps = [a + j * d for j in range(k) if 0 <= a + j * d < L]
        wins.append((taps, min(max(a + (k // 2) * d, 0), L - 1)))
    return wins


def choose(values, mode):
    """values: (n, width) array of one window; returns width values."""
    if len(values) == 0:
        return np.zeros(values.shape[1], values.dtype)
    if mode == "nearest":
        raise AssertionError
    if mode == "median":
        col = values[:, 0]
        if np.issubdtype(col.dtype, np.floating) and np.isnan(col).any():
            return np.array([np.nan], col.dtype)
        return np.sort(col)[[(len(col) - 1) // 2]]
    uniq, counts = np.unique(values, axis=0, return_counts=True)  # sorted ascending
    return uniq[np.argmax(counts)]  # the first of the most frequent: the smallest


def reference(x, case):
    layout, mode = case["layout"], case["mode"]
    spatial = [i for i, ch in enumerate(layout) if ch in "dhwl"]
    chan_last = layout.endswith("c") and len(layout) > 1 and layout[-2] in "dhwl"
    wins = []
    for j, ax in enumerate(spatial):
        w = axis_windows(case, j, x.shape[ax])
        if w is None:
            return None
        wins.append(w)
    # move spatial axes last (channels-last keeps c after them), the rest first
    lead = [i for i in range(x.ndim) if i not in spatial and not (chan_last and i == x.ndim - 1)]
    order = lead + spatial + ([x.ndim - 1] if chan_last else [])
    y = np.transpose(x, order)
    width = y.shape[-1] if chan_last else 1
    lead_shape = y.shape[:len(lead)]
    y = y.reshape((-1,) + y.shape[len(lead):])
    if not chan_last:
        y = y[..., None]
    out_shape = [len(w) for w in wins]
    out = np.zeros((y.shape[0], *out_shape, y.shape[-1]), x.dtype)
    for b in range(y.shape[0]):
        for o in itertools.product(*[range(n) for n in out_shape]):
            if mode == "nearest":
                centre = tuple(wins[j][o[j]][1] for j in range(len(o)))
                out[(b, *o)] = y[(b, *centre)]
                continue
            taps = list(itertools.product(*[wins[j][o[j]][0] for j in range(len(o))]))
            vals = np.array([y[(b, *t)] for t in taps]).reshape(len(taps), y.shape[-1])
            if mode == "mode" and chan_last:
                out[(b, *o)] = choose(vals, mode)
            else:
                for c in range(y.shape[-1]):
                    out[(b, *o, c)] = choose(vals[:, [c]], mode)[0]
    if not chan_last:
        out = out[..., 0]
    out = out.reshape(lead_shape + out.shape[1:])
    inverse = np.argsort(order)
    return np.transpose(out, inverse)


def size(v):
    return "x".join(str(x) for x in v)


def pool_args(case):
    args = ["-m", case["mode"]]
    if case["adaptive"]:
        return args + ["--output-size", size(case["out"])]
    args += ["-k", size(case["k"]), "-s", size(case["s"])]
    if any(case["p"]):
        args += ["-p", size(case["p"])]
    if any(x != 1 for x in case["d"]):
        args += ["-d", size(case["d"])]
    if case["ceil"]:
        args.append("--ceil")
    return args


def random_case(rng):
    n = int(rng.integers(1, 4))
    layout = str(rng.choice(LAYOUTS[n]))
    smax = {1: 40, 2: 15, 3: 7}[n]
    spatial = [int(rng.integers(1, smax)) for _ in range(n)]
    k = [int(rng.integers(1, 7 if n < 3 else 5)) for _ in range(n)]
    s = [int(rng.integers(1, 5)) for _ in range(n)] if rng.random() < 0.5 else list(k)
    p = [int(rng.integers(0, kk // 2 + 1)) for kk in k] if rng.random() < 0.4 else [0] * n
    d = [int(rng.integers(1, 4)) for _ in range(n)] if rng.random() < 0.3 else [1] * n
    c, batch = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    shape = [batch if ch == "n" else c if ch == "c" else spatial.pop(0) for ch in layout]
    return dict(layout=layout, mode=str(rng.choice(["mode", "median", "nearest"])),
                dtype=str(rng.choice(DTYPES)), shape=shape, k=k, s=s, p=p, d=d,
                ceil=bool(rng.random() < 0.4), adaptive=bool(rng.random() < 0.2),
                out=[int(rng.integers(1, smax + 2)) for _ in range(n)],
                levels=int(rng.choice([2, 3, 5, 50])), nan=bool(rng.random() < 0.15))


def make_input(case, rng):
    x = rng.integers(0, case["levels"], case["shape"]).astype(case["dtype"])
    if np.issubdtype(x.dtype, np.signedinteger):
        x -= case["levels"] // 2  # negative values too
    if case["nan"] and np.issubdtype(x.dtype, np.floating) and case["mode"] != "mode":
        x.flat[rng.integers(0, x.size)] = np.nan
    return x


def run_case(case, rng, tmp):
    x = make_input(case, rng)
    src, dst = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
    np.save(src, x)
    if os.path.exists(dst):
        os.unlink(dst)
    proc = subprocess.run([POOL, *POOL_ARGS, "-q", "--layout", case["layout"], *pool_args(case), src,
                           "-o", dst], capture_output=True, text=True)
    want = reference(x, case)
    if want is None:
        if proc.returncode not in (1, 2) or os.path.exists(dst):
            return f"no window fits, but pool exited {proc.returncode}"
        return None
    if proc.returncode != 0:
        return f"pool failed ({proc.stderr.strip()}), the reference gives {want.shape}"
    got = np.load(dst)
    if got.shape != want.shape or got.dtype != want.dtype:
        return f"got {got.shape} {got.dtype}, want {want.shape} {want.dtype}"
    if not np.array_equal(got, want, equal_nan=np.issubdtype(got.dtype, np.floating)):
        bad = np.argwhere(got != want)
        return f"{len(bad)} values differ, first at {tuple(bad[0])}"
    return None


def nearest_matches_torch(rng, tmp):
    """k = s and sizes that are multiples of k: interpolate(nearest-exact) at L / k."""
    fails = []
    for trial in range(40):
        k = int(rng.integers(1, 5))
        h, w = k * int(rng.integers(1, 8)), k * int(rng.integers(1, 8))
        x = rng.integers(0, 256, (2, 3, h, w)).astype(np.uint8)
        src, dst = os.path.join(tmp, "t.npy"), os.path.join(tmp, "t_out.npy")
        np.save(src, x)
        subprocess.run([POOL, *POOL_ARGS, "-q", "--layout", "nchw", "-m", "nearest", "-k", str(k), src,
                        "-o", dst], check=True)
        want = F.interpolate(torch.from_numpy(x).float(), size=(h // k, w // k),
                             mode="nearest-exact").numpy().astype(np.uint8)
        if not np.array_equal(np.load(dst), want):
            fails.append(f"k={k} {h}x{w}")
    return fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20261201)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    cases = [random_case(rng) for _ in range(args.cases)]
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(cases, 1):
            why = run_case(case, rng, tmp)
            name = f"{case['layout']} {case['shape']} {case['dtype']} {' '.join(pool_args(case))}"
            failed += why is not None
            print(f"not ok {i} - {name}: {why}" if why else f"ok {i} - {name}")
        fails = nearest_matches_torch(rng, tmp)
        failed += bool(fails)
        n = len(cases) + 1
        print(f"not ok {n} - nearest vs interpolate nearest-exact: {fails}" if fails else
              f"ok {n} - nearest equals interpolate(mode='nearest-exact') for k = s, L % k == 0")
    print(f"1..{len(cases) + 1}")
    print(f"# {len(cases) + 1 - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
