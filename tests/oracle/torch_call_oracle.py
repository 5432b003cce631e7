"""Oracle test of --from-torch: PyTorch's pooling layers replayed by pool.

For every pooling class in torch.nn.modules.pooling (a class this test has no cases for
fails it: a new PyTorch's new layer must be looked at), random layers are built and run
on random float32 tensors of odd sizes. Each layer is written three ways: its constructor
call (positional and keyword arguments in PyTorch's own order, read from its signature),
its repr (what print(model) shows), and the torch.nn.functional call. Each is translated
by `pool --from-torch`, and `pool -P SPECS in.npy -o out.npy` must give PyTorch's output:
max exactly, avg and lp to float32's rounding of PyTorch's float64 result (as
torch_oracle.py compares). A repr says less than the layer for AvgPool (no ceil_mode,
count_include_pad or divisor_override): it is compared with the layer the repr describes.
Layers a spec cannot carry (MaxUnpool, return_indices=True, output_size None, a
FractionalMaxPool's repr) must be refused with one "pool: " line and exit status 2. Lists
and nn.Sequential chain passes. Prints TAP, one test a translation.

usage: torch_call_oracle.py [--per-class N] [--seed S]
"""
import argparse
import inspect
import os
import re
import subprocess
import sys
import tempfile
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.modules.pooling as pooling

torch.set_num_threads(1)
POOL = os.environ.get("POOL", "pool")
RTOL = 1e-6
LAYOUT = {1: "ncl", 2: "nchw", 3: "ncdhw"}
NO_DEFAULT = object()


def pooling_classes():
    """Every public pooling module class PyTorch defines, by name."""
    return {name: cls for name, cls in vars(pooling).items()
            if inspect.isclass(cls) and issubclass(cls, nn.Module)
            and cls.__module__ == pooling.__name__ and not name.startswith("_")}


def dims_of(name):
    return int(re.search(r"(\d)d$", name).group(1))


def function_name(class_name):
    """MaxPool2d -> max_pool2d, LPPool2d -> lp_pool2d, AdaptiveAvgPool1d -> adaptive_avg_pool1d"""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", class_name.replace("LPPool", "LpPool")).lower()


def parameter_order(fn, name):
    """fn's parameters in positional order with their defaults (NO_DEFAULT if none), from its
    signature or its docstring's first line (builtins such as avg_pool2d have no signature;
    boolean-dispatched ones such as max_pool2d have (*args, **kwargs), and their
    _with_indices twin has the real one)."""
    for f in (fn, getattr(F, name + "_with_indices", None)):
        try:
            params = list(inspect.signature(f).parameters.values())
        except (TypeError, ValueError):
            continue
        if params and params[0].name == "self":
            params = params[1:]
        if params and all(p.kind == p.POSITIONAL_OR_KEYWORD for p in params):
            return [(p.name, NO_DEFAULT if p.default is p.empty else p.default) for p in params]
    line = (fn.__doc__ or "").strip().splitlines()[0]
    m = re.match(re.escape(name) + r"\((.*?)\)", line)
    order = []
    for p in m.group(1).split(","):
        pname, _, default = p.partition("=")
        order.append((pname.strip(), eval(default) if default else NO_DEFAULT))
    return order


def call_text(callee, order, values, rng, first=None):
    """callee(...) with `values`: the parameters up to a random point positional (the ones
    not in values at their defaults), the others in values by keyword."""
    order = [(n, d) for n, d in order if n not in ("input", "self")]
    cut = len(order) if rng.random() < 0.3 else int(rng.integers(0, len(order) + 1))
    if any(d is NO_DEFAULT and n not in values for n, d in order[:cut]):
        cut = 0
    parts = [first] if first else []
    parts += [repr(values.get(n, d)) for n, d in order[:cut]]
    parts += [f"{n}={values[n]!r}" for n, _ in order[cut:] if n in values]
    return f"{callee}({', '.join(parts)})"


# ---- Random layers: a dict of constructor arguments for each kind of class ----

def axes(rng, d, lo, hi):
    return [int(rng.integers(lo, hi + 1)) for _ in range(d)]


def pack(rng, vals, allow_one_tuple=True):
    """An int when every axis is the same and a coin says so, else a tuple or a list."""
    if len(set(vals)) == 1 and rng.random() < 0.5:
        return vals[0]
    if len(vals) == 1 and not allow_one_tuple:
        return vals[0]
    return list(vals) if rng.random() < 0.2 else tuple(vals)


def gen_window(rng, d, params, lp=False):
    k = axes(rng, d, 1, 4)
    v = {"kernel_size": pack(rng, k, allow_one_tuple=not lp)}
    if lp:
        v["norm_type"] = [1, 2, 3, 1.5, 2.0, 4][int(rng.integers(0, 6))]
    r = rng.random()
    if r < 0.6:
        v["stride"] = pack(rng, axes(rng, d, 1, 4))
    elif r < 0.75:
        v["stride"] = None
    if "padding" in params and rng.random() < 0.5:
        v["padding"] = pack(rng, [int(rng.integers(0, kk // 2 + 1)) for kk in k])
    if "dilation" in params and rng.random() < 0.4:
        v["dilation"] = pack(rng, axes(rng, d, 1, 3))
    if rng.random() < 0.6:
        v["ceil_mode"] = bool(rng.random() < 0.6)
    if "count_include_pad" in params and rng.random() < 0.6:
        v["count_include_pad"] = bool(rng.random() < 0.5)
    if "divisor_override" in params and rng.random() < 0.3:
        v["divisor_override"] = int(rng.integers(1, 10))
    if "return_indices" in params and rng.random() < 0.15:
        v["return_indices"] = False
    return v


def gen_adaptive(rng, d, params, spatial):
    out = [int(rng.integers(1, s + 3)) for s in spatial]
    v = {"output_size": pack(rng, out)}
    if "return_indices" in params and rng.random() < 0.2:
        v["return_indices"] = False
    return v


def gen_fractional(rng, d, spatial):
    k = axes(rng, d, 1, 3)
    v = {"kernel_size": pack(rng, k, allow_one_tuple=False)}
    if rng.random() < 0.5:
        v["output_size"] = pack(rng, [int(rng.integers(1, s - kk + 2))
                                      for s, kk in zip(spatial, k)], allow_one_tuple=False)
    else:
        ratio = [float(rng.choice([0.25, 0.5, 0.6, 0.75, 0.9])) for _ in range(d)]
        v["output_ratio"] = pack(rng, ratio, allow_one_tuple=False)
    return v


def random_input(rng, d, positive):
    smin, smax = {1: (9, 41), 2: (7, 19), 3: (5, 11)}[d]
    spatial = [int(rng.integers(smin // 2, smax // 2 + 1)) * 2 + 1 for _ in range(d)]
    shape = [int(rng.integers(1, 3)), int(rng.choice([1, 3]))] + spatial
    x = rng.standard_normal(shape).astype(np.float32)
    if positive:  # x^1.5 of a negative is NaN in both
        x = np.abs(x) + np.float32(0.1)
    return torch.from_numpy(x)


# ---- Running pool ----

def run(args):
    return subprocess.run([POOL, *args], capture_output=True, text=True)


def translate(text):
    """pool --from-torch text: (specs, None) or (None, why it failed)."""
    proc = run(["--from-torch", text])
    if proc.returncode != 0:
        return None, f"--from-torch failed ({proc.returncode}): {proc.stderr.strip()}"
    specs = proc.stdout.strip()
    if proc.stdout != specs + "\n" or "\n" in specs:
        return None, f"--from-torch printed {proc.stdout!r}"
    return specs, None


def expect_refusal(text, phrase):
    """None when pool --from-torch refuses text cleanly, naming `phrase`."""
    proc = run(["--from-torch", text])
    lines = proc.stderr.splitlines()
    if proc.returncode != 2 or proc.stdout or len(lines) != 1 or not lines[0].startswith("pool: "):
        return f"want a refusal; got status {proc.returncode}, {proc.stdout!r} {proc.stderr!r}"
    if phrase not in lines[0]:
        return f"refusal does not say {phrase!r}: {lines[0]}"
    return None


def compare(got, want, want64, exact):
    if got.shape != want.shape:
        return f"shape {got.shape}, PyTorch {want.shape}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, PyTorch {want.dtype}"
    if exact:
        if not np.array_equal(got, want, equal_nan=True):
            return f"differ at {int(np.sum(got != want))} places"
        return None
    # PyTorch sums float32 in float32, pool in double and rounds once: the reference is
    # PyTorch's float64 result rounded to float32, within float32's rounding
    ref = want64.astype(np.float32)
    scale = float(np.nanmax(np.abs(want64))) if want64.size else 1.0
    if not np.allclose(got, ref, rtol=RTOL, atol=1e-12 * scale, equal_nan=True):
        err = np.nanmax(np.abs(got.astype(np.float64) - ref) / np.maximum(np.abs(ref), 1e-30))
        return f"values differ: max relative error {err:g}"
    return None


def replay(text, x, want, want64, exact, tmp, extra=()):
    """Translates text, pools x with the specs; None when that gives want. Also returns the
    specs for the test's name."""
    specs, why = translate(text)
    if why:
        return why, None
    src, dst = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
    np.save(src, x.numpy())
    if os.path.exists(dst):
        os.unlink(dst)
    proc = run(["--layout", LAYOUT[x.dim() - 2], "-P", specs, *extra, src, "-o", dst])
    if proc.returncode != 0:
        return f"pool -P '{specs}' failed: {proc.stderr.strip()}", specs
    return compare(np.load(dst), want.numpy(), want64.numpy(), exact), specs


# ---- The cases ----

class Report:
    def __init__(self):
        self.n = self.failed = 0

    def __call__(self, name, why):
        self.n += 1
        self.failed += why is not None
        name = name.replace("\n", "\\n")
        print(f"not ok {self.n} - {name}: {why}" if why else f"ok {self.n} - {name}", flush=True)


def forms(rng, cls, values, extra_torch=None):
    """The layer's constructor call, repr and functional call, as text."""
    name = cls.__name__
    prefix = str(rng.choice(["nn.", "torch.nn.", ""]))
    ctor = call_text(prefix + name, parameter_order(cls.__init__, name), values, rng)
    fname = function_name(name)
    fn = getattr(F, fname, None)
    func = None
    if fn is not None:
        fprefix = str(rng.choice(["F.", "torch.nn.functional.", "nn.functional."]))
        func = call_text(fprefix + fname, parameter_order(fn, fname), values, rng, first="x")
    return ctor, fn, func


def build_case(rng, cls, d, params):
    """A random layer of cls that PyTorch accepts on a random input: (values, x, layer)."""
    kind = cls.__name__
    for _ in range(100):
        lp = kind.startswith("LPPool")
        x = random_input(rng, d, positive=lp)
        spatial = list(x.shape[2:])
        if kind.startswith("Adaptive"):
            values = gen_adaptive(rng, d, params, spatial)
        else:
            values = gen_window(rng, d, params, lp=lp)
        if lp and isinstance(values["norm_type"], int) and values["norm_type"] % 2 == 0:
            x = torch.from_numpy(rng.standard_normal(list(x.shape)).astype(np.float32))
        try:
            layer = cls(**values)
            if layer(x).numel() == 0:
                continue
        except (RuntimeError, ValueError):
            continue
        return values, x, layer
    raise RuntimeError(f"no valid {kind} found")


def layer_cases(rng, classes, per_class, tmp, report):
    for name in sorted(classes):
        cls = classes[name]
        if name.startswith("FractionalMaxPool"):
            continue  # fractional_cases
        if name.startswith("MaxUnpool"):
            d = dims_of(name)
            layer = cls(2)
            report(f"{name}: refused", expect_refusal(f"nn.{name}(2)", "pool unpool"))
            report(f"{name} repr: refused", expect_refusal(repr(layer), "pool unpool"))
            continue
        if not re.match(r"(Max|Avg|LP|AdaptiveMax|AdaptiveAvg)Pool\dd$", name):
            report(f"{name}: no oracle cases for this pooling class (new in PyTorch "
                   f"{torch.__version__}?)", "not covered")
            continue
        d = dims_of(name)
        params = [n for n, _ in parameter_order(cls.__init__, name)]
        exact = "Max" in name
        for _ in range(per_class):
            values, x, layer = build_case(rng, cls, d, params)
            want, want64 = layer(x), layer(x.double())
            ctor, fn, func = forms(rng, cls, values)
            why, specs = replay(ctor, x, want, want64, exact, tmp)
            report(f"{ctor} -> {specs}", why)
            # the repr, compared with the layer it describes (AvgPool's leaves out ceil_mode,
            # count_include_pad and divisor_override)
            text = repr(layer)
            said = eval(text, {"__builtins__": {}}, vars(nn))
            note = "" if said(x).equal(want) or "Avg" not in name else " (repr says less)"
            why, specs = replay(text, x, said(x), said(x.double()), exact, tmp)
            report(f"{text}{note} -> {specs}", why)
            if func:
                want, want64 = fn(x, **values), fn(x.double(), **values)
                why, specs = replay(func, x, want, want64, exact, tmp)
                report(f"{func} -> {specs}", why)


def fractional_cases(rng, classes, per_class, tmp, report):
    """FractionalMaxPool2d/3d with the random samples PyTorch used, given to pool with
    --samples samples.npy. (Mode fmax and --samples landed in main with 83f596e, after
    this test was written: a pool without them fails these cases.)"""
    for name in sorted(n for n in classes if n.startswith("FractionalMaxPool")):
        cls, d = classes[name], dims_of(name)
        for _ in range(per_class):
            for _ in range(100):
                x = random_input(rng, d, positive=False)
                values = gen_fractional(rng, d, list(x.shape[2:]))
                samples = torch.rand(x.shape[0], x.shape[1], d, dtype=x.dtype)
                try:
                    want = cls(**values, _random_samples=samples)(x)
                    break
                except (RuntimeError, ValueError):
                    continue
            else:
                raise RuntimeError(f"no valid {name} found")
            path = os.path.join(tmp, "samples.npy")
            np.save(path, samples.numpy())
            ctor, fn, func = forms(rng, cls, values)
            why, specs = replay(ctor, x, want, want, True, tmp, ["--samples", path])
            report(f"{ctor} --samples -> {specs}", why)
            fwant = fn(x, **values, _random_samples=samples)
            why, specs = replay(func, x, fwant, fwant, True, tmp, ["--samples", path])
            report(f"{func} --samples -> {specs}", why)
        # print(model) shows nothing of a FractionalMaxPool
        report(f"{name} repr: refused",
               expect_refusal(repr(cls(2, output_size=3)), "give its constructor call"))


def chain_cases(rng, tmp, report):
    """Several layers: a list, nn.Sequential, print(nn.Sequential(...)), functions mixed in."""
    x2 = random_input(rng, 2, positive=False)
    seq = nn.Sequential(nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
                        nn.AvgPool2d(2, count_include_pad=False),
                        nn.AdaptiveMaxPool2d((2, 3)))
    want, want64 = seq(x2), seq(x2.double())
    texts = [
        "nn.Sequential(nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), "
        "nn.AvgPool2d(2, count_include_pad=False), nn.AdaptiveMaxPool2d((2, 3)))",
        "[nn.MaxPool2d(3, 2, 1, ceil_mode=True), F.avg_pool2d(x, 2, count_include_pad=False), "
        "torch.nn.AdaptiveMaxPool2d(output_size=(2, 3))]",
    ]
    for text in texts:
        why, specs = replay(text, x2, want, want64, False, tmp)
        report(f"{text} -> {specs}", why)
    # print(model): named entries, nested ones; its AvgPool keeps PyTorch's defaults
    named = nn.Sequential(OrderedDict(pool1=nn.MaxPool2d(2), pool2=nn.MaxPool2d(2),
                                      gap=nn.AdaptiveAvgPool2d(1)))
    x = random_input(rng, 2, positive=False)
    text = str(named)
    want = named(x)
    why, specs = replay(text, x, want, named(x.double()), False, tmp)
    report(f"{text} -> {specs}", why)
    nested = nn.Sequential(nn.Sequential(nn.AvgPool1d(3, stride=2)),
                           nn.MaxPool1d(2, ceil_mode=True))
    x1 = random_input(rng, 1, positive=False)
    text = str(nested)
    why, specs = replay(text, x1, nested(x1), nested(x1.double()), False, tmp)
    report(f"{text} -> {specs}", why)


def refusal_cases(report):
    """Layers whose specs cannot say everything PyTorch does."""
    cases = [
        ("nn.MaxPool2d(2, return_indices=True)", "--indices FILE.npy"),
        ("nn.AdaptiveMaxPool1d(3, return_indices=True)", "--indices FILE.npy"),
        ("F.max_pool1d(x, 2, 2, 0, 1, False, True)", "--indices FILE.npy"),
        ("nn.FractionalMaxPool2d(2, output_size=3, return_indices=True)", "--indices FILE.npy"),
        ("F.fractional_max_pool2d(x, 2, 3, _random_samples=s)", "--samples FILE.npy"),
        (repr(nn.AdaptiveAvgPool2d((None, 3))), "None"),
        ("nn.Conv2d(3, 8, 3)", "not a pooling layer"),
    ]
    for text, phrase in cases:
        report(f"{text}: refused", expect_refusal(text, phrase))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=6)
    ap.add_argument("--seed", type=int, default=20261201)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    classes = pooling_classes()
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        layer_cases(rng, classes, args.per_class, tmp, report)
        fractional_cases(rng, classes, args.per_class, tmp, report)
        chain_cases(rng, tmp, report)
        refusal_cases(report)
    print(f"1..{report.n}")
    print(f"# PyTorch {torch.__version__}: {len(classes)} pooling classes; "
          f"{report.n - report.failed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
