"""Checks every key of pool's --stats JSON against NumPy.

usage: stats_check.py [--shift] [--layout L] INPUT SPEC [SPEC...]

Runs `pool --stats -P SPEC...` on INPUT, then for each pass k gets the pass's input and
output as .npy (pool with the first k and k+1 passes, whose pixels the other oracles
check) and recomputes every figure independently: the window geometry from PyTorch's
rules, coverage, per-channel min/max/mean/std, the error against the output expanded
back to the input (each input element paired, per axis, with the output whose window
centre is nearest, the earlier on a tie), PSNR. With --shift, also the shift test: the
input shifted by one element along each spatial axis in NumPy (edge repeated), pooled by
the stack so far and compared with the real output. Exits 1 listing every mismatch.
"""
import io
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

POOL = os.environ.get("POOL", "pool")
KEYS = ["input", "image", "pass", "mode", "spec", "kernel", "stride", "padding", "dilation",
        "ceil_mode", "count_include_pad", "output_size", "norm", "layout", "dtype", "in_shape",
        "out_shape", "coverage", "min", "max", "mean", "std", "mse", "rmse", "peak", "psnr",
        "seconds"]
PEAKS = {"uint8": 255, "uint16": 65535, "int8": 255, "int16": 65535}
failures = []


def check(what, ok, detail=""):
    if not ok:
        failures.append(f"{what}: {detail}")


def close(a, b, rel=1e-9, abs_=1e-9):
    """JSON has no NaN or infinity: pool writes null where NumPy gets them."""
    a = None if isinstance(a, float) and not math.isfinite(a) else a
    b = None if isinstance(b, float) and not math.isfinite(b) else b
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def parse_spec(spec, nspatial):
    """MODE[:K][,k=,s=,p=,d=,ceil,cip,norm=,out=] -> per-axis parameters (like pool's -P)."""
    head, *opts = spec.split(",")
    mode, _, k = head.partition(":")
    p = {"mode": mode, "k": k or None, "s": None, "p": "0", "d": "1", "ceil": False,
         "cip": False, "norm": None, "out": None}
    for o in opts:
        key, _, val = o.partition("=")
        p[key] = val if val else True
    def axes(v):
        vals = [int(x) for x in str(v).split("x")]
        return vals * nspatial if len(vals) == 1 else vals
    if mode.startswith("g"):
        p["mode"], p["out"] = mode[1:], [1] * nspatial
    elif p["out"]:
        p["out"] = axes(p["out"])
    if not p["out"]:
        p["k"] = axes(p["k"])
        p["s"] = axes(p["s"]) if p["s"] else p["k"]
        p["p"], p["d"] = axes(p["p"]), axes(p["d"])
    return p


def windows(p, axis, length):
    """Real taps of every output along one axis (PyTorch's rules; see POOLING.md)."""
    if p["out"]:
        n = p["out"][axis]
        return [list(range(o * length // n, -((-(o + 1) * length) // n))) for o in range(n)]
    k, s, pad, d = p["k"][axis], p["s"][axis], p["p"][axis], p["d"][axis]
    num = length + 2 * pad - d * (k - 1) - 1 + (s - 1 if p["ceil"] else 0)
    n = num // s + 1
    if p["ceil"] and (n - 1) * s >= length + pad:
        n -= 1
    out = []
    for o in range(n):
        start = o * s - pad
        if p["mode"] in ("max", "min"):
            taps = [start + j * d for j in range(k)]
        else:
            taps = list(range(start, min(start + k, length + pad)))
        out.append([t for t in taps if 0 <= t < length])
    return out


def nearest(wins, length):
    centres = [(w[0] + w[-1]) if w else None for w in wins]
    best = []
    for i in range(length):
        cands = [(abs(c - 2 * i), o) for o, c in enumerate(centres) if c is not None]
        best.append(min(cands)[1] if cands else 0)   # no window reads anything: output 0
    return np.array(best)


def pool_npy(args, src):
    r = subprocess.run([POOL, "-q", *args, "-f", "npy", src], capture_output=True)
    if r.returncode:
        raise SystemExit(f"pool {args}: {r.stderr.decode()}")
    return np.load(io.BytesIO(r.stdout))


def check_shift(name, rec, src, layout, passes, spatial, y):
    """The stack so far on the input shifted by one along each axis, against y."""
    x0 = pool_npy(layout + ["-P", "max:1"], src)
    lay = rec["layout"]
    want = {}
    for i in spatial:
        shifted = np.concatenate([np.take(x0, [0], axis=i), np.take(x0, range(x0.shape[i] - 1), axis=i)], axis=i)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "shifted.npy")
            np.save(path, shifted)
            ys = pool_npy(["--layout", lay] + passes, path)
        a, b = y.astype(np.float64), ys.astype(np.float64)
        same = (a == b) | (np.isnan(a) & np.isnan(b))   # equal infinities are unchanged
        diff = np.where(same, 0.0, np.abs(a - b))
        changed = float(np.mean(~same))
        rng = float(a.max() - a.min())
        change = 0.0 if diff.sum() == 0 else float(diff.mean()) / rng if rng else None
        want[lay[i]] = {"changed": changed, "change": change}
    got = rec.get("shift", {})
    ok = list(got) == list(want) and all(
        close(got[a]["changed"], want[a]["changed"]) and close(got[a]["change"], want[a]["change"])
        for a in want)
    check(f"{name}: shift", ok, f"{got} vs {want}")


def main():
    args = sys.argv[1:]
    shift = args[0] == "--shift"
    if shift:
        args = args[1:]
    layout = []
    if args[0] == "--layout":
        layout, args = ["--layout", args[1]], args[2:]
    src, specs = args[0], args[1:]
    passes = [x for s in specs for x in ("-P", s)]
    extra = ["--shift-test"] if shift else []
    r = subprocess.run([POOL, "-q", *layout, *passes, *extra, "--stats", "-o", "/dev/null", src],
                       capture_output=True, text=True)
    check("exit status", r.returncode == 0, r.stderr)
    records = [json.loads(line) for line in r.stderr.splitlines()]
    check("one record per pass", len(records) == len(specs), f"{len(records)} records")
    for k, rec in enumerate(records):
        name = f"pass {k + 1} ({specs[k]})"
        check(f"{name}: keys", list(rec) == KEYS + (["shift"] if shift else []), f"{list(rec)}")
        x = pool_npy(layout + passes[:2 * k], src) if k else pool_npy(layout + ["-P", "max:1"], src)
        y = pool_npy(layout + passes[:2 * k + 2], src)
        lay = rec["layout"]
        sp = [i for i, a in enumerate(lay) if a in "dhwl"]
        p = parse_spec(specs[k], len(sp))
        check(f"{name}: input", rec["input"] == src and rec["image"] == 1 and rec["pass"] == k + 1)
        check(f"{name}: mode", rec["mode"] == specs[k].split(":")[0].split(",")[0], rec["mode"])
        check(f"{name}: shapes", rec["in_shape"] == list(x.shape) and rec["out_shape"] == list(y.shape),
              f"{rec['in_shape']} {rec['out_shape']} vs {x.shape} {y.shape}")
        kinds = {"u": "uint", "i": "int", "f": "float"}
        check(f"{name}: dtype", np.dtype(kinds[rec["dtype"][0]] + rec["dtype"][1:]) == y.dtype,
              rec["dtype"])
        if p["out"]:
            check(f"{name}: output_size", rec["output_size"] == p["out"] and rec["kernel"] is None)
        else:
            check(f"{name}: kernel etc.", [rec["kernel"], rec["stride"], rec["padding"], rec["dilation"]]
                  == [p["k"], p["s"], p["p"], p["d"]] and rec["output_size"] is None, str(rec))
        check(f"{name}: flags", rec["ceil_mode"] == bool(p["ceil"])
              and rec["count_include_pad"] == bool(p["cip"]))
        check(f"{name}: norm", rec["norm"] == (float(p["norm"] or 2) if p["mode"] == "lp" else None))
        # The spec pool prints is a faithful -P: pooling with it gives the same output.
        again = pool_npy(layout + passes[:2 * k] + ["-P", rec["spec"]], src)
        check(f"{name}: spec {rec['spec']} reproduces the pass", np.array_equal(again, y, equal_nan=True))
        wins = [windows(p, a, x.shape[i]) for a, i in enumerate(sp)]
        cover = np.prod([len({t for w in ws for t in w}) / x.shape[i] for ws, i in zip(wins, sp)])
        check(f"{name}: coverage", close(rec["coverage"], cover), f"{rec['coverage']} vs {cover}")
        # Per-channel figures of the output.
        ci = lay.index("c") if "c" in lay else None
        yd = y.astype(np.float64)
        chans = [yd] if ci is None else [np.take(yd, c, axis=ci) for c in range(y.shape[ci])]
        for key, fn in (("min", np.min), ("max", np.max), ("mean", np.mean), ("std", np.std)):
            want = [float(fn(c)) for c in chans]
            got = rec[key]
            check(f"{name}: {key}", len(got) == len(want) and all(close(g, w) for g, w in zip(got, want)),
                  f"{got} vs {want}")
        # The loss: x against y expanded back by nearest window centre.
        idx = [nearest(ws, x.shape[i]) for ws, i in zip(wins, sp)]
        expanded = yd
        for ax_i, i in enumerate(sp):
            expanded = np.take(expanded, idx[ax_i], axis=i)
        mse = float(np.mean((x.astype(np.float64) - expanded) ** 2))
        peak = PEAKS.get(str(x.dtype), float(np.max(x)) - float(np.min(x)))
        psnr = None if mse == 0 or not math.isfinite(mse) else 10 * math.log10(peak * peak / mse)
        check(f"{name}: mse", close(rec["mse"], mse), f"{rec['mse']} vs {mse}")
        check(f"{name}: rmse", close(rec["rmse"], math.sqrt(mse)), f"{rec['rmse']}")
        check(f"{name}: peak", close(rec["peak"], peak), f"{rec['peak']} vs {peak}")
        check(f"{name}: psnr", close(rec["psnr"], psnr, 1e-9), f"{rec['psnr']} vs {psnr}")
        check(f"{name}: seconds", isinstance(rec["seconds"], (int, float)) and 0 <= rec["seconds"] < 60)
        if shift:
            check_shift(name, rec, src, layout, passes[:2 * k + 2], sp, y)
    for f in failures:
        print("not ok:", f)
    print(f"{len(records)} passes, {len(failures)} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
