#!/usr/bin/python3
"""int8 post-training quantization of a model file: the int8 model file, its golden files and error
list (`export`, a minute), and what int8 costs in accuracy on every test set (`evaluate`, slow).

The scheme (core/MODEL_FORMAT.md, "int8 models"; what the core's int8 paths compute):
  - input: the normalized pixels (x - mean) / std as int8, asymmetric (scale, zero point); the
    zero point stands for 0.0, so zero padding stays exact. In float32, as the core does it:
    q = clamp(round_half_even(((x - mean) / std) / scale) + zero_point, -128, 127);
  - conv weights: int8, symmetric, one scale per output channel (XNNPACK's qc8); bias int32 at
    scale input_scale * weight_scale[o];
  - every conv's output (after its ReLU) int8 with zero point -128 (ReLU outputs are >= 0),
    requantized from the int32 sum in float32: q = clamp(round_half_even(float(acc) * m[o]) + zp),
    m[o] = (input_scale * weight_scale[o]) / output_scale, each product rounded to float32 in that
    order (as XNNPACK computes it);
  - max pooling on int8 (exact: it commutes with the monotonic quantization);
  - the last conv's output is dequantized, (q - zp) * scale in float32: global average pooling,
    the dense layer and Grad-CAM stay float (112 x 11 multiply-adds; Grad-CAM then explains exactly
    the activations the int8 network computed).
Activation ranges come from training data only (MNIST training split, CVL training writers, UJI
training writers' strokes, training letters): the maximum, or a high percentile. `export` takes
the percentile given (default: the maximum); `evaluate --choose` picks it on the validation sets.

    /usr/bin/python3 model/quantize.py export     # model/digits_int8.safetensors (+ .onnx, QDQ),
                                                  # goldens, MNIST errors
    scripts/quantize-test-models                  # the same for the test models in tests/data
    /usr/bin/python3 model/quantize.py evaluate   # float vs the int8 file on every test set (~17 min)

`export` is deterministic (fixed seed, single thread): the same float model and data give the same
bytes. It reads the file back and builds the reference from the file alone (QuantNet.from_file),
so the golden logits and the MNIST error list describe exactly what the core loads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_model_file  # noqa: E402
import data_mix  # noqa: E402
import digits_format as dfmt  # noqa: E402
import export  # noqa: E402
import handwriting as hw  # noqa: E402
import mnist  # noqa: E402
from digits_format import FileNet  # noqa: E402

NAD = data_mix.NOT_A_DIGIT
HERE = os.path.dirname(os.path.abspath(__file__))
F32 = np.float32


class QuantNet:
    """The int8 network of a quantized file: integer convolutions (exact in float64: |acc| < 2^31),
    float32 requantization, float head."""

    def __init__(self, arch, tensors):
        """`arch` with its "quantization" entries and the int8 file's tensors (I8 weights, F32
        weight scales, I32 biases, float head)."""
        self.arch = arch
        self.mean, self.std = F32(arch["input"]["mean"]), F32(arch["input"]["std"])
        q = arch["quantization"]["input"]
        self.in_scale, self.in_zp = F32(q["scale"]), int(q["zero_point"])
        layers = arch["layers"]
        last_conv = max(i for i, l in enumerate(layers) if l["type"] == "conv2d")
        self.int8_end = last_conv + (1 if last_conv + 1 < len(layers) and layers[last_conv + 1]["type"] == "relu" else 0)
        self.layers = []
        scale, zp = self.in_scale, self.in_zp
        for i, l in enumerate(layers):
            t = l["type"]
            if t == "conv2d":
                ws = np.asarray(tensors[l["name"] + ".weight_scale"], F32)
                out_scale, out_zp = F32(l["output_scale"]), int(l["output_zero_point"])
                m = (F32(scale) * ws).astype(F32) / out_scale
                relu = i + 1 < len(layers) and layers[i + 1]["type"] == "relu"
                self.layers.append({"type": "conv", "l": l, "in_zp": zp, "out_zp": out_zp, "relu": relu,
                                    "wq": torch.from_numpy(np.asarray(tensors[l["name"] + ".weight"], np.float64)),
                                    "bq": torch.from_numpy(np.asarray(tensors[l["name"] + ".bias"], np.float64)),
                                    "m": torch.from_numpy(m.astype(F32)), "out_scale": out_scale,
                                    "last": i == last_conv})
                scale, zp = out_scale, out_zp
            elif t == "relu" and i <= self.int8_end:
                pass  # fused into the conv before it: a clamp at the output's zero point
            elif t == "maxpool2d" and i < self.int8_end:
                self.layers.append({"type": "pool", "l": l})
            else:  # after the dequantized last conv: float
                self.layers.append({"type": "float", "l": l})
        self.tensors = tensors

    @classmethod
    def from_file(cls, path):
        arch, tensors, _, _ = check_model_file.read_model(path)
        return cls(arch, tensors)

    def quantize_input(self, x):
        """x: pixels in [0, 1] -> int8 codes (as float64), in float32 arithmetic like the core."""
        x32 = np.asarray(x, F32)
        xn = (x32 - self.mean) / self.std
        q = np.clip(np.rint(xn / self.in_scale) + F32(self.in_zp), -128, 127)
        return torch.from_numpy(q.astype(np.float64))

    @torch.no_grad()
    def forward(self, x, head_dtype=torch.float32):
        """x: N x 1 x H x W pixels in [0, 1] -> (logits, dequantized output of the last int8 layer
        (float32), its int8 codes)."""
        q = self.quantize_input(x)
        cam = codes = h = None
        for L in self.layers:
            l = L["l"]
            if L["type"] == "conv":
                (ph, pw) = l["padding"]
                qp = F.pad(q - L["in_zp"], (pw, pw, ph, ph))  # zero point subtracted: pads are 0.0
                acc = F.conv2d(qp, L["wq"], L["bq"], stride=tuple(l["stride"]))
                r = torch.round(acc.float() * L["m"][None, :, None, None]) + L["out_zp"]  # half to even
                q = torch.clamp(r, L["out_zp"] if L["relu"] else -128, 127).double()
                if L["last"]:
                    codes = q
                    cam = ((q - L["out_zp"]) * float(L["out_scale"])).float()  # exact in float32
                    h = cam.to(head_dtype)
            elif L["type"] == "pool":
                q = F.max_pool2d(q, tuple(l["kernel"]), tuple(l["stride"]), tuple(l["padding"]))
            else:
                h = float_layer(l, h, self.tensors, head_dtype)
        return h, cam, codes

    def gradcam(self, x, cls, versus=None):
        """Autograd Grad-CAM through the float head, on the dequantized activations (float64); with
        `versus`, of the score logit[cls] - logit[versus]."""
        _, cam, _ = self.forward(x)
        A = cam.double().clone().requires_grad_(True)
        h = A
        for L in self.layers:
            if L["type"] == "float":
                h = float_layer(L["l"], h, self.tensors, torch.float64)
        (h[0, cls] - (h[0, versus] if versus is not None else 0)).backward()
        alpha = A.grad[0].mean(dim=(1, 2))
        m = torch.relu((alpha[:, None, None] * A[0]).sum(0)).detach()
        peak = m.max()
        return h[0].detach().numpy(), (m / peak if peak > 0 else torch.zeros_like(m)).numpy()


def float_layer(l, h, tensors, dtype):
    t = l["type"]
    if t == "relu":
        return torch.relu(h)
    if t == "maxpool2d":
        return F.max_pool2d(h, tuple(l["kernel"]), tuple(l["stride"]), tuple(l["padding"]))
    if t == "global_avg_pool":
        return h.mean(dim=(2, 3), keepdim=True)
    if t == "flatten":
        return h.reshape(h.shape[0], -1)
    if t == "dense":
        w = torch.from_numpy(np.asarray(tensors[l["name"] + ".weight"], np.float32)).to(dtype)
        b = torch.from_numpy(np.asarray(tensors[l["name"] + ".bias"], np.float32)).to(dtype)
        return F.linear(h, w, b)
    if t == "softmax":
        return h
    raise ValueError(t)


def quantize_model(arch, tensors, ranges, input_range):
    """(int8 architecture, int8 tensors) of the float model for the calibrated ranges: ranges[i] is
    the largest value of ReLU layer i's output; input_range the normalized input's (min, max)."""
    lo, hi = input_range
    in_scale = F32((hi - lo) / 255.0)
    in_zp = int(np.clip(round(-128 - lo / in_scale), -128, 127))
    qarch = json.loads(json.dumps(arch))
    qarch["quantization"] = {"scheme": "int8", "input": {"scale": float(in_scale), "zero_point": in_zp}}
    out = {}
    scale = in_scale
    layers = qarch["layers"]
    for i, l in enumerate(layers):
        if l["type"] == "conv2d":
            assert i + 1 < len(layers) and layers[i + 1]["type"] == "relu", \
                "every conv is followed by a ReLU in this scheme"
            w = np.asarray(tensors[l["name"] + ".weight"], F32)
            b = np.asarray(tensors[l["name"] + ".bias"], F32)
            # An all-zero channel gets scale 1 (its codes are 0 anyway): a tiny scale would make a
            # requantization multiplier the core refuses (below 2^-32).
            wmax = np.abs(w).reshape(len(w), -1).max(1)
            ws = np.where(wmax > 0, wmax.astype(F32) / F32(127), F32(1)).astype(F32)
            wq = np.clip(np.round(w / ws[:, None, None, None]), -127, 127).astype(np.int8)
            bs = (F32(scale) * ws).astype(F32)
            bq = np.round(b / bs).astype(np.int64)
            assert np.all(np.abs(bq) < 2**30), f"{l['name']}: bias does not fit"
            # A layer silent on all calibration data still needs a positive scale.
            out_scale = F32(max(float(ranges[i + 1]), 1e-6) / 255.0)
            l["output_scale"] = float(out_scale)
            l["output_zero_point"] = -128
            out[l["name"] + ".weight"] = wq
            out[l["name"] + ".weight_scale"] = ws
            out[l["name"] + ".bias"] = bq.astype(np.int32)
            scale = out_scale
        elif l["type"] == "dense":
            out[l["name"] + ".weight"] = np.asarray(tensors[l["name"] + ".weight"], F32)
            out[l["name"] + ".bias"] = np.asarray(tensors[l["name"] + ".bias"], F32)
    return qarch, out


@torch.no_grad()
def float_activations(arch, tensors, X):
    """The float network's normalized input and the outputs of the ReLUs up to the last conv's
    (the int8 part; for the ranges) on X: {"input": ..., layer index: ...}."""
    net = FileNet(arch, tensors, dtype=torch.float32)
    last_conv = max(i for i, l in enumerate(arch["layers"]) if l["type"] == "conv2d")
    relus = {i for i, l in enumerate(arch["layers"][:last_conv + 2]) if l["type"] == "relu"}
    _, outs = net.activations(X, relus)
    outs["input"] = (X.float() - net.mean) / net.std
    return outs


def calibration_set(data, n, seed):
    """Training data only: MNIST training split, CVL training writers, UJI training writers'
    strokes and training letters, drawn as the core draws them."""
    rng = np.random.default_rng(seed)
    d = mnist.load_or_exit(data)
    tr, _ = mnist.split_indices()
    xs = [torch.from_numpy(d["train_images"][rng.choice(tr, n, replace=False)].astype(np.float32) / 255)]
    Xc, _, _ = hw.cvl_splits()["train"]
    P, _ = data_mix.image_pool([Xc[k] for k in rng.choice(len(Xc), n // 2, replace=False)], exact=True)
    xs.append(P)
    uji = [s for s, _, w in hw.uji_digits() if w in hw.UJI_SPLIT["train"]]
    let = [s for s, _ in hw.letters_split("train")]
    pick = [uji[k] for k in rng.choice(len(uji), min(len(uji), n // 4), replace=False)]
    pick += [let[k] for k in rng.choice(len(let), min(len(let), n // 4), replace=False)]
    xs.append(data_mix.render(pick, exact=True))
    return torch.cat(xs).unsqueeze(1)


def ranges_from(acts, percentile):
    out = {}
    for k, v in acts.items():
        if k == "input":
            continue
        flat = v.flatten()
        out[k] = float(flat.max()) if percentile >= 100 else float(np.percentile(flat.numpy(), percentile))
    lo, hi = float(acts["input"].min()), float(acts["input"].max())
    return out, (lo, hi)


def accuracy(logits, y):
    digit = logits[:, :NAD].argmax(1)
    return float((digit == y).double().mean()), int((digit != y).sum())


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def golden_cases(qn, float_golden):
    """The float golden file's inputs through the int8 network: logits, the int8 codes of the last
    int8 layer (what the core must reproduce bit for bit) and Grad-CAM for the same classes."""
    cases = []
    for c in float_golden["cases"]:
        x = np.asarray(c["input"], F32).reshape(1, 1, 28, 28)
        logits, _, codes = qn.forward(x, head_dtype=torch.float64)
        cls = c["gradcam"]["class"]
        lg, cam = qn.gradcam(x, cls)
        assert np.allclose(lg, logits[0].numpy())
        versus = c["gradcam_versus"]["versus"]  # the float model's runner-up: the same pair
        _, cam_vs = qn.gradcam(x, cls, versus)

        def entry(m, **kw):
            return dict(kw, map=[dfmt._f(v) for v in m.reshape(-1)], height=int(m.shape[0]),
                        width=int(m.shape[1]),
                        heatmap=[dfmt._f(v) for v in dfmt.heatmap_on_ink(m, x).reshape(-1)])

        # codes are C x H x W; the core holds HWC
        hwc = codes[0].permute(1, 2, 0).reshape(-1).numpy().astype(int)
        cases.append({"name": c["name"], "label": c["label"], "input": c["input"],
                      "logits": [dfmt._f(v) for v in logits[0].numpy()],
                      "int8_output": [int(v) for v in hwc],
                      "gradcam": entry(cam, **{"class": cls}),
                      "gradcam_versus": entry(cam_vs, **{"class": cls, "versus": versus})})
    return cases


def onnx_qdq(arch, tensors, path):
    """The int8 model as ONNX in QDQ form (opset 13), for int8 peers (onnxruntime-web): the
    normalization, then QuantizeLinear/DequantizeLinear pairs around every int8 activation with
    the file's scales and zero points, per-channel DequantizeLinear int8 weights and int32 biases
    feeding float Conv nodes (a runtime fuses them into integer convolutions), and the float head.
    Input: N x C x H x W pixels in [0, 1]; output: logits."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    inits, nodes = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def qdq(x, scale, zp, tag):
        s_, z_ = const(f"{tag}_scale", F32(scale)), const(f"{tag}_zp", np.int8(zp))
        nodes.append(helper.make_node("QuantizeLinear", [x, s_, z_], [f"{tag}_q"]))
        nodes.append(helper.make_node("DequantizeLinear", [f"{tag}_q", s_, z_], [f"{tag}_dq"]))
        return f"{tag}_dq"

    inp = arch["input"]
    q = arch["quantization"]["input"]
    nodes.append(helper.make_node("Sub", ["input", const("mean", F32(inp["mean"]))], ["centered"]))
    nodes.append(helper.make_node("Div", ["centered", const("std", F32(inp["std"]))], ["normalized"]))
    x = qdq("normalized", q["scale"], q["zero_point"], "input")
    scale, zp = F32(q["scale"]), int(q["zero_point"])
    layers = arch["layers"]
    for i, l in enumerate(layers):
        t, tag = l["type"], f"l{i}"
        if t == "conv2d":
            n = l["name"]
            ws = np.asarray(tensors[n + ".weight_scale"], F32)
            w = const(n + ".weight", np.asarray(tensors[n + ".weight"]).astype(np.int8))
            nodes.append(helper.make_node("DequantizeLinear", [w, const(n + ".weight_scale", ws),
                                          const(n + ".weight_zp", np.zeros(len(ws), np.int8))],
                                          [n + ".weight_dq"], axis=0))
            b = const(n + ".bias", np.asarray(tensors[n + ".bias"]).astype(np.int32))
            bs = (scale * ws).astype(F32)
            nodes.append(helper.make_node("DequantizeLinear", [b, const(n + ".bias_scale", bs),
                                          const(n + ".bias_zp", np.zeros(len(ws), np.int32))],
                                          [n + ".bias_dq"], axis=0))
            (kh, kw), (sh, sw), (ph, pw) = l["kernel"], l["stride"], l["padding"]
            nodes.append(helper.make_node("Conv", [x, n + ".weight_dq", n + ".bias_dq"], [tag],
                                          kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw]))
            x = tag
            scale, zp = F32(l["output_scale"]), int(l["output_zero_point"])
            if not (i + 1 < len(layers) and layers[i + 1]["type"] == "relu"):
                x = qdq(x, scale, zp, tag)
        elif t == "relu":
            nodes.append(helper.make_node("Relu", [x], [tag]))
            x = tag
            if i > 0 and layers[i - 1]["type"] == "conv2d":
                x = qdq(x, scale, zp, tag)
        elif t == "maxpool2d":
            (kh, kw), (sh, sw), (ph, pw) = l["kernel"], l["stride"], l["padding"]
            nodes.append(helper.make_node("MaxPool", [x], [tag], kernel_shape=[kh, kw], strides=[sh, sw],
                                          pads=[ph, pw, ph, pw]))
            x = tag
        elif t == "global_avg_pool":
            nodes.append(helper.make_node("GlobalAveragePool", [x], [tag]))
            x = tag
        elif t == "flatten":
            nodes.append(helper.make_node("Flatten", [x], [tag], axis=1))
            x = tag
        elif t == "dense":
            n = l["name"]
            nodes.append(helper.make_node("Gemm", [x, const(n + ".weight", np.asarray(tensors[n + ".weight"], F32)),
                                                   const(n + ".bias", np.asarray(tensors[n + ".bias"], F32))],
                                          [tag], transB=1))
            x = tag
    nodes.append(helper.make_node("Identity", [x], ["logits"]))
    graph = helper.make_graph(
        nodes, "digits_int8",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", inp["channels"], inp["height"], inp["width"]])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", len(arch["labels"])])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="digits quantize.py")
    model.ir_version = 7  # what onnxruntime-web of 2022-2023 reads
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    return model


def mnist_errors(qn, data):
    """The MNIST test indices whose best digit is not the label."""
    d = mnist.load_or_exit(data)
    X = torch.from_numpy(d["test_images"].astype(np.float32) / np.float32(255)).unsqueeze(1)
    Y = torch.from_numpy(d["test_labels"].astype(np.int64))
    assert len(Y) == 10000
    logits = torch.cat([qn.forward(X[i:i + 1000])[0] for i in range(0, len(X), 1000)])
    return [int(i) for i in torch.nonzero(logits[:, :NAD].argmax(1) != Y).flatten()]


def cmd_export(args):
    arch, tensors, meta, _ = check_model_file.read_model(args.model)
    acts = float_activations(arch, tensors, calibration_set(args.data, args.calibration, args.seed))
    ranges, input_range = ranges_from(acts, args.percentile)
    qarch, qtensors = quantize_model(arch, tensors, ranges, input_range)
    command = (f"/usr/bin/python3 model/quantize.py export --model {os.path.relpath(args.model, mnist.REPO_ROOT)} "
               f"--calibration {args.calibration} --seed {args.seed} --percentile {args.percentile}")
    extra = {k: v for k, v in meta.items() if k not in ("format", "architecture")}
    if args.errors:  # the float model's accuracy line would describe another network
        err = mnist_errors(QuantNet(qarch, qtensors), args.data)
        extra["accuracy"] = (f"MNIST test {1 - len(err) / 10000:.2%} (the int8 reference of "
                             f"model/quantize.py; every test set: model/README.md)")
    extra["quantized_from"] = (f"int8 post-training quantization of {os.path.basename(args.model)} "
                             f"(sha256 {sha256(args.model)[:16]}): ranges at percentile {args.percentile} "
                             f"of {len(acts['input'])} training images (seed {args.seed}); {command}")
    dfmt.write_model_file(args.out, qarch, qtensors, extra_metadata=extra)
    print(f"wrote {args.out}: {os.path.getsize(args.out)} bytes")

    # Everything below reads the file back: the reference is what the core loads.
    qn = QuantNet.from_file(args.out)
    with open(args.float_golden) as f:
        fg = json.load(f)
    dfmt.write_golden(args.golden, os.path.basename(args.out), golden_cases(qn, fg),
                      extra={"int8_output_layer": qn.int8_end,
                             "note": "int8_output: the int8 codes of layer int8_output_layer, HWC"})
    print(f"wrote {args.golden}")
    if args.onnx:  # the same int8 network as ONNX QDQ, checked against the reference
        mp = onnx_qdq(qn.arch, qn.tensors, args.onnx)
        x = np.asarray([c["input"] for c in fg["cases"]], F32).reshape(-1, 1, 28, 28)
        got = export.onnx_numpy_run(mp, x)
        ref = qn.forward(x, head_dtype=torch.float64)[0].numpy()
        diff = float(np.abs(got - ref).max())
        print(f"wrote {args.onnx}: {os.path.getsize(args.onnx)} bytes; numpy QDQ evaluation vs the "
              f"reference on the {len(x)} golden inputs: max |logit diff| {diff:.2e}")
        assert (got.argmax(1) == ref.argmax(1)).all() and diff < 0.05, "the QDQ graph is another network"
    if not args.errors:
        return
    assert mnist_errors(qn, args.data) == err, "the file reads back as another network"
    with open(args.errors, "w") as f:
        json.dump({"model": os.path.basename(args.out), "count": len(err),
                   "accuracy": 1 - len(err) / 10000,
                   "note": "MNIST t10k indices (0-based) the int8 reference (model/quantize.py "
                           "QuantNet, read from the file) gets wrong: best digit != label",
                   "error_indices": err}, f, indent=1)
        f.write("\n")
    print(f"MNIST test: int8 {1 - len(err) / 10000:.4%} ({len(err)} errors) -> {args.errors}")


def cmd_evaluate(args):
    arch, tensors, _, _ = check_model_file.read_model(args.model)
    if args.choose:  # which percentile the validation sets prefer (training-data ranges)
        acts = float_activations(arch, tensors, calibration_set(args.data, args.calibration, args.seed))
        val = data_mix.eval_sets("val", args.data)
        for pct in (100, 99.999, 99.99, 99.9):
            qn = QuantNet(*quantize_model(arch, tensors, *ranges_from(acts, pct)))
            errs = sum(accuracy(qn.forward(X)[0], y)[1] for name, (X, y) in val.items()
                       if name in ("mnist", "cvl", "uji", "crohme"))
            print(f"ranges at percentile {pct}: validation digit errors {errs}")
    qn = QuantNet.from_file(args.int8)
    test = data_mix.eval_sets("test", args.data)
    for name, (X, y) in test.items():
        fl = torch.from_numpy(export.file_net_predict(arch, tensors, X))
        ql = qn.forward(X)[0]
        agree = float((fl.argmax(1) == ql.argmax(1)).double().mean())
        if name in export.NEG_SETS:
            print(f"{name:8s} class agreement float vs int8 {agree:.4f}")
            continue
        fa, fe = accuracy(fl, y)
        qa, qe = accuracy(ql, y)
        print(f"{name:8s} float {fa:.4%} ({fe} errors)  int8 {qa:.4%} ({qe} errors)  "
              f"delta {qa - fa:+.4%}  class agreement {agree:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("export", "evaluate"):
        p = sub.add_parser(name)
        p.add_argument("--model", default=os.path.join(HERE, "digits.safetensors"), help="the float model")
        p.add_argument("--data", default=mnist.DEFAULT_DATA)
        p.add_argument("--calibration", type=int, default=2000, help="MNIST training images (and half "
                       "as many CVL, a quarter UJI and letters)")
        p.add_argument("--seed", type=int, default=11)
    e = sub.choices["export"]
    e.add_argument("--percentile", type=float, default=100.0)
    e.add_argument("--out", default=os.path.join(HERE, "digits_int8.safetensors"))
    e.add_argument("--onnx", default=os.path.join(HERE, "digits_int8.onnx"),
                   help="the int8 model as ONNX QDQ ('' to skip)")
    e.add_argument("--errors", default=os.path.join(HERE, "int8_test_errors.json"),
                   help="the MNIST test errors of the int8 file ('' to skip)")
    e.add_argument("--float-golden", default=os.path.join(mnist.REPO_ROOT, "tests", "data", "digits.golden.json"))
    e.add_argument("--golden", default=os.path.join(mnist.REPO_ROOT, "tests", "data", "digits_int8.golden.json"))
    v = sub.choices["evaluate"]
    v.add_argument("--int8", default=os.path.join(HERE, "digits_int8.safetensors"))
    v.add_argument("--choose", action="store_true", help="also score each percentile on the validation sets")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    {"export": cmd_export, "evaluate": cmd_evaluate}[args.cmd](args)


if __name__ == "__main__":
    main()
