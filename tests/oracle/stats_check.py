"""Checks every key of pool's --stats JSON against PyTorch and NumPy, taking nothing from pool.

usage: stats_check.py [--shift] [--linear] [--layout L] [--format FMT] INPUT SPEC [SPEC...]

Runs `pool --stats -P SPEC...` once on INPUT (with --shift-test, --linear and --layout as
given; output in FMT, by default png for PNG, pnm for PNM, else npy) and recomputes every
figure from INPUT alone. The oracle decodes INPUT itself (NumPy, Pillow, its own PNM
reader); stretches a PNM maxval to the full range when FMT is png or jpeg, as pool does;
with --linear decodes sRGB to linear light (alpha as code / the power of two above the
largest code). The stack figures compare the first pass's input with each pass's output,
every element paired with its output through the passes so far (composed nearest centres). It pools every pass itself: max and min with torch.nn.functional; averages
and Lp summed in float64 (exact for integers, rounded half away from zero; integer Lp
rounded and saturated; images with alpha premultiplied), which must agree with PyTorch's
to rounding. Output shapes come from PyTorch's formula; coverage and the pairing of each
input element with the output whose window centre is nearest (the earlier on a tie) from
PyTorch's windows; then per-channel min/max/mean/std, MSE, RMSE, the PSNR peak (the man
page's: 255 or 65535 for 8- and 16-bit integers, a PNM maxval the codes keep, else the
pass input's max - min) and PSNR. With --shift, the shift test: the input shifted by one
element along each spatial axis (edge repeated), pooled by the stack so far (and each
pass's input shifted, pooled by the pass alone) and compared exactly with the real output:
the fraction changed (NaN against NaN is no change), their mean absolute change, and that
over the input's range (NaN ignored).
pool's final output, as written, must equal the oracle's. Exits 1 listing every mismatch.
Integers beyond 2^53 are not exact in float64: keep inputs below that.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

torch.set_num_threads(1)
POOL = os.environ.get("POOL", "pool")
KEYS = ["input", "image", "pass", "mode", "spec", "kernel", "stride", "padding", "dilation",
        "ceil_mode", "count_include_pad", "divisor_override", "output_size", "norm", "layout", "dtype", "in_shape",
        "out_shape", "coverage", "min", "max", "mean", "std", "mse", "rmse", "peak", "psnr",
        "stack_mse", "stack_rmse", "stack_psnr", "seconds"]
DTYPE_NAMES = {"uint8": "u8", "int8": "i8", "uint16": "u16", "int16": "i16", "uint32": "u32",
               "int32": "i32", "uint64": "u64", "int64": "i64", "float16": "f16",
               "float32": "f32", "float64": "f64"}
# The man page's PSNR peak for codes: the range of 8- and 16-bit types, signed or not.
CODE_RANGE = {"uint8": 255, "int8": 255, "uint16": 65535, "int16": 65535}
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


# ---- Decoding the input without pool ----

def read_pnm(data):
    """P2, P3, P5, P6 and P7: (codes, maxval, has_alpha)."""
    magic = data[:2]
    if magic == b"P7":
        head, _, body = data.partition(b"ENDHDR\n")
        fields = {}
        for line in head.split(b"\n")[1:]:
            words = line.split(b"#")[0].split()
            if words:
                fields[words[0].decode()] = b" ".join(words[1:]).decode()
        w, h, c = int(fields["WIDTH"]), int(fields["HEIGHT"]), int(fields["DEPTH"])
        maxval, alpha = int(fields["MAXVAL"]), fields.get("TUPLTYPE", "").endswith("_ALPHA")
    elif magic in (b"P2", b"P3", b"P5", b"P6"):
        tokens, pos = [], 2
        while len(tokens) < 3:
            while data[pos:pos + 1].isspace() or data[pos:pos + 1] == b"#":
                if data[pos:pos + 1] == b"#":
                    pos = data.index(b"\n", pos)
                pos += 1
            end = pos
            while end < len(data) and not data[end:end + 1].isspace():
                end += 1
            tokens.append(int(data[pos:end]))
            pos = end
        w, h, maxval = tokens
        body, c, alpha = data[pos + 1:], 1 if magic in (b"P2", b"P5") else 3, False
    else:
        raise SystemExit(f"stats_check: PNM {magic!r} is not read by this oracle")
    count = w * h * c
    if magic in (b"P2", b"P3"):
        a = np.array(body.split()[:count], dtype=np.int64)
    else:
        a = np.frombuffer(body, dtype=np.uint8 if maxval < 256 else ">u2", count=count)
    a = a.astype(np.uint8 if maxval < 256 else np.uint16)
    return (a.reshape(h, w) if c == 1 else a.reshape(h, w, c)), maxval, alpha


def pillow_reads(path):
    """Pillow reads 16-bit colour PNG as 8-bit."""
    with open(path, "rb") as f:
        head = f.read(26)
    return not (head.startswith(b"\x89PNG") and head[24] == 16 and head[25] in (2, 4, 6))


def read_image(path):
    """PNG or JPEG through Pillow: (pixels, has_alpha), as pool decodes them."""
    if not pillow_reads(path):
        raise SystemExit("stats_check: Pillow reads no 16-bit colour PNG")
    im = Image.open(path)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "1":
        im = im.convert("L")
    if im.mode not in ("L", "LA", "RGB", "RGBA", "I", "I;16", "I;16B"):
        raise SystemExit(f"stats_check: Pillow mode {im.mode} is not read by this oracle")
    a = np.asarray(im)
    if im.mode.startswith("I"):
        a = a.astype(np.uint16)
    return a, a.ndim == 3 and a.shape[2] in (2, 4)


def read_input(path):
    """(array, kind, maxval kept in the codes or 0, has_alpha)."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\x93NUMPY"):
        return np.load(path), "npy", 0, False
    if data[:1] == b"P":
        a, maxval, alpha = read_pnm(data)
        return a, "pnm", 0 if maxval in (255, 65535) else maxval, alpha
    a, alpha = read_image(path)
    return a, "png" if data.startswith(b"\x89PNG") else "jpeg", 0, alpha


def default_layout(a, kind):
    """An image's own layout, else by rank; a 3-D u8/u16 array of at most 4 entries on its
    last axis and more than 4 on its first is taken as hwc (the man page's rule)."""
    if kind != "npy":
        return "hw" if a.ndim == 2 else "hwc"
    if a.ndim == 3 and a.dtype in (np.uint8, np.uint16) and a.shape[2] <= 4 < a.shape[0]:
        return "hwc"
    return {1: "l", 2: "hw", 3: "chw", 4: "nchw", 5: "ncdhw"}[a.ndim]


def stretch_codes(a, maxval):
    """Codes 0..maxval to the type's full range, rounded half up (PNG and JPEG output)."""
    full = 255 if a.dtype == np.uint8 else 65535
    v = a.astype(np.int64)
    return np.minimum((2 * v * full + maxval) // (2 * maxval), full).astype(a.dtype)


def c_pow(v, exponent):
    """The C library's pow, as pool calls it."""
    try:
        return math.pow(v, exponent)
    except ValueError:      # a negative base under a fractional power
        return math.nan
    except OverflowError:
        return math.inf


def srgb_to_linear(e):
    """IEC 61966-2-1, on a float in [0, 1]."""
    return e / 12.92 if e <= 0.04045 else c_pow((e + 0.055) / 1.055, 2.4)


def linear_to_srgb(x):
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def alpha_scale(code_max):
    """Alpha in linear light is code / the power of two above the largest code."""
    return float(2 ** code_max.bit_length())


def to_linear(a, code_max, alpha):
    lin = np.array([srgb_to_linear(i / code_max) for i in range(code_max + 1)])[a]
    if alpha:
        lin[..., -1] = a[..., -1] / alpha_scale(code_max)
    return lin


def to_codes(lin, dtype, code_max, alpha):
    codes = np.floor(linear_to_srgb(np.clip(lin, 0, 1)) * code_max + 0.5)
    if alpha:
        codes[..., -1] = np.floor(lin[..., -1] * alpha_scale(code_max) + 0.5)
    return np.clip(codes, 0, code_max).astype(dtype)


# ---- One pass, by PyTorch's rules ----

def parse_spec(spec, nspatial):
    """MODE[:K][,k=,s=,p=,d=,ceil,cip,div=,norm=,out=] -> per-axis parameters (like pool's
    -P). cip: PyTorch's count_include_pad, True unless given as 0 (and only for avg)."""
    head, *opts = spec.split(",")
    mode, _, k = head.partition(":")
    p = {"mode": mode, "k": k or None, "s": None, "p": "0", "d": "1", "ceil": False,
         "cip": True, "div": None, "norm": None, "out": None}
    for o in opts:
        key, eq, val = o.partition("=")
        if key in ("ceil", "cip"):
            p[key] = not eq or val == "1"
        else:
            p[key] = val

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
    if p["mode"] == "lp":
        p["norm"] = float(p["norm"] or 2)
    p["cip"] = p["cip"] and p["mode"] == "avg" and not p["out"]
    p["div"] = int(p["div"]) if p["div"] else None
    return p


def out_len(p, axis, length):
    """PyTorch's output length (aten/src/ATen/native/Pool.h); adaptive: the size asked for."""
    if p["out"]:
        return p["out"][axis]
    k, s, pad, d = p["k"][axis], p["s"][axis], p["p"][axis], p["d"][axis]
    n = (length + 2 * pad - d * (k - 1) - 1 + (s - 1 if p["ceil"] else 0)) // s + 1
    if p["ceil"] and (n - 1) * s >= length + pad:
        n -= 1
    return n


def windows(p, axis, length):
    """Real taps of every output along one axis (PyTorch's rules; see POOLING.md)."""
    if p["out"]:
        n = p["out"][axis]
        return [list(range(o * length // n, -((-(o + 1) * length) // n))) for o in range(n)]
    k, s, pad, d = p["k"][axis], p["s"][axis], p["p"][axis], p["d"][axis]
    out = []
    for o in range(out_len(p, axis, length)):
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


def power(v, exponent):
    """v ** exponent by the C library's pow, as pool computes it, and the same for equal
    values wherever they are (vectorised pows may differ by an ulp between lanes)."""
    values, where = np.unique(v, return_inverse=True)
    powered = np.array([c_pow(x, exponent) for x in values.tolist()], dtype=np.float64)
    return powered[where].reshape(v.shape)


def divisors(p, axis, length):
    """avg's per-axis divisor (POOLING.md): the window's real cells, or with
    count_include_pad the cells up to the right padding; Lp: the real cells."""
    wins = windows(p, axis, length)
    if not p["cip"] or p["out"]:
        return np.array([len(w) for w in wins])
    k, s, pad = p["k"][axis], p["s"][axis], p["p"][axis]
    return np.array([min(o * s - pad + k, length + pad) - (o * s - pad) for o in range(len(wins))])


def window_sums(v, sp, p):
    """Sums of v (float64) over every window, with the divisors. Floats are not associative
    and the shift test compares outputs exactly, so the order is fixed, pool's: along each
    row's window from its first tap, then the rows in order, then the slabs."""
    divisor = np.ones((1,) * v.ndim, dtype=np.int64)
    for a in reversed(range(len(sp))):
        i, length = sp[a], v.shape[sp[a]]
        wins = windows(p, a, length)
        shape = [1] * v.ndim
        shape[i] = len(wins)
        acc = 0.0
        for j in range(max(len(w) for w in wins)):
            taps = np.array([w[j] if j < len(w) else 0 for w in wins])
            real = np.array([j < len(w) for w in wins]).reshape(shape)
            acc = acc + np.where(real, np.take(v, taps, axis=i), 0.0)
        v = acc
        divisor = divisor * divisors(p, a, length).reshape(shape)
    if p["div"]:    # divisor_override: one divisor for every window
        divisor = np.full_like(divisor, p["div"])
    return v, divisor


def torch_pool(x, sp, p):
    """torch.nn.functional's pooling of x (float64) over its spatial axes sp; planes on the
    channel axis, 1-D as 2-D with a height of 1 (torch 1.13 has no lp_pool3d)."""
    moved = np.moveaxis(x, sp, range(-len(sp), 0))
    spatial = moved.shape[-len(sp):]
    t = torch.from_numpy(np.ascontiguousarray(moved)).reshape(1, -1, *spatial)
    q = dict(p)
    if len(sp) == 1:
        t = t.unsqueeze(2)
        if q["out"]:
            q["out"] = [1] + q["out"]
        else:
            q.update(k=[1] + q["k"], s=[1] + q["s"], p=[0] + q["p"], d=[1] + q["d"])
    two = t.dim() == 4
    sign = -1 if q["mode"] == "min" else 1      # min is -max(-x), as PyTorch computes it
    if q["out"] and q["mode"] in ("max", "min"):
        fn = F.adaptive_max_pool2d if two else F.adaptive_max_pool3d
        y = sign * fn(sign * t, q["out"])
    elif q["out"]:
        y = (F.adaptive_avg_pool2d if two else F.adaptive_avg_pool3d)(t, q["out"])
    elif q["mode"] in ("max", "min"):
        fn = F.max_pool2d if two else F.max_pool3d
        y = sign * fn(sign * t, q["k"], q["s"], q["p"], q["d"], ceil_mode=q["ceil"])
    elif q["mode"] == "avg":
        fn = F.avg_pool2d if two else F.avg_pool3d
        y = fn(t, q["k"], q["s"], q["p"], ceil_mode=q["ceil"], count_include_pad=q["cip"],
               divisor_override=q["div"])
    else:                   # lp_pool2d's formula
        fn = F.avg_pool2d if two else F.avg_pool3d
        v = fn(t.pow(q["norm"]), q["k"], q["s"], 0, ceil_mode=q["ceil"])
        y = (torch.sign(v) * F.relu(torch.abs(v))).mul(float(np.prod(q["k"]))).pow(1 / q["norm"])
    if len(sp) == 1:
        y = y[:, :, 0]
    y = y.numpy().reshape(*moved.shape[:-len(sp)], *y.shape[2:])
    return np.moveaxis(y, range(-len(sp), 0), sp)


def round_half_away(num, den):
    """num / den rounded half away from zero, exactly (integer arrays)."""
    q = (2 * np.abs(num) + den) // (2 * den)
    return np.where(num < 0, -q, q)


def to_type(v, dtype):
    """Floats round once; integers round half away from zero and saturate (NaN gives 0, an
    all-padding max window the type's lowest value)."""
    if not np.issubdtype(dtype, np.integer):
        return v.astype(dtype)
    info = np.iinfo(dtype)
    v = np.where(v < 0, -np.floor(-v + 0.5), np.floor(v + 0.5))
    v = np.nan_to_num(v, nan=0, posinf=info.max, neginf=info.min)
    return np.clip(v, info.min, info.max).astype(dtype)


def premultiplied_average(x, sp, p):
    """Images with alpha (the last channel): colour = sum(c*a) / sum(a) (0 where all alpha
    is 0; integers half up), alpha averaged."""
    xd = x.astype(np.float64)
    weighted, n = window_sums(xd[..., :-1] * xd[..., -1:], sp, p)
    asum, _ = window_sums(xd[..., -1:], sp, p)
    if not np.issubdtype(x.dtype, np.integer):
        return np.concatenate([np.where(asum > 0, weighted / np.where(asum > 0, asum, 1), 0.0),
                               asum / n], axis=-1)
    w, a = np.rint(weighted).astype(np.int64), np.rint(asum).astype(np.int64)
    colour = np.where(a > 0, (2 * w + a) // (2 * np.maximum(a, 1)), 0)
    return np.concatenate([colour, round_half_away(a, n)], axis=-1)


def pool_pass(x, lay, p, premultiply):
    """One pass over x's spatial axes (layout lay); the result has x's dtype. Max and min are
    PyTorch's; averages and Lp are summed here in float64 (exact for integers) and must agree
    with PyTorch's to rounding."""
    sp = [i for i, a in enumerate(lay) if a in "dhwl"]
    xd = x.astype(np.float64)
    want = torch_pool(xd, sp, p)
    if p["mode"] in ("max", "min"):
        return to_type(want, x.dtype)
    integer = np.issubdtype(x.dtype, np.integer)
    if p["mode"] == "lp":
        sums, n = window_sums(power(xd, p["norm"]), sp, p)
        got = power(float(np.prod(p["k"])) * sums / n, 1 / p["norm"])
    else:
        sums, n = window_sums(xd, sp, p)
        got = sums / n
    scale = float(np.nanmax(np.abs(np.where(np.isinf(xd), np.nan, xd)), initial=1))
    check(f"{p['mode']} windows as PyTorch's", got.shape == want.shape and np.allclose(
        got, want, rtol=1e-9, atol=1e-12 * scale, equal_nan=True), f"{got.shape} {want.shape}")
    if p["mode"] == "avg" and premultiply:
        return to_type(premultiplied_average(x, sp, p), x.dtype)
    if p["mode"] == "avg" and integer:
        return to_type(round_half_away(np.rint(sums).astype(np.int64), n), x.dtype)
    return to_type(got, x.dtype)


def pool_stack(x, lay, params, premultiply):
    """The output of every pass of the stack, in order."""
    outs = []
    for p in params:
        x = pool_pass(x, lay, p, premultiply)
        outs.append(x)
    return outs


# ---- The figures ----

def shifted(x, i):
    """x moved one element along axis i: its first element repeated, its last dropped."""
    return np.concatenate([np.take(x, [0], axis=i), np.take(x, range(x.shape[i] - 1), axis=i)],
                          axis=i)


def compare_shift(x, a, b):
    """Outputs a (of x) and b (of x shifted): the fraction that changed (NaN = NaN is no
    change), their mean absolute change, and that over x's range (NaN ignored)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    changed = ~same
    with np.errstate(invalid="ignore"):
        mean = float(np.abs(a - b)[changed].mean()) if changed.any() else 0.0
        numbers = x[~np.isnan(x)].astype(np.float64)
        rng = float(numbers.max() - numbers.min()) if numbers.size else -math.inf
        rel = 0.0 if mean == 0 else mean / rng if rng > 0 else math.nan
    share = float(np.mean(changed))
    return {"changed": share, "mean_change": mean, "relative_change": rel,
            "expected_change": share * rel}


def shift_figures(lay, sp, x0, params, premultiply, ys):
    """Per pass, per spatial axis: (the pass alone on its input shifted by one, against
    its output; the stack so far on x0 shifted, against the same output)."""
    alone = [{} for _ in ys]
    stack = [{} for _ in ys]
    inputs = [x0] + ys[:-1]
    for i in sp:
        for k, ys_k in enumerate(pool_stack(shifted(x0, i), lay, params, premultiply)):
            stack[k][lay[i]] = compare_shift(x0, ys[k], ys_k)
            one = pool_pass(shifted(inputs[k], i), lay, params[k], premultiply)
            alone[k][lay[i]] = compare_shift(inputs[k], ys[k], one)
    return list(zip(alone, stack))


def check_pass(name, rec, spec, src, lay, x, y, peak_of_codes, shift_want):
    sp = [i for i, a in enumerate(lay) if a in "dhwl"]
    p = parse_spec(spec, len(sp))
    check(f"{name}: input", rec["input"] == src and rec["image"] == 1, f"{rec['input']} {rec['image']}")
    check(f"{name}: mode", rec["mode"] == spec.split(":")[0].split(",")[0], rec["mode"])
    # The spec pool prints is a faithful -P: the same parameters once resolved.
    check(f"{name}: spec {rec['spec']}", parse_spec(rec["spec"], len(sp)) == p, rec["spec"])
    want_out = list(x.shape)
    for a, i in enumerate(sp):
        want_out[i] = out_len(p, a, x.shape[i])
    check(f"{name}: PyTorch's shape", list(y.shape) == want_out, f"{y.shape} vs {want_out}")
    check(f"{name}: layout", rec["layout"] == lay, rec["layout"])
    check(f"{name}: shapes", rec["in_shape"] == list(x.shape) and rec["out_shape"] == want_out,
          f"{rec['in_shape']} {rec['out_shape']} vs {list(x.shape)} {want_out}")
    check(f"{name}: dtype", rec["dtype"] == DTYPE_NAMES[str(x.dtype)], rec["dtype"])
    if p["out"]:
        check(f"{name}: output_size", rec["output_size"] == p["out"] and rec["kernel"] is None
              and rec["stride"] is None and rec["padding"] is None and rec["dilation"] is None)
    else:
        check(f"{name}: kernel etc.", [rec["kernel"], rec["stride"], rec["padding"], rec["dilation"]]
              == [p["k"], p["s"], p["p"], p["d"]] and rec["output_size"] is None, str(rec))
    check(f"{name}: flags", rec["ceil_mode"] == bool(p["ceil"])
          and rec["count_include_pad"] == bool(p["cip"]) and rec["divisor_override"] == p["div"])
    check(f"{name}: norm", rec["norm"] == p["norm"], rec["norm"])
    wins = [windows(p, a, x.shape[i]) for a, i in enumerate(sp)]
    cover = np.prod([len({t for w in ws for t in w}) / x.shape[i] for ws, i in zip(wins, sp)])
    check(f"{name}: coverage", close(rec["coverage"], cover), f"{rec['coverage']} vs {cover}")
    # Per-channel figures of the output.
    ci = lay.index("c") if "c" in lay else None
    yd = y.astype(np.float64)
    chans = [yd] if ci is None else [np.take(yd, c, axis=ci) for c in range(y.shape[ci])]
    with np.errstate(divide="ignore", invalid="ignore"):
        for key, fn in (("min", np.min), ("max", np.max), ("mean", np.mean), ("std", np.std)):
            want = [float(fn(c)) for c in chans]
            got = rec[key]
            check(f"{name}: {key}", len(got) == len(want) and all(close(g, w) for g, w in zip(got, want)),
                  f"{got} vs {want}")
        # The loss: x against y expanded back by nearest window centre.
        expanded = yd
        for ws, i in zip(wins, sp):
            expanded = np.take(expanded, nearest(ws, x.shape[i]), axis=i)
        mse = float(np.mean((x.astype(np.float64) - expanded) ** 2))
        peak = peak_of_codes or float(np.max(x)) - float(np.min(x))
        psnr = float(10 * np.log10(np.float64(peak) ** 2 / mse))   # infinite or NaN: null
    check(f"{name}: mse", close(rec["mse"], mse), f"{rec['mse']} vs {mse}")
    check(f"{name}: rmse", close(rec["rmse"], math.sqrt(mse)), f"{rec['rmse']}")
    check(f"{name}: peak", close(rec["peak"], peak), f"{rec['peak']} vs {peak}")
    check(f"{name}: psnr", close(rec["psnr"], psnr, 1e-9), f"{rec['psnr']} vs {psnr}")
    check(f"{name}: seconds", isinstance(rec["seconds"], (int, float)) and 0 <= rec["seconds"] < 60)
    for key, want in zip(("shift", "stack_shift"), shift_want or ()):
        got = rec.get(key, {})
        ok = list(got) == list(want) and all(
            list(got[a]) == list(want[a]) and all(close(got[a][f], want[a][f]) for f in want[a])
            for a in want)
        check(f"{name}: {key}", ok, f"{got} vs {want}")


def stack_maps(maps, wins, x, sp):
    """Each original element's output after one more pass: its output so far, paired with
    this pass's output whose window centre is nearest (the man page's composed pairing)."""
    return [nearest(ws, x.shape[i])[m] for m, ws, i in zip(maps, wins, sp)]


def check_stack(name, rec, x0, y, maps, sp, peak_of_codes):
    """The stack so far against the first pass's input: y expanded over each original
    element's receptive field, by the composed maps."""
    expanded = y.astype(np.float64)
    for m, i in zip(maps, sp):
        expanded = np.take(expanded, m, axis=i)
    with np.errstate(divide="ignore", invalid="ignore"):
        mse = float(np.mean((x0.astype(np.float64) - expanded) ** 2))
        peak = peak_of_codes or float(np.max(x0)) - float(np.min(x0))
        psnr = float(10 * np.log10(np.float64(peak) ** 2 / mse))
    check(f"{name}: stack_mse", close(rec["stack_mse"], mse), f"{rec['stack_mse']} vs {mse}")
    check(f"{name}: stack_rmse", close(rec["stack_rmse"], math.sqrt(mse)), f"{rec['stack_rmse']}")
    check(f"{name}: stack_psnr", close(rec["stack_psnr"], psnr, 1e-9),
          f"{rec['stack_psnr']} vs {psnr}")


def run_pool(args, fmt):
    """pool's --stats records and its output (None if not read exactly), or exit 1 if it
    fails."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out." + fmt)
        r = subprocess.run([POOL, "-q", *(["--layout", args.layout] if args.layout else []),
                            *(["--linear"] if args.linear else []),
                            *[x for s in args.specs for x in ("-P", s)],
                            *(["--shift-test"] if args.shift else []),
                            "--stats", "-f", fmt, "-o", out, args.input],
                           capture_output=True, text=True)
        if r.returncode:
            print(f"not ok: pool exits {r.returncode}: {r.stderr.strip()}")
            sys.exit(1)
        readable = fmt != "jpeg" and pillow_reads(out)     # JPEG is lossy
        return [json.loads(line) for line in r.stderr.splitlines()], \
            read_input(out)[0] if readable else None


def same_output(got, want, x0):
    if got.shape != want.shape or got.dtype != want.dtype:
        return False
    if np.issubdtype(want.dtype, np.integer):
        return np.array_equal(got, want)
    # float sums in another order: a few ulps of the input's scale
    eps, finite = np.finfo(want.dtype).eps, np.abs(x0[np.isfinite(x0)])
    return np.allclose(got, want, rtol=4 * eps, equal_nan=True,
                       atol=64 * eps * (float(finite.max()) if finite.size else 0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shift", action="store_true", help="also --shift-test")
    ap.add_argument("--linear", action="store_true", help="pool in linear light")
    ap.add_argument("--layout")
    ap.add_argument("--format", help="pool's output format (png and jpeg stretch a PNM maxval)")
    ap.add_argument("input")
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args()
    src, specs = args.input, args.specs
    if not os.path.isfile(src):
        sys.exit(f"not ok: no input {src}")
    a, kind, maxval, alpha = read_input(src)
    lay = args.layout or default_layout(a, kind)
    fmt = args.format or {"npy": "npy", "pnm": "pnm", "png": "png", "jpeg": "npy"}[kind]
    records, pool_out = run_pool(args, fmt)
    # What the first pass gets: codes as the output format wants them, then linear light.
    x0, code_max = a, maxval
    if maxval and fmt in ("png", "jpeg"):
        x0, code_max = stretch_codes(a, maxval), 0
    peak = None     # floats and wide integers: the pass input's own range
    if str(x0.dtype) in CODE_RANGE:
        peak = code_max or CODE_RANGE[str(x0.dtype)]
    if args.linear:
        code_max = code_max or CODE_RANGE[str(x0.dtype)]
        x0, peak = to_linear(x0, code_max, alpha), None
    premultiply = alpha and kind != "npy"
    sp = [i for i, c in enumerate(lay) if c in "dhwl"]
    params = [parse_spec(s, len(sp)) for s in specs]
    ys = pool_stack(x0, lay, params, premultiply)
    shifts = shift_figures(lay, sp, x0, params, premultiply, ys) if args.shift else [None] * len(ys)
    if pool_out is not None:
        want = to_codes(ys[-1], a.dtype, code_max, alpha) if args.linear else ys[-1]
        check("pool's output", same_output(pool_out, want, x0),
              f"{pool_out.dtype} {pool_out.shape} vs {want.dtype} {want.shape}")
    check("one record per pass", len(records) == len(specs), f"{len(records)} records")
    x, maps = x0, [np.arange(x0.shape[i]) for i in sp]
    for k, rec in enumerate(records[:len(specs)]):
        name = f"pass {k + 1} ({specs[k]})"
        check(f"{name}: keys", list(rec) == KEYS + (["shift", "stack_shift"] if args.shift else []), f"{list(rec)}")
        check(f"{name}: number", rec["pass"] == k + 1, rec["pass"])
        check_pass(name, rec, specs[k], src, lay, x, ys[k], peak, shifts[k])
        wins = [windows(params[k], a, x.shape[i]) for a, i in enumerate(sp)]
        maps = stack_maps(maps, wins, x, sp)
        check_stack(name, rec, x0, ys[k], maps, sp, peak)
        x = ys[k]
    for f in failures:
        print("not ok:", f)
    print(f"{len(records)} passes, {len(failures)} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
