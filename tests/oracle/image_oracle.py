"""Image oracle: pool against Pillow and NumPy on real photographs.

Photographs come from Debian's python3-skimage (its data/ folder). For each image kind
(gray, RGB, RGBA, palette, 16-bit) and each input format (PNG, JPEG, PNM), pool's output
in each format is compared pixel for pixel with:
  avg KxK   Pillow's Image.reduce(K)  (integer averages round half up)
  max, min  NumPy's block max / min
  -r 3      three successive Pillow reductions
  RGBA avg  the exact premultiplied average, sum(c*a)/sum(a), in NumPy
  --linear  the average in linear light, in NumPy (float64)
JPEG output is lossy: it is compared with Pillow's encoding of the expected pixels.

usage: image_oracle.py   ($POOL names the binary)
"""
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import png
from PIL import Image
import skimage

POOL = os.environ.get("POOL", "pool")
# options for every pooling run: a crew of 2 threads whatever the processors (the
# *_portable.sh runs give -j 1)
POOL_ARGS = os.environ.get("POOL_ORACLE_ARGS", "-j 2").split()
DATA = os.path.join(os.path.dirname(skimage.__file__), "data")
failures = []
tests = 0


def check(name, ok, detail=""):
    """One TAP test."""
    global tests
    tests += 1
    if ok:
        print(f"ok {tests} - {name}")
    else:
        failures.append(f"{name}: {detail}")
        print(f"not ok {tests} - {name}: {detail}")


def pool(args, stdin=None):
    p = subprocess.run([POOL, *POOL_ARGS, *args], input=stdin, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"pool {' '.join(args)}: {p.stderr.decode().strip()}")
    return p.stdout


def load_pixels(path):
    """What pool should decode: Pillow's pixels, palette and tRNS expanded (PNM: our own
    reader below, since Pillow reads 16-bit PPM as 8-bit)."""
    if isinstance(path, str) and path.endswith(".pnm"):
        with open(path, "rb") as f:
            return decode_pnm(f.read())
    im = Image.open(path)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("I", "I;16", "I;16B"):
        return np.asarray(im).astype(np.uint16)
    if im.mode == "1":
        im = im.convert("L")
    return np.asarray(im)


def crop_even(a, k):
    h, w = a.shape[0] // k * k, a.shape[1] // k * k
    return a[:h, :w]


def blocks(a, k):
    a = crop_even(a, k)
    h, w = a.shape[0] // k, a.shape[1] // k
    return a.reshape(h, k, w, k, *a.shape[2:])


def half_up_div(num, den):
    return (2 * num + den) // (2 * den)


def avg_exact(a, k):
    b = blocks(a, k).astype(np.int64)
    return half_up_div(b.sum(axis=(1, 3)), k * k).astype(a.dtype)


def avg_premultiplied(a, k):
    b = blocks(a, k).astype(np.int64)
    alpha = b[..., -1:]
    weighted = (b[..., :-1] * alpha).sum(axis=(1, 3))
    asum = alpha.sum(axis=(1, 3))
    colour = np.where(asum > 0, half_up_div(weighted, np.maximum(asum, 1)), 0)
    return np.concatenate([colour, half_up_div(asum, k * k)], axis=-1).astype(a.dtype)


def srgb_to_linear(e):
    return np.where(e <= 0.04045, e / 12.92, ((e + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x):
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def avg_linear(a, k):
    top = 255.0 if a.dtype == np.uint8 else 65535.0
    lin = srgb_to_linear(blocks(a, k).astype(np.float64) / top)
    # pool's order of summation: each row's window, then the rows
    lin = sum(lin[:, i, :, :].sum(axis=2) for i in range(k)) / (k * k)
    return np.floor(linear_to_srgb(np.clip(lin, 0, 1)) * top + 0.5).astype(a.dtype)


def pillow_reduce(a, k, times=1):
    im = Image.fromarray(a)
    for _ in range(times):
        im = im.reduce(k)
    return np.asarray(im)


def decode_pnm(data):
    """P5, P6 and P7 as pool writes them (Pillow reads no PAM and no 16-bit PPM)."""
    if data[:2] == b"P7":
        head, _, body = data.partition(b"ENDHDR\n")
        fields = dict(line.split(b" ", 1) for line in head.split(b"\n")[1:] if b" " in line)
        w, h, c = int(fields[b"WIDTH"]), int(fields[b"HEIGHT"]), int(fields[b"DEPTH"])
        maxval = int(fields[b"MAXVAL"])
    else:
        tokens = data.split(maxsplit=4)
        c = 1 if tokens[0] == b"P5" else 3
        w, h, maxval, body = int(tokens[1]), int(tokens[2]), int(tokens[3]), tokens[4]
    dtype = np.uint8 if maxval < 256 else np.dtype(">u2")
    a = np.frombuffer(body, dtype=dtype, count=w * h * c).astype(
        np.uint8 if maxval < 256 else np.uint16)
    return a.reshape(h, w) if c == 1 else a.reshape(h, w, c)


def decode_png16(data):
    """16-bit colour PNG, which Pillow reads as 8-bit: decoded by pypng (python3-png)."""
    width, height, rows, info = png.Reader(bytes=data).asDirect()
    a = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    planes = info["planes"]
    return a.reshape(height, width, planes) if planes > 1 else a.reshape(height, width)


def decode(data, fmt):
    if fmt == "npy":
        return np.load(io.BytesIO(data))
    if fmt == "pnm":
        return decode_pnm(data)
    return load_pixels(io.BytesIO(data))


def save(a, path, fmt):
    """Writes pixels as a PNG, JPEG or PNM input file with Pillow (16-bit: PNG/PNM by hand)."""
    if fmt == "pnm-pam":
        h, w, c = a.shape
        maxval = 255 if a.dtype == np.uint8 else 65535
        with open(path, "wb") as f:
            f.write(b"P7\nWIDTH %d\nHEIGHT %d\nDEPTH %d\nMAXVAL %d\nTUPLTYPE %s\nENDHDR\n" % (
                w, h, c, maxval, b"RGB_ALPHA" if c == 4 else b"GRAYSCALE_ALPHA"))
            f.write(a.astype(">u2" if maxval > 255 else np.uint8).tobytes())
        return
    if a.dtype == np.uint16:
        if fmt == "pnm":
            c = 1 if a.ndim == 2 else a.shape[2]
            magic = {1: b"P5", 3: b"P6"}[c]
            with open(path, "wb") as f:
                f.write(b"%s\n%d %d\n65535\n" % (magic, a.shape[1], a.shape[0]))
                f.write(a.astype(">u2").tobytes())
            return
        Image.fromarray(a, "I;16").save(path)
        return
    im = Image.fromarray(a)
    if fmt == "jpeg":
        im.save(path, quality=95)
    elif fmt == "pnm":
        im.save(path, format="PPM")
    else:
        im.save(path)


def images():
    """(name, pixels, formats it can be stored in) for real photographs of each kind."""
    astro = np.asarray(Image.open(os.path.join(DATA, "astronaut.png")).convert("RGB"))
    camera = np.asarray(Image.open(os.path.join(DATA, "camera.png")))
    coffee = np.asarray(Image.open(os.path.join(DATA, "coffee.png")).convert("RGB"))
    logo = np.asarray(Image.open(os.path.join(DATA, "logo.png")))            # real alpha
    horse = np.asarray(Image.open(os.path.join(DATA, "horse.png")))
    chelsea = np.asarray(Image.open(os.path.join(DATA, "chelsea.png")).convert("RGB"))
    yield "camera-gray", camera, ["png", "jpeg", "pnm"]
    yield "astronaut-rgb", astro, ["png", "jpeg", "pnm"]
    yield "coffee-rgb-odd", coffee[:399, :599], ["png", "pnm"]
    yield "logo-rgba", logo, ["png"]
    yield "horse-rgba", horse, ["png"]
    yield "camera-16bit", camera.astype(np.uint16) * 257 + np.arange(512, dtype=np.uint16), \
        ["png", "pnm"]
    yield "chelsea-16bit-rgb", chelsea.astype(np.uint16) * 256 + 128, ["pnm"]
    yield "coffee-16bit-rgba", np.dstack([coffee.astype(np.uint16) * 257,
                                          np.linspace(0, 65535, 600 * 400).reshape(400, 600)
                                          .astype(np.uint16)]), ["pnm-pam"]


def run_image(name, a, formats, tmp):
    alpha = a.ndim == 3 and a.shape[2] in (2, 4)
    for fmt in formats:
        ext = {"png": "png", "jpeg": "jpg", "pnm": "pnm", "pnm-pam": "pnm"}[fmt]
        src = os.path.join(tmp, f"{name}.{ext}")
        save(a, src, fmt)
        pixels = load_pixels(src)           # the decoded input (JPEG: Pillow's decode)
        check(f"{name} {fmt}: decode", np.array_equal(
            decode(pool(["-k", "1", "-f", "npy", src]), "npy"), pixels),
            "pool's decode differs from Pillow's")
        for k in (2, 3):
            want = avg_premultiplied(pixels, k) if alpha else avg_exact(pixels, k)
            if k == 2 and pixels.dtype == np.uint8 and not alpha:
                # Pillow's reduce(2) is exact too (its 3x3 divides by a fixed-point
                # reciprocal and is off by one on a few percent of pixels)
                check(f"{name} {fmt}: NumPy's exact 2x2 average is Pillow's reduce(2)",
                      np.array_equal(want, pillow_reduce(crop_even(pixels, 2), 2)))
            for out in ("png", "pnm", "npy"):
                data = pool(["-m", "avg", "-k", str(k), "-f", out, src])
                if out == "png" and pixels.dtype == np.uint16 and pixels.ndim == 3:
                    got = decode_png16(data)
                else:
                    got = decode(data, out)
                check(f"{name} {fmt}->{out}: avg {k}x{k}", got.shape == want.shape and
                      np.array_equal(got, want),
                      f"{np.count_nonzero(got != want) if got.shape == want.shape else got.shape}"
                      f" pixels differ")
        for mode, fn in (("max", np.max), ("min", np.min)):
            want = fn(blocks(pixels, 2), axis=(1, 3))
            got = decode(pool(["-m", mode, "-k", "2", "-f", "npy", src]), "npy")
            check(f"{name} {fmt}: {mode} 2x2", np.array_equal(got, want))
        if pixels.dtype == np.uint8 and not alpha:
            want = pillow_reduce(crop_even(pixels, 8), 2, times=3)
            got = decode(pool(["-m", "avg", "-k", "2", "-r", "3", "-f", "png", src]), "png")
            check(f"{name} {fmt}: avg 2x2 -r 3", np.array_equal(got, want))
            if pixels.shape[0] % 2 or pixels.shape[1] % 2:
                want = pillow_reduce(pixels, 2)   # Pillow keeps the partial last row/column
                got = decode(pool(["-m", "avg", "-k", "2", "--ceil", "-f", "png", src]), "png")
                check(f"{name} {fmt}: avg 2x2 --ceil", np.array_equal(got, want))
            want = avg_linear(pixels, 2)
            got = decode(pool(["-m", "avg", "-k", "2", "--linear", "-f", "png", src]), "png")
            check(f"{name} {fmt}: avg 2x2 --linear", np.array_equal(got, want),
                  f"max diff {np.abs(got.astype(int) - want).max()}")
        if pixels.dtype == np.uint8 and pixels.ndim in (2, 3) and not alpha:
            # JPEG out: the same encoder settings as Pillow's save(quality=90)
            want = pillow_reduce(crop_even(pixels, 2), 2)
            buf = io.BytesIO()
            Image.fromarray(want).save(buf, format="JPEG", quality=90)
            got = decode(pool(["-m", "avg", "-k", "2", "-f", "jpeg", src]), "jpeg")
            ref = decode(buf.getvalue(), "jpeg")
            diff = np.abs(got.astype(int) - ref.astype(int))
            check(f"{name} {fmt}->jpeg: avg 2x2 q90", got.shape == ref.shape and diff.max() <= 2,
                  f"max diff {diff.max()}")


def run_palette(tmp):
    src = os.path.join(DATA, "green_palette.png")
    pixels = load_pixels(src)
    got = decode(pool(["-m", "avg", "-k", "2", "-f", "png", src]), "png")
    check("green_palette: avg 2x2", np.array_equal(got, pillow_reduce(crop_even(pixels, 2), 2)))
    # a palette with transparency, made from a real photo
    astro = Image.open(os.path.join(DATA, "astronaut.png")).convert("RGB").quantize(64)
    astro.info["transparency"] = 0
    path = os.path.join(tmp, "astro-p.png")
    astro.save(path, transparency=0)
    pixels = load_pixels(path)
    got = decode(pool(["-m", "avg", "-k", "2", "-f", "png", path]), "png")
    check("astronaut palette+tRNS: avg 2x2", np.array_equal(got, avg_premultiplied(pixels, 2)))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for name, a, formats in images():
            run_image(name, a, formats, tmp)
        run_palette(tmp)
    print(f"1..{tests}")
    print(f"# {tests - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
