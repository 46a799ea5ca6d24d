#!/usr/bin/python3
"""int8 post-training quantization of a model file, simulated exactly as an integer kernel would
run it, and what it costs in accuracy.

The scheme (what the core's int8 path is to compute):
  - input: the normalized pixels (x - mean) / std as int8, asymmetric (scale, zero point); the
    zero point stands for 0.0, so zero padding stays exact;
  - conv weights: int8, symmetric, one scale per output channel (XNNPACK's qc8); bias int32 at
    scale input_scale * weight_scale[o];
  - every conv's output (after its ReLU) int8 with zero point -128 (ReLU outputs are >= 0),
    requantized from the int32 sum in float32: q = clamp(round_half_even(acc * m[o]) + zp);
  - max pooling on int8 (exact: it commutes with the monotonic quantization);
  - the last conv's output is dequantized: global average pooling, the dense layer and Grad-CAM
    stay float (112 x 11 multiply-adds; Grad-CAM then explains exactly the activations the int8
    network computed).
Activation ranges come from training data only (MNIST training split, CVL training writers, UJI
training writers' strokes, training letters): the maximum, or a high percentile, chosen on the
validation sets.

    /usr/bin/python3 model/quantize.py --model model/digits.safetensors --data ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_model_file  # noqa: E402
import data_mix  # noqa: E402
import export  # noqa: E402
import handwriting as hw  # noqa: E402
import mnist  # noqa: E402
from digits_format import FileNet  # noqa: E402

NAD = data_mix.NOT_A_DIGIT


def round_half_even(x):
    return torch.round(x)  # torch.round rounds half to even


class QuantNet:
    """The int8 network: integer convolutions (exact in float64: |acc| < 2^31), float32
    requantization."""

    def __init__(self, arch, tensors, ranges, input_range):
        self.arch = arch
        self.mean, self.std = float(arch["input"]["mean"]), float(arch["input"]["std"])
        lo, hi = input_range
        self.in_scale = np.float32((hi - lo) / 255.0)
        self.in_zp = int(np.clip(round(-128 - lo / self.in_scale), -128, 127))
        self.layers = []
        scale, zp = self.in_scale, self.in_zp
        last_conv = max(i for i, l in enumerate(arch["layers"]) if l["type"] == "conv2d")
        for i, l in enumerate(arch["layers"]):
            t = l["type"]
            if t == "conv2d":
                w = np.asarray(tensors[l["name"] + ".weight"], np.float32)
                b = np.asarray(tensors[l["name"] + ".bias"], np.float32)
                ws = np.maximum(np.abs(w).reshape(len(w), -1).max(1), 1e-12).astype(np.float32) / np.float32(127)
                wq = np.clip(np.round(w / ws[:, None, None, None]), -127, 127)
                bs = (np.float32(scale) * ws).astype(np.float32)
                bq = np.round(b / bs).astype(np.int64)
                relu = i + 1 < len(arch["layers"]) and arch["layers"][i + 1]["type"] == "relu"
                assert relu, "every conv is followed by a ReLU in this scheme"
                out_scale = np.float32(ranges[i + 1] / 255.0)
                self.layers.append({"type": "conv", "l": l, "wq": torch.from_numpy(wq).double(),
                                    "bq": torch.from_numpy(bq).double(), "in_zp": zp,
                                    "m": torch.from_numpy((bs / out_scale).astype(np.float32)),
                                    "out_scale": out_scale, "last": i == last_conv})
                scale, zp = out_scale, -128
            elif t == "relu":
                pass  # fused: the output's zero point -128 is the clamp
            elif t == "maxpool2d":
                self.layers.append({"type": "pool", "l": l})
            else:  # global_avg_pool, flatten, dense: float, after the dequantized last conv
                self.layers.append({"type": "float", "l": l, "i": i})
        self.tensors = tensors

    def quantize_input(self, x):
        xn = ((x.float() - self.mean) / self.std).float()
        return torch.clamp(round_half_even(xn / float(self.in_scale)) + self.in_zp, -128, 127)

    @torch.no_grad()
    def forward(self, x):
        """x: N x 1 x 28 x 28 pixels in [0, 1] -> (logits float32, last conv's dequantized output)."""
        q = self.quantize_input(x).double()
        cam = None
        for L in self.layers:
            l = L["l"]
            if L["type"] == "conv":
                (ph, pw) = l["padding"]
                qp = F.pad(q - L["in_zp"], (pw, pw, ph, ph))  # zero point subtracted: pads are 0.0
                acc = F.conv2d(qp, L["wq"], L["bq"], stride=tuple(l["stride"]))
                r = round_half_even(acc.float() * L["m"][None, :, None, None]) - 128
                q = torch.clamp(r, -128, 127).double()
                if L["last"]:
                    cam = ((q + 128) * float(L["out_scale"])).float()
                    h = cam
            elif L["type"] == "pool":
                q = F.max_pool2d(q, tuple(l["kernel"]), tuple(l["stride"]), tuple(l["padding"]))
            else:
                t = l["type"]
                if t == "global_avg_pool":
                    h = h.mean(dim=(2, 3), keepdim=True)
                elif t == "flatten":
                    h = h.reshape(h.shape[0], -1)
                elif t == "dense":
                    h = F.linear(h, torch.from_numpy(np.asarray(self.tensors[l["name"] + ".weight"], np.float32)),
                                 torch.from_numpy(np.asarray(self.tensors[l["name"] + ".bias"], np.float32)))
        return h, cam


@torch.no_grad()
def float_activations(arch, tensors, X):
    """The float network's normalized input and ReLU outputs before its float head (for the
    ranges) on X: {"input": ..., layer index: ...}."""
    net = FileNet(arch, tensors, dtype=torch.float32)
    head = next(i for i, l in enumerate(arch["layers"]) if l["type"] == "global_avg_pool")
    relus = {i for i, l in enumerate(arch["layers"][:head]) if l["type"] == "relu"}
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(mnist.REPO_ROOT, "model", "digits.safetensors"))
    ap.add_argument("--data", default=mnist.DEFAULT_DATA)
    ap.add_argument("--calibration", type=int, default=2000, help="MNIST training images (and half as "
                    "many CVL, a quarter UJI and letters)")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    torch.set_num_threads(1)
    arch, tensors, _, _ = check_model_file.read_model(args.model)
    acts = float_activations(arch, tensors, calibration_set(args.data, args.calibration, args.seed))
    val = data_mix.eval_sets("val", args.data)
    choice = None
    for pct in (100, 99.999, 99.99, 99.9):
        ranges, input_range = ranges_from(acts, pct)
        qn = QuantNet(arch, tensors, ranges, input_range)
        errs = 0
        for name, (X, y) in val.items():
            if name in ("mnist", "cvl", "uji"):
                errs += accuracy(qn.forward(X)[0], y)[1]
        print(f"ranges at percentile {pct}: validation digit errors {errs}")
        if choice is None or errs < choice[1]:
            choice = (pct, errs, qn)
    pct, _, qn = choice
    print(f"chosen: percentile {pct}")
    test = data_mix.eval_sets("test", args.data)
    for name, (X, y) in test.items():
        fl = torch.from_numpy(export.file_net_predict(arch, tensors, X))
        ql, _ = qn.forward(X)
        agree = float((fl.argmax(1) == ql.argmax(1)).double().mean())
        if name in ("letters", "synth"):
            print(f"{name:8s} class agreement float vs int8 {agree:.4f}")
            continue
        fa, fe = accuracy(fl, y)
        qa, qe = accuracy(ql, y)
        print(f"{name:8s} float {fa:.4%} ({fe} errors)  int8 {qa:.4%} ({qe} errors)  "
              f"delta {qa - fa:+.4%}  class agreement {agree:.4f}")


if __name__ == "__main__":
    main()
