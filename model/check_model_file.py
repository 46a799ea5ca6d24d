#!/usr/bin/python3
"""Independent reader for digits model files (numpy only; shares no code with digits_format.py).

Parses the safetensors container, validates it the way MODEL_FORMAT.md asks (offsets, sizes,
shapes vs architecture, every tensor used, no NaN), runs the network with plain numpy in float64
and, given golden files, compares logits and Grad-CAM maps (Grad-CAM by a hand-written backward
pass: dense transpose, relu mask, avg-pool 1/HW, max-pool argmax routing, conv transpose).
Float (F32/F16) models only: an int8 model is refused with a message (its reference is
model/quantize.py's integer one).

    /usr/bin/python3 model/check_model_file.py tests/data/tiny.safetensors tests/data/tiny.golden.json
"""

import json
import struct
import sys

import numpy as np


def read_model(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("file too short")
    n = struct.unpack("<Q", data[:8])[0]
    if 8 + n > len(data):
        raise ValueError("header length beyond end of file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    buf = data[8 + n:]
    meta = header.pop("__metadata__")
    assert meta["format"] == "digits/1", meta.get("format")
    assert all(isinstance(v, str) for v in meta.values()), "metadata values must be strings"
    arch = json.loads(meta["architecture"])
    tensors = {}
    spans = []
    for name, e in header.items():
        dt = {"F32": "<f4", "F16": "<f2", "I8": "i1", "I32": "<i4"}[e["dtype"]]
        b, en = e["data_offsets"]
        size = int(np.prod(e["shape"])) * np.dtype(dt).itemsize
        assert 0 <= b <= en <= len(buf), f"{name}: offsets out of range"
        assert en - b == size, f"{name}: size mismatch"
        spans.append((b, en, name))
        t = np.frombuffer(buf[b:en], dtype=dt).reshape(e["shape"]).astype(np.float64)
        assert np.all(np.isfinite(t)), f"{name}: non-finite"
        tensors[name] = t
    spans.sort()
    for (b1, e1, n1), (b2, e2, n2) in zip(spans, spans[1:]):
        assert e1 <= b2, f"{n1} overlaps {n2}"
    return arch, tensors, meta, header


def conv2d(x, w, b, stride, pad):
    c, h, wd = x.shape
    o, ci, kh, kw = w.shape
    assert ci == c
    xp = np.pad(x, ((0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    oh = (h + 2 * pad[0] - kh) // stride[0] + 1
    ow = (wd + 2 * pad[1] - kw) // stride[1] + 1
    out = np.zeros((o, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + stride[0] * (oh - 1) + 1:stride[0], j:j + stride[1] * (ow - 1) + 1:stride[1]]
            out += np.einsum("oc,chw->ohw", w[:, :, i, j], patch)
    return out + b[:, None, None]


def conv2d_backward_input(g, w, in_shape, stride, pad):
    c, h, wd = in_shape
    o, ci, kh, kw = w.shape
    _, oh, ow = g.shape
    gx = np.zeros((c, h + 2 * pad[0], wd + 2 * pad[1]))
    for i in range(kh):
        for j in range(kw):
            gx[:, i:i + stride[0] * (oh - 1) + 1:stride[0], j:j + stride[1] * (ow - 1) + 1:stride[1]] += \
                np.einsum("oc,ohw->chw", w[:, :, i, j], g)
    return gx[:, pad[0]:pad[0] + h, pad[1]:pad[1] + wd]


def maxpool(x, k, s, p):
    c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=-np.inf)
    oh = (h + 2 * p[0] - k[0]) // s[0] + 1
    ow = (w + 2 * p[1] - k[1]) // s[1] + 1
    out = np.full((c, oh, ow), -np.inf)
    arg = np.zeros((c, oh, ow, 2), dtype=int)
    for i in range(k[0]):  # scan order row-major: first maximum wins (strict >), like PyTorch
        for j in range(k[1]):
            v = xp[:, i:i + s[0] * (oh - 1) + 1:s[0], j:j + s[1] * (ow - 1) + 1:s[1]]
            m = v > out
            out = np.where(m, v, out)
            rows = np.arange(oh)[None, :, None] * s[0] + i - p[0]
            cols = np.arange(ow)[None, None, :] * s[1] + j - p[1]
            arg[..., 0] = np.where(m, rows, arg[..., 0])
            arg[..., 1] = np.where(m, cols, arg[..., 1])
    return out, arg


def forward(arch, t, img):
    inp = arch["input"]
    x = (np.asarray(img, dtype=np.float32).astype(np.float64).reshape(
        inp["channels"], inp["height"], inp["width"]) - inp["mean"]) / inp["std"]
    tape = []
    for l in arch["layers"]:
        typ = l["type"]
        tape.append((l, x))
        if typ == "conv2d":
            w, b = t[l["name"] + ".weight"], t[l["name"] + ".bias"]
            assert w.shape == (l["out_channels"], l["in_channels"], *l["kernel"]), l["name"]
            assert b.shape == (l["out_channels"],)
            x = conv2d(x, w, b, l["stride"], l["padding"])
        elif typ == "relu":
            x = np.maximum(x, 0)
        elif typ == "maxpool2d":
            x, _ = maxpool(x, l["kernel"], l["stride"], l["padding"])
        elif typ == "global_avg_pool":
            x = x.mean(axis=(1, 2), keepdims=True)
        elif typ == "flatten":
            x = x.reshape(-1)
        elif typ == "dense":
            w, b = t[l["name"] + ".weight"], t[l["name"] + ".bias"]
            assert w.shape == (l["out_features"], l["in_features"]), l["name"]
            x = w @ x + b
        elif typ == "softmax":
            pass
        else:
            raise ValueError(typ)
    return x, tape


def gradcam(arch, t, img, cls):
    logits, tape = forward(arch, t, img)
    gl = arch["gradcam_layer"]
    g = np.zeros_like(logits)
    g[cls] = 1.0
    for idx in range(len(arch["layers"]) - 1, gl, -1):
        l, xin = tape[idx]
        typ = l["type"]
        if typ == "dense":
            g = t[l["name"] + ".weight"].T @ g
        elif typ == "flatten":
            g = g.reshape(xin.shape)
        elif typ == "global_avg_pool":
            g = np.broadcast_to(g / (xin.shape[1] * xin.shape[2]), xin.shape).copy()
        elif typ == "relu":
            g = g * (xin > 0)
        elif typ == "maxpool2d":
            _, arg = maxpool(xin, l["kernel"], l["stride"], l["padding"])
            gx = np.zeros_like(xin)
            for c in range(g.shape[0]):
                for i in range(g.shape[1]):
                    for j in range(g.shape[2]):
                        gx[c, arg[c, i, j, 0], arg[c, i, j, 1]] += g[c, i, j]
            g = gx
        elif typ == "conv2d":
            g = conv2d_backward_input(g, t[l["name"] + ".weight"], xin.shape, l["stride"], l["padding"])
        elif typ == "softmax":
            pass
    # activations at gradcam layer = input of layer gl+1 (or the final output)
    A = tape[gl + 1][1] if gl + 1 < len(tape) else logits
    alpha = g.mean(axis=(1, 2))
    cam = np.maximum((alpha[:, None, None] * A).sum(0), 0)
    m = cam.max()
    return logits, (cam / m if m > 0 else np.zeros_like(cam))


def check(model_path, golden_paths, tol=1e-4):
    arch, t, meta, header = read_model(model_path)
    if "quantization" in arch:  # the int8 reference is quantize.py's; its goldens test the core
        raise SystemExit(f"{model_path}: an int8 model (architecture has \"quantization\"); this "
                         "checker reads float (F32/F16) models only. int8 files are checked against "
                         "model/quantize.py's integer reference by the core's golden tests "
                         "(tests/data/*_int8.golden.json)")
    used = {l["name"] + s for l in arch["layers"] if l["type"] in ("conv2d", "dense")
            for s in (".weight", ".bias")}
    assert used == set(t), f"tensor set mismatch: {used ^ set(t)}"
    assert len(arch["labels"]) == [l for l in arch["layers"] if l["type"] == "dense"][-1]["out_features"]
    dtypes = sorted({e["dtype"] for e in header.values()})
    print(f"{model_path}: {len(t)} tensors {dtypes}, {sum(v.size for v in t.values())} params, "
          f"{len(arch['layers'])} layers, gradcam_layer {arch['gradcam_layer']}")
    worst_l = worst_c = 0.0
    for gp in golden_paths:
        with open(gp) as f:
            gold = json.load(f)
        if not gold.get("cases"):  # a golden file that checks nothing must not pass as checked
            raise SystemExit(f"{gp}: no golden cases")
        for c in gold["cases"]:
            logits, cam = gradcam(arch, t, c["input"], c["gradcam"]["class"])
            assert cam.shape == (c["gradcam"]["height"], c["gradcam"]["width"])
            dl = np.max(np.abs(logits - np.array(c["logits"])))
            dc = np.max(np.abs(cam.reshape(-1) - np.array(c["gradcam"]["map"])))
            worst_l, worst_c = max(worst_l, dl), max(worst_c, dc)
            status = "ok" if dl < tol and dc < tol else "MISMATCH"
            print(f"  {gp}: {c['name']}: |dlogits| {dl:.2e} |dcam| {dc:.2e} {status}")
            if status != "ok":
                raise SystemExit(1)
    print(f"  worst |dlogits| {worst_l:.2e}, worst |dcam| {worst_c:.2e}")
    return arch, t


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    check(sys.argv[1], sys.argv[2:])
