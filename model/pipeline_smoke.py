#!/usr/bin/python3
"""CI smoke of the whole model pipeline on the smoke model (scripts/test), in minutes: every step
that makes a shipped file runs, and its files are checked where they are used.

  1. training (`train.py --smoke` has run; its --out is --train): the validation loss fell, below
     the same network's at initialization on the same sets;
  2. export (`export.py --smoke`): the F32, F16 and ONNX files; the ONNX file passed onnx.checker
     and its numpy evaluation equals PyTorch's; `check_model_file.py` (an independent numpy
     reader) reproduces the golden files export.py wrote;
  3. the core (the native `digits` CLI) loads the F32 and F16 files and computes what PyTorch
     computes with them: on inputs the core prepares itself (its own `input`), the same logits
     and Grad-CAM heatmap to 1e-4, and on MNIST exactly the errors export.py recorded;
  4. quantization (`quantize.py export`): the int8 file (its ONNX QDQ twin is checked inside);
     the core loads it and matches the int8 reference (QuantNet, read from the file): logits and
     heatmaps to 1e-4, and the same MNIST errors.

    /usr/bin/python3 model/pipeline_smoke.py --data ../shared/data/mnist --train /tmp/digits-smoke \\
        --cli build/native/digits --out /tmp/digits-pipeline

Exits non-zero, saying what differs, when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_model_file  # noqa: E402
import data_mix  # noqa: E402
import digits_format as dfmt  # noqa: E402
import mnist  # noqa: E402
import quantize  # noqa: E402
import train as tr  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(mnist.REPO_ROOT, "tests", "data", "strokes", "mnist_test_strokes.json")
# MNIST test images whose errors are compared: export.py --smoke measures the first 500 (an untrained
# network's digit logits lie close together, so fewer images also leave fewer near-ties that float
# rounding could tip between PyTorch and the core).
MNIST_COMPARED = 500
TOLERANCE = 1e-4  # as the core's golden tests


def check(ok, message):
    if not ok:
        raise SystemExit(f"pipeline smoke: FAILED: {message}")
    print(f"  ok: {message}", flush=True)


def run(command):
    print("$ " + " ".join(command), flush=True)
    subprocess.run(command, check=True)


def loss_fell(data, train_dir):
    """The smoke run's network against the same architecture untrained, on the smoke validation
    sets: the validation loss must have fallen."""
    path = os.path.join(train_dir, "checkpoints", "best.pt")
    trained, ck = tr.model_from_checkpoint(path)
    torch.manual_seed(ck["args"]["seed"])
    untrained = tr.build_model(ck["arch"], **ck["model_kwargs"]).eval()
    val = data_mix.eval_sets("val", data, smoke=True, skip=tr.validation_skip(ck["args"]))
    _, _, before = tr.evaluate_sets(untrained, val)
    _, _, after = tr.evaluate_sets(trained, val)
    check(after < before, f"training: validation loss {before:.4f} untrained -> {after:.4f}")
    return path


def core_recognize(cli, model, strokes, cls):
    """The core's result for one drawing, with the heatmap of class `cls`."""
    with tempfile.TemporaryDirectory() as tmp:
        drawing = os.path.join(tmp, "strokes.json")
        with open(drawing, "w") as f:
            json.dump({"strokes": strokes}, f)
        out = subprocess.run([cli, "recognize", "--model", model, "--strokes", drawing, "--json",
                              "--gradcam", os.path.join(tmp, "heat.png"), "--class", str(cls)],
                             check=True, capture_output=True, text=True).stdout
    digits = json.loads(out)["digits"]
    if len(digits) != 1:
        check(False, f"{os.path.basename(model)}: {len(digits)} digits for one fixture drawing")
    return digits[0]


def core_matches(cli, model, reference, name):
    """The core's logits and Grad-CAM heatmap (class 0..9 in turn) on 10 fixture drawings against
    `reference(input, cls) -> (logits, heatmap)` on the very input the core computed."""
    with open(FIXTURE) as f:
        drawings = json.load(f)["digits"][:10]
    worst_logit = worst_heat = 0.0
    for k, d in enumerate(drawings):
        got = core_recognize(cli, model, d["strokes"], cls=k)
        x = np.asarray(got["input"], np.float32)
        logits, heat = reference(x, k)
        logit_diff = np.abs(np.asarray(got["logits"]) - np.asarray(logits).reshape(-1))
        heat_diff = np.abs(np.asarray(got["gradcam"]["map"]) - np.asarray(heat).reshape(-1))
        worst_logit, worst_heat = max(worst_logit, logit_diff.max()), max(worst_heat, heat_diff.max())
    check(worst_logit < TOLERANCE and worst_heat < TOLERANCE,
          f"the core on {name}: logits within {worst_logit:.1e}, heatmaps within {worst_heat:.1e} "
          "of PyTorch's on 10 drawings")


def float_reference(model):
    arch, tensors, _, _ = check_model_file.read_model(model)
    net = dfmt.FileNet(arch, tensors, dtype=torch.float64)

    def reference(x, cls):
        case = dfmt.golden_case(net, "x", x, cls, gradcam_class=cls)
        return np.asarray(case["logits"]), np.asarray(case["gradcam"]["heatmap"])
    return reference


def int8_reference(model):
    qn = quantize.QuantNet.from_file(model)

    def reference(x, cls):
        x4 = x.reshape(1, 1, 28, 28)
        logits, cam = qn.gradcam(x4, cls)
        return np.asarray(logits), dfmt.heatmap_on_ink(cam, x)
    return reference


def core_mnist_errors(cli, model, data):
    """The MNIST test indices below MNIST_COMPARED whose best digit `digits eval` gets wrong."""
    out = subprocess.run([cli, "eval", "--model", model, "--json",
                          "--images", os.path.join(data, "t10k-images-idx3-ubyte.gz"),
                          "--labels", os.path.join(data, "t10k-labels-idx1-ubyte.gz")],
                         check=True, capture_output=True, text=True).stdout
    return [i for i in json.loads(out)["error_indices"] if i < MNIST_COMPARED]


def int8_mnist_errors(model, data):
    """The same for the int8 reference."""
    d = mnist.load_or_exit(data)
    x = torch.from_numpy(d["test_images"][:MNIST_COMPARED].astype(np.float32) / np.float32(255))
    y = torch.from_numpy(d["test_labels"][:MNIST_COMPARED].astype(np.int64))
    logits = quantize.QuantNet.from_file(model).forward(x.unsqueeze(1))[0]
    return [int(i) for i in torch.nonzero(logits[:, :data_mix.NOT_A_DIGIT].argmax(1) != y).flatten()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=mnist.DEFAULT_DATA)
    ap.add_argument("--train", default="/tmp/digits-smoke", help="train.py --smoke's --out")
    ap.add_argument("--cli", default=os.path.join(mnist.REPO_ROOT, "build", "native", "digits"))
    ap.add_argument("--out", default="/tmp/digits-pipeline")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    py = sys.executable

    def out(name):
        return os.path.join(args.out, name)

    print("1. training", flush=True)
    checkpoint = loss_fell(args.data, args.train)

    print("2. export", flush=True)
    run([py, os.path.join(HERE, "export.py"), "--smoke", "--data", args.data, "--checkpoint",
         checkpoint, "--out", args.out, "--golden", out("digits.golden.json")])
    with open(out("export_summary.json")) as f:
        onnx_info = json.load(f)["onnx"]
    check(onnx_info.get("checker") == "ok" and
          onnx_info["max_abs_logit_diff_numpy_eval_vs_torch_16_images"] < TOLERANCE,
          f"ONNX: {onnx_info}")
    for model, golden in (("digits.safetensors", "digits.golden.json"),
                          ("digits_f16.safetensors", "digits_f16.golden.json")):
        run([py, os.path.join(HERE, "check_model_file.py"), out(model), out(golden)])
        check(True, f"check_model_file.py: {model} reproduces {golden}")

    print("3. the core on the float files", flush=True)
    with open(out("test_errors.json")) as f:
        recorded = json.load(f)
    pytorch_errors = {"digits.safetensors": [e["index"] for e in recorded["errors"]],
                      "digits_f16.safetensors": recorded["f16_error_indices"]}
    for model, errors in pytorch_errors.items():
        core_matches(args.cli, out(model), float_reference(out(model)), model)
        core = core_mnist_errors(args.cli, out(model), args.data)
        check(core == errors, f"the core on {model}: the {len(errors)} MNIST errors (of the first "
              f"{MNIST_COMPARED}) export.py recorded" + ("" if core == errors else f", not {core}"))

    print("4. quantization", flush=True)
    int8 = out("digits_int8.safetensors")
    run([py, os.path.join(HERE, "quantize.py"), "export", "--data", args.data, "--model",
         out("digits.safetensors"), "--calibration", "200", "--out", int8, "--onnx",
         out("digits_int8.onnx"), "--errors", "", "--float-golden", out("digits.golden.json"),
         "--golden", out("digits_int8.golden.json")])
    core_matches(args.cli, int8, int8_reference(int8), "digits_int8.safetensors")
    reference, core = int8_mnist_errors(int8, args.data), core_mnist_errors(args.cli, int8, args.data)
    check(core == reference, f"the core on the int8 file: the int8 reference's {len(reference)} "
          f"MNIST errors (of the first {MNIST_COMPARED})" + ("" if core == reference else f", not {core}"))
    print("pipeline smoke: every check passed")


if __name__ == "__main__":
    main()
