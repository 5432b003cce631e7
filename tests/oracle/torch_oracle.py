"""Oracle test: pool against PyTorch on random configurations.

Each case makes a random tensor, pools it with `pool` (from $POOL) and with
torch.nn.functional, and compares: the same acceptance (both succeed or both
refuse), the same shape and dtype, max/min exactly (NaN where PyTorch has NaN),
averages and Lp to the element type's rounding of PyTorch's float64 result (relative
1e-6 for float32, 1e-12 for float64). A refusal must be a clean exit (1 or 2) with one
"pool: " message. Prints TAP, one test a case.

usage: torch_oracle.py [--cases N] [--seed S]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
POOL = os.environ.get("POOL", "pool")
# options for every pooling run: a crew of 2 threads whatever the processors (the
# *_portable.sh runs give -j 1)
POOL_ARGS = os.environ.get("POOL_ORACLE_ARGS", "-j 2").split()
# Averages' relative tolerance per element type: its rounding, with room for the order of
# a float64 sum.
RTOL = {"float32": 1e-6, "float64": 1e-12}

LAYOUTS = {1: ["l", "cl", "ncl"], 2: ["hw", "chw", "nchw", "hwc", "nhwc"],
           3: ["dhw", "cdhw", "ncdhw"]}


def to_ncx(x, layout):
    """numpy array in `layout` -> torch tensor N, C, spatial..."""
    t = torch.from_numpy(np.ascontiguousarray(x))
    if layout.endswith("c"):            # hwc, nhwc: move channels first
        t = t.movedim(-1, -3)
    while t.dim() < 2 + (len(layout) - sum(ch in "nc" for ch in layout)):
        t = t.unsqueeze(0)
    return t


def from_ncx(t, layout):
    """inverse of to_ncx: N, C, spatial... -> the layout's axes"""
    nspatial = sum(ch in "dhwl" for ch in layout)
    if "n" not in layout:
        t = t.squeeze(0)
    if "c" not in layout:
        t = t.squeeze(0)
    if layout.endswith("c"):
        t = t.movedim(-nspatial - 1, -1)
    return t.numpy()


def torch_pool(t, case):
    n = case["ndim"]
    mode, k, s, p, d = case["mode"], case["k"], case["s"], case["p"], case["d"]
    ceil = case["ceil"]
    if mode in ("max", "min"):
        fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
        sign = -1 if mode == "min" else 1
        return sign * fn(sign * t, k, s, p, d, ceil_mode=ceil)
    if mode == "avg":
        # None: the argument left out, PyTorch's default (True)
        cip = case["cip"] is not False
        div = case.get("div")
        if n == 1 and div:  # avg_pool1d has no divisor_override: the same as 2-D, height 1
            return F.avg_pool2d(t.unsqueeze(-2), [1] + k, [1] + s, [0] + p, ceil, cip,
                                div).squeeze(-2)
        fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[n]
        extra = {"divisor_override": div} if div else {}
        return fn(t, k, s, p, ceil_mode=ceil, count_include_pad=cip, **extra)
    if mode == "lp":
        P = case["norm"]
        if n == 1:
            return F.lp_pool1d(t, P, k[0], s[0], ceil)
        if n == 2:
            return F.lp_pool2d(t, P, k, s, ceil)
        # torch 1.13 has no lp_pool3d: its lp_pool2d formula, one axis more
        out = F.avg_pool3d(t.pow(P), k, s, 0, ceil)
        return (torch.sign(out) * F.relu(torch.abs(out))).mul(k[0] * k[1] * k[2]).pow(1.0 / P)
    if mode == "fmax":
        return torch_fractional(t, case)[0]
    if mode in ("adaptive_max", "adaptive_min", "gmax", "gmin"):
        fn = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}[n]
        sign = -1 if mode.endswith("min") else 1
        out = case["out"] if mode.startswith("adaptive") else [1] * n
        return sign * fn(sign * t, out)
    if mode in ("adaptive_avg", "gavg"):
        fn = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}[n]
        out = case["out"] if mode == "adaptive_avg" else [1] * n
        return fn(t, out)
    raise ValueError(mode)


def torch_fractional(t, case):
    """fractional_max_pool2d/3d with the case's _random_samples (N, C, ndim)."""
    fn = F.fractional_max_pool2d if case["ndim"] == 2 else F.fractional_max_pool3d
    size = dict(output_ratio=case["ratio"]) if case["ratio"] else dict(output_size=case["out"])
    samples = torch.from_numpy(case["samples"].astype(t.numpy().dtype))
    return fn(t, case["k"], return_indices=True, _random_samples=samples, **size)


def torch_indices(t, case):
    """return_indices=True of max (and min, as -max(-x)), windowed, adaptive or global."""
    n, mode = case["ndim"], case["mode"]
    if mode == "fmax":
        return torch_fractional(t, case)[1]
    sign = -1 if mode.endswith("min") else 1
    if mode in ("max", "min"):
        fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
        return fn(sign * t, case["k"], case["s"], case["p"], case["d"], ceil_mode=case["ceil"],
                  return_indices=True)[1]
    fn = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}[n]
    out = case["out"] if mode.startswith("adaptive") else [1] * n
    return fn(sign * t, out, return_indices=True)[1]


def size(v):
    return "x".join(str(x) for x in v)


def pool_args(case):
    mode = case["mode"]
    if mode in ("gmax", "gavg", "gmin"):
        return ["-m", mode]
    if mode.startswith("adaptive"):
        return ["-m", mode.split("_")[1], "--output-size", size(case["out"])]
    if mode == "fmax":
        return ["-m", "fmax", "-k", size(case["k"])] + (
            ["--ratio", "x".join(repr(r) for r in case["ratio"])] if case["ratio"] else
            ["--output-size", size(case["out"])])
    args = ["-m", mode, "-k", size(case["k"]), "-s", size(case["s"])]
    if mode in ("max", "min", "avg") and any(case["p"]):
        args += ["-p", size(case["p"])]
    if mode in ("max", "min") and any(x != 1 for x in case["d"]):
        args += ["-d", size(case["d"])]
    if case["ceil"]:
        args.append("--ceil")
    if mode == "avg" and case["cip"] is not None:
        args.append("--count-include-pad" if case["cip"] else "--no-count-include-pad")
    if mode == "avg" and case.get("div"):
        args += ["--divisor", str(case["div"])]
    if mode == "lp":
        args += ["--norm", repr(case["norm"])]
    return args


def random_case(rng):
    n = int(rng.integers(1, 4))
    layout = str(rng.choice(LAYOUTS[n]))
    mode = str(rng.choice(["max", "min", "avg", "lp", "adaptive_max", "adaptive_avg",
                           "adaptive_min", "gmax", "gavg", "gmin", "fmax"],
                          p=[.18, .1, .23, .11, .07, .07, .03, .05, .05, .05, .06]))
    if mode == "fmax" and n == 1:     # PyTorch's fractional max pooling is 2-D and 3-D
        n, layout = 2, str(rng.choice(LAYOUTS[2]))
    dtype = str(rng.choice(["float32", "float64"]))
    smax = {1: 40, 2: 14, 3: 7}[n]
    spatial = [int(rng.integers(1, smax)) for _ in range(n)]
    k = [int(rng.integers(1, 5)) for _ in range(n)]
    if rng.random() < 0.3:
        k = [k[0]] * n
    s = [int(rng.integers(1, 5)) for _ in range(n)] if rng.random() < 0.6 else list(k)
    p = [int(rng.integers(0, kk // 2 + 1)) for kk in k] if rng.random() < 0.5 else [0] * n
    d = [int(rng.integers(1, 4)) for _ in range(n)] if mode in ("max", "min") and \
        rng.random() < 0.3 else [1] * n
    if mode == "lp":
        p = [0] * n
    # now and then, a padding over half the kernel: both must refuse
    if mode in ("max", "avg") and rng.random() < 0.03:
        p = [kk // 2 + 1 for kk in k]
    out = [int(rng.integers(1, smax + 3)) for _ in range(n)]
    if mode == "fmax":  # mostly sizes the windows fit (O + k - 1 <= L), now and then not
        k = [min(kk, 3) for kk in k]
        out = [int(rng.integers(1, max(2, sp - kk + 2))) for sp, kk in zip(spatial, k)]
    c = int(rng.integers(1, 4))
    batch = int(rng.integers(1, 3))
    shape = []
    for ch in layout:
        shape.append(batch if ch == "n" else c if ch == "c" else spatial.pop(0))
    return dict(ndim=n, layout=layout, mode=mode, dtype=dtype, shape=shape, k=k, s=s, p=p,
                d=d, ceil=bool(rng.random() < 0.4), cip=[None, True, False][rng.integers(0, 3)],
                div=int(rng.integers(1, 12)) if rng.random() < 0.2 else None,
                norm=float(rng.choice([1.0, 2.0, 3.0, 1.5])), out=out,
                nan=bool(rng.random() < 0.1 and mode != "lp"),
                indices=bool(mode in EXTREMES and rng.random() < 0.5),
                ratio=[float(rng.uniform(0.25, 0.75)) for _ in range(n)]
                if mode == "fmax" and rng.random() < 0.5 else None)


def make_input(case, rng):
    x = rng.standard_normal(case["shape"]).astype(case["dtype"])
    if case["mode"] == "lp" and case["norm"] == 1.5:
        # x^1.5 of a negative is NaN in both; keep most such cases meaningful
        x = np.abs(x) + np.asarray(0.1, dtype=x.dtype)
    if case.get("indices"):
        # ties, signed zeros and infinities, where "which one" matters
        x = np.round(x * 1.5).astype(x.dtype)
        x[rng.random(x.shape) < 0.1] = -0.0
        x[rng.random(x.shape) < 0.03] = -np.inf
        x[rng.random(x.shape) < 0.03] = np.inf
        if case["nan"]:     # several NaN in a window: PyTorch points at the last
            x[rng.random(x.shape) < 0.08] = np.nan
    if case["nan"]:
        x.flat[rng.integers(0, x.size)] = np.nan
    return x


EXTREMES = ("max", "min", "adaptive_max", "adaptive_min", "gmax", "gmin", "fmax")


def compare_indices(got, want_t, case):
    want = from_ncx(want_t, case["layout"])
    if got.dtype != np.int64 or got.shape != want.shape:
        return f"indices {got.dtype} {got.shape}, PyTorch int64 {want.shape}"
    if not np.array_equal(got, want):
        bad = np.argwhere(got != want)
        return (f"indices differ at {len(bad)} places, first {tuple(bad[0])}: "
                f"{got[tuple(bad[0])]} vs {want[tuple(bad[0])]}")
    return None


def check_unpool(case, x, values, idx, t_values, t_idx, tmp):
    """pool unpool of pool's values and indices back to the input's size equals PyTorch's
    max_unpool of its own (a scatter: for min's indices as well). max_unpool checks the size
    against its kernel, stride and padding; where it refuses (adaptive passes, some padded
    or ceil-mode ones) the reference is NumPy's scatter of PyTorch's values."""
    n = case["ndim"]
    spatial = [x.shape[i] for i, ch in enumerate(case["layout"]) if ch in "dhwl"]
    un = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}[n]
    out = os.path.join(tmp, "unpooled.npy")
    cmd = [POOL, "unpool", "--layout", case["layout"], "--indices", idx, "--output-size",
           size(spatial), values, "-o", out]
    if os.path.exists(out):
        os.unlink(out)
    if t_idx.numel() and int(t_idx.max()) >= int(np.prod(spatial)):
        # a window of padding only points past the plane: max_unpool refuses, and so must pool
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 1 or not proc.stderr.startswith("pool: ") or os.path.exists(out):
            return f"pool unpool took an index past the plane: {proc.returncode} {proc.stderr!r}"
        return None
    try:
        if case["mode"] not in ("max", "min"):
            raise ValueError("adaptive")
        t_out = un(t_values, t_idx, case["k"], case["s"], case["p"], output_size=spatial)
    except ValueError:
        v = t_values.flatten(2).numpy()
        i = t_idx.flatten(2).numpy()
        flat = np.zeros(v.shape[:2] + (int(np.prod(spatial)),), dtype=v.dtype)
        for b in range(v.shape[0]):
            for c in range(v.shape[1]):
                flat[b, c, i[b, c]] = v[b, c]
        t_out = torch.from_numpy(flat.reshape(v.shape[:2] + tuple(spatial)))
    want = from_ncx(t_out, case["layout"])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"pool unpool failed: {proc.stderr.strip()}"
    got = np.load(out)
    if got.shape != want.shape or not np.array_equal(got, want, equal_nan=True) or \
            not np.array_equal(np.signbit(got), np.signbit(want)):
        return f"unpool differs: {got.shape} vs {want.shape}"
    return None


def run_case(case, rng, tmp):
    x = make_input(case, rng)
    src, dst = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
    np.save(src, x)
    if os.path.exists(dst):
        os.unlink(dst)
    idx = os.path.join(tmp, "idx.npy")
    if os.path.exists(idx):
        os.unlink(idx)
    cmd = [POOL, *POOL_ARGS, "--layout", case["layout"], *pool_args(case), src, "-o", dst]
    if case.get("indices"):
        cmd[1:1] = ["--indices", idx]
    if case["mode"] == "fmax":
        # PyTorch's _random_samples: one row per (batch, channel) plane, as in NCHW order
        n, c = to_ncx(x, case["layout"]).shape[:2]
        case["samples"] = rng.random((n, c, case["ndim"]))
        np.save(os.path.join(tmp, "samples.npy"), case["samples"].astype(x.dtype))
        cmd[1:1] = ["--samples", os.path.join(tmp, "samples.npy")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    try:
        want = from_ncx(torch_pool(to_ncx(x, case["layout"]), case), case["layout"])
        torch_error = None
    except RuntimeError as e:
        want, torch_error = None, str(e).splitlines()[0]
    if want is not None and want.size == 0:
        # torch 1.13's max_pool1d returns an empty tensor where the others refuse
        want, torch_error = None, f"empty output {want.shape}"
    if torch_error is not None:
        if proc.returncode == 0:
            return f"PyTorch refuses ({torch_error}) but pool accepted"
        # a refusal is a clean exit with one message, never a signal or a crash
        if proc.returncode not in (1, 2):
            return f"PyTorch refuses ({torch_error}); pool exited with {proc.returncode}"
        lines = proc.stderr.splitlines()
        if len(lines) != 1 or not lines[0].startswith("pool: "):
            return f"PyTorch refuses ({torch_error}); pool said {proc.stderr!r}"
        if os.path.exists(dst) or os.path.exists(idx):
            return "pool failed but left an output file"
        return None
    if proc.returncode != 0:
        return f"pool failed ({proc.stderr.strip()}) but PyTorch gives shape {want.shape}"
    got = np.load(dst)
    if got.shape != want.shape:
        return f"shape {got.shape}, PyTorch {want.shape}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, PyTorch {want.dtype}"
    if case["mode"] in EXTREMES:
        if not np.array_equal(got, want, equal_nan=True):
            bad = np.argwhere(~((got == want) | (np.isnan(got) & np.isnan(want))))
            return f"max/min differ at {len(bad)} places, first {tuple(bad[0])}"
        # the values' signs too: PyTorch's value is its chosen element's (-0.0 or +0.0)
        if case.get("indices"):
            if not np.array_equal(np.signbit(got), np.signbit(want)):
                return "max/min differ in the sign of a zero"
            t_idx = torch_indices(to_ncx(x, case["layout"]), case)
            return (compare_indices(np.load(idx), t_idx, case) or
                    check_unpool(case, x, dst, idx, to_ncx(want, case["layout"]), t_idx, tmp))
        return None
    # Averages: PyTorch sums float32 in float32, pool in double and rounds once. The
    # reference is PyTorch's own computation in float64, rounded to the element type; the
    # tolerance is that type's rounding (and float64's, for a different order of sums).
    ref = from_ncx(torch_pool(to_ncx(x.astype(np.float64), case["layout"]), case),
                   case["layout"]).astype(x.dtype)
    rtol = RTOL[case["dtype"]]
    scale = float(np.nanmax(np.abs(x))) if x.size and not np.all(np.isnan(x)) else 1.0
    if not np.allclose(got, ref, rtol=rtol, atol=1e-12 * scale, equal_nan=True):
        err = np.nanmax(np.abs(got.astype(np.float64) - ref) / np.maximum(np.abs(ref), 1e-300))
        return f"values differ: max relative error {err:g} (tolerance {rtol:g})"
    return None


# Hand-picked edges the random cases may miss.
FIXED = [
    dict(ndim=1, layout="l", mode="avg", dtype="float32", shape=[5], k=[2], s=[2], p=[0],
         d=[1], ceil=True, cip=True, norm=2.0, out=[1], nan=False),
    dict(ndim=1, layout="l", mode="lp", dtype="float64", shape=[5], k=[2], s=[2], p=[0],
         d=[1], ceil=True, cip=False, norm=2.0, out=[1], nan=False),
    dict(ndim=2, layout="nchw", mode="max", dtype="float32", shape=[1, 2, 3, 3], k=[2, 2],
         s=[2, 2], p=[1, 1], d=[2, 2], ceil=True, cip=False, norm=2.0, out=[1, 1], nan=False),
    dict(ndim=3, layout="ncdhw", mode="avg", dtype="float64", shape=[2, 2, 5, 6, 7],
         k=[3, 2, 3], s=[2, 1, 2], p=[1, 1, 0], d=[1, 1, 1], ceil=True, cip=True, norm=2.0,
         out=[1, 1, 1], nan=False),
    dict(ndim=2, layout="hw", mode="adaptive_avg", dtype="float32", shape=[3, 5], k=[1, 1],
         s=[1, 1], p=[0, 0], d=[1, 1], ceil=False, cip=False, norm=2.0, out=[7, 2], nan=False),
    dict(ndim=2, layout="nhwc", mode="max", dtype="float64", shape=[2, 9, 8, 3], k=[3, 3],
         s=[2, 2], p=[1, 1], d=[1, 1], ceil=False, cip=False, norm=2.0, out=[1, 1], nan=True),
    # indices: 3-D dilated max with NaN, 1-D min with ties, global max of channels-last
    dict(ndim=3, layout="ncdhw", mode="max", dtype="float32", shape=[2, 2, 5, 6, 7],
         k=[3, 2, 3], s=[2, 1, 2], p=[1, 1, 1], d=[2, 1, 1], ceil=True, cip=None, norm=2.0,
         out=[1], nan=True, indices=True),
    dict(ndim=1, layout="ncl", mode="min", dtype="float64", shape=[1, 3, 20], k=[4], s=[3],
         p=[2], d=[1], ceil=False, cip=None, norm=2.0, out=[1], nan=False, indices=True),
    dict(ndim=2, layout="nhwc", mode="gmax", dtype="float32", shape=[2, 7, 5, 3], k=[1, 1],
         s=[1, 1], p=[0, 0], d=[1, 1], ceil=False, cip=None, norm=2.0, out=[1], nan=True,
         indices=True),
    dict(ndim=2, layout="hw", mode="adaptive_min", dtype="float32", shape=[9, 13], k=[1, 1],
         s=[1, 1], p=[0, 0], d=[1, 1], ceil=False, cip=None, norm=2.0, out=[4, 5], nan=True,
         indices=True),
    # the example: F.avg_pool2d(x, 3, 2, 1) with every default left out
    dict(ndim=2, layout="hw", mode="avg", dtype="float32", shape=[9, 10], k=[3, 3],
         s=[2, 2], p=[1, 1], d=[1, 1], ceil=False, cip=None, norm=2.0, out=[1], nan=False),
    dict(ndim=3, layout="cdhw", mode="avg", dtype="float64", shape=[2, 5, 6, 7], k=[3, 2, 3],
         s=[2, 1, 2], p=[1, 1, 0], d=[1, 1, 1], ceil=True, cip=False, div=5, norm=2.0,
         out=[1], nan=False),
    dict(ndim=1, layout="ncl", mode="avg", dtype="float32", shape=[1, 2, 9], k=[4], s=[3],
         p=[2], d=[1], ceil=True, cip=None, div=3, norm=2.0, out=[1], nan=False),
    dict(ndim=2, layout="chw", mode="avg", dtype="float32", shape=[3, 4, 4], k=[5, 5],
         s=[1, 1], p=[0, 0], d=[1, 1], ceil=False, cip=False, norm=2.0, out=[1, 1], nan=False),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--seed", type=int, default=20261126)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    cases = FIXED + [random_case(rng) for _ in range(args.cases)]
    failed = 0
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(cases, 1):
            why = run_case(case, rng, tmp)
            counts[case["mode"], case["ndim"]] = counts.get((case["mode"], case["ndim"]), 0) + 1
            name = (f"{case['layout']} {case['shape']} {case['dtype']} "
                    f"{' '.join(pool_args(case))}{' --indices' if case.get('indices') else ''}")
            failed += why is not None
            print(f"not ok {i} - {name}: {why}" if why else f"ok {i} - {name}")
    print(f"1..{len(cases)}")
    print("# cases by mode and rank:", ", ".join(f"{m}/{n}d {c}" for (m, n), c in
                                                  sorted(counts.items())))
    print(f"# {len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
