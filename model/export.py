#!/usr/bin/python3
"""Export the trained model: core safetensors (F32 + F16), ONNX, golden file, error list, report.

    /usr/bin/python3 model/export.py --data ../shared/data/mnist

From model/checkpoints/best.pt (written by train.py) it writes
  model/digits.safetensors       F32, BatchNorm folded, architecture in __metadata__ (the shipped file)
  model/digits_f16.safetensors   the same weights stored as F16 (half the size; see the report)
  model/digits.onnx              the same BN-folded network (input: raw pixels in [0,1], N x 1 x 28 x 28,
                                 normalization inside; output: logits), checked with onnx.checker
  tests/data/digits.golden.json  8 MNIST test digits (incl. misclassified / least-confident ones):
                                 logits and Grad-CAM for the true class, and for the predicted class
                                 when it differs (extra case named *_cam_pred)
  model/test_errors.json         every misclassified MNIST test index with label and prediction, as
                                 computed by the folded network in float32 (what the core runs)
  model/export_summary.json      params, MACs, sizes, accuracies, confusion pairs, unsure threshold
  model/test_errors.png          grid of all misclassified test digits (label -> prediction)
  model/confused_pairs.png       examples of the most confused pairs
The unsure threshold is chosen on the validation split (see choose_unsure_threshold).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digits_format as dfmt  # noqa: E402
import mnist  # noqa: E402
import train as tr  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


@torch.no_grad()
def file_net_predict(arch, tensors, X_uint8, bs=1000):
    """Logits of the network exactly as stored (float32, folded), on uint8 images."""
    net = dfmt.FileNet(arch, tensors, dtype=torch.float32).eval()
    out = []
    for i in range(0, len(X_uint8), bs):
        x = torch.from_numpy(X_uint8[i:i + bs].astype(np.float32) / np.float32(255.0))
        x = x.reshape(-1, 1, 28, 28).contiguous(memory_format=torch.channels_last)
        out.append(net(x)[0])
    return torch.cat(out).numpy()


def choose_unsure_threshold(probs_top, correct, max_flagged_correct=0.005,
                            grid=np.round(np.arange(0.50, 0.951, 0.05), 2)):
    """Largest threshold on the grid that flags at most 0.5% of the correct validation
    predictions; report how many validation errors fall below it."""
    rows = []
    for t in grid:
        flagged = probs_top < t
        rows.append({"threshold": float(t),
                     "errors_below": int((flagged & ~correct).sum()),
                     "errors_total": int((~correct).sum()),
                     "correct_below": int((flagged & correct).sum()),
                     "correct_total": int(correct.sum())})
    ok = [r for r in rows if r["correct_below"] <= max_flagged_correct * r["correct_total"]]
    chosen = max(ok, key=lambda r: r["threshold"]) if ok else rows[0]
    return chosen["threshold"], rows


class OnnxNet(nn.Module):
    """BN-folded eval network for ONNX: normalization inside, logits out."""

    def __init__(self, arch, tensors):
        super().__init__()
        self.mean, self.std = arch["input"]["mean"], arch["input"]["std"]
        mods = []
        for l in arch["layers"]:
            t = l["type"]
            if t == "conv2d":
                c = nn.Conv2d(l["in_channels"], l["out_channels"], tuple(l["kernel"]),
                              tuple(l["stride"]), tuple(l["padding"]))
                c.weight.data = torch.from_numpy(tensors[l["name"] + ".weight"].copy())
                c.bias.data = torch.from_numpy(tensors[l["name"] + ".bias"].copy())
                mods.append(c)
            elif t == "relu":
                mods.append(nn.ReLU())
            elif t == "maxpool2d":
                mods.append(nn.MaxPool2d(tuple(l["kernel"]), tuple(l["stride"]), tuple(l["padding"])))
            elif t == "global_avg_pool":
                mods.append(nn.AdaptiveAvgPool2d(1))
            elif t == "flatten":
                mods.append(nn.Flatten())
            elif t == "dense":
                d = nn.Linear(l["in_features"], l["out_features"])
                d.weight.data = torch.from_numpy(tensors[l["name"] + ".weight"].copy())
                d.bias.data = torch.from_numpy(tensors[l["name"] + ".bias"].copy())
                mods.append(d)
        self.body = nn.Sequential(*mods)

    def forward(self, x):
        return self.body((x - self.mean) / self.std)


def onnx_numpy_run(model_proto, x):
    """Minimal numpy evaluator for the ops our export produces (no onnxruntime in Debian 12)."""
    from onnx import numpy_helper
    import check_model_file as cmf
    vals = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model_proto.graph.initializer}
    vals[model_proto.graph.input[0].name] = x.astype(np.float64)
    for n in model_proto.graph.node:
        a = {at.name: at for at in n.attribute}
        ins = [vals[i] if i else None for i in n.input]
        op = n.op_type
        if op == "Constant":
            out = numpy_helper.to_array(a["value"].t).astype(np.float64)
        elif op == "Sub":
            out = ins[0] - ins[1]
        elif op == "Div":
            out = ins[0] / ins[1]
        elif op == "Relu":
            out = np.maximum(ins[0], 0)
        elif op == "Conv":
            pads = list(a["pads"].ints) if "pads" in a else [0, 0, 0, 0]
            strides = list(a["strides"].ints) if "strides" in a else [1, 1]
            assert pads[0] == pads[2] and pads[1] == pads[3]
            b = ins[2] if len(ins) > 2 else np.zeros(ins[1].shape[0])
            out = np.stack([cmf.conv2d(xi, ins[1], b, strides, pads[:2]) for xi in ins[0]])
        elif op == "MaxPool":
            pads = list(a["pads"].ints) if "pads" in a else [0, 0, 0, 0]
            out = np.stack([cmf.maxpool(xi, list(a["kernel_shape"].ints), list(a["strides"].ints),
                                        pads[:2])[0] for xi in ins[0]])
        elif op == "GlobalAveragePool":
            out = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            out = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "Gemm":
            tb = a["transB"].i if "transB" in a else 0
            w = ins[1].T if tb else ins[1]
            out = ins[0] @ w + (ins[2] if len(ins) > 2 else 0)
        else:
            raise NotImplementedError(op)
        vals[n.output[0]] = out
    return vals[model_proto.graph.output[0].name]


def image_grid(images, titles, path, ncols=12, suptitle=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = len(images)
    nrows = max(1, (n + ncols - 1) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 1.1, nrows * 1.35))
    axes = np.atleast_2d(axes)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(images[k], cmap="gray_r", vmin=0, vmax=255)
            ax.set_title(titles[k], fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=mnist.DEFAULT_DATA)
    ap.add_argument("--checkpoint", default=os.path.join(HERE, "checkpoints", "best.pt"))
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--golden", default=os.path.join(mnist.REPO_ROOT, "tests", "data", "digits.golden.json"))
    ap.add_argument("--unsure-threshold", type=float, default=None,
                    help="override the value chosen on the validation split")
    args = ap.parse_args()
    torch.set_num_threads(1)

    d = mnist.load_or_exit(args.data)
    tr_idx, va_idx = mnist.split_indices()
    Xva, Yva = d["train_images"][va_idx], d["train_labels"][va_idx].astype(np.int64)
    Xte, Yte = d["test_images"], d["test_labels"].astype(np.int64)

    ck = torch.load(args.checkpoint)
    last_path = os.path.join(os.path.dirname(args.checkpoint), "last.pt")
    history = torch.load(last_path)["history"] if os.path.exists(last_path) else ck["history"]
    model = tr.build_model(ck["arch"], **ck.get("model_kwargs", {}))
    model.load_state_dict(ck["model"])
    model.eval()
    params_train = tr.count_params(model)

    layers, tensors = dfmt.fold_sequential(model)
    gl = dfmt.default_gradcam_layer(layers)
    arch0 = dfmt.make_architecture(layers, gl)
    shapes = dfmt.infer_shapes(arch0)
    macs, params = dfmt.count_macs(arch0), dfmt.count_params(tensors)

    # --- validation: unsure threshold ---
    lv = file_net_predict(arch0, tensors, Xva)
    pv = torch.from_numpy(lv).softmax(1).numpy()
    val_pred = pv.argmax(1)
    val_correct = val_pred == Yva
    thr, thr_rows = choose_unsure_threshold(pv.max(1), val_correct)
    if args.unsure_threshold is not None:
        thr = args.unsure_threshold
    arch = dfmt.make_architecture(layers, gl, unsure_threshold=thr)

    # --- test accuracy of: the unfolded PyTorch model, the folded F32 file net, the F16 one ---
    ev = tr.evaluate(model.to(memory_format=torch.channels_last), torch.from_numpy(Xte).unsqueeze(1),
                     torch.from_numpy(Yte), channels_last=True)
    pt_pred = ev["pred"].numpy()
    lt = file_net_predict(arch, tensors, Xte)
    pred32 = lt.argmax(1)
    t16 = dfmt.round_tensors(tensors, "F16")
    lt16 = file_net_predict(arch, t16, Xte)
    pred16 = lt16.argmax(1)
    lv16 = file_net_predict(arch, t16, Xva)
    err32 = np.nonzero(pred32 != Yte)[0]
    err16 = np.nonzero(pred16 != Yte)[0]
    srt = np.sort(lt, 1)
    gap = srt[:, -1] - srt[:, -2]
    close = np.argsort(gap)[:5]

    acc32 = 1 - len(err32) / len(Yte)
    acc16 = 1 - len(err16) / len(Yte)
    accuracy_str = (f"MNIST test {100 * acc32:.2f}% ({len(err32)} errors of 10000), PyTorch float32, "
                    f"folded network; validation {100 * val_correct.mean():.2f}% "
                    f"({int((~val_correct).sum())} errors of {len(Yva)})")
    training_str = (f"model/train.py seed {ck['args']['seed']}, {len(history)} epochs run, "
                    f"best epoch {ck['best']['epoch']} (validation accuracy); "
                    f"command: /usr/bin/python3 model/train.py --data ../shared/data/mnist")
    meta = {"accuracy": accuracy_str, "training": training_str,
            "description": "digits recognizer: 5 conv (BN folded) + global average pool + dense; "
                           "input 28x28 MNIST-normalized digit, pixels in [0,1]"}

    f32_path = os.path.join(args.out, "digits.safetensors")
    f16_path = os.path.join(args.out, "digits_f16.safetensors")
    size32 = dfmt.write_model_file(f32_path, arch, tensors, "F32", meta)
    meta16 = dict(meta)
    meta16["accuracy"] = (f"MNIST test {100 * acc16:.2f}% ({len(err16)} errors of 10000), "
                          "F16-stored weights computed in float32")
    size16 = dfmt.write_model_file(f16_path, arch, tensors, "F16", meta16)

    # --- ONNX ---
    onnx_path = os.path.join(args.out, "digits.onnx")
    onnx_info = {}
    onet = OnnxNet(arch, tensors).eval()
    x0 = torch.from_numpy(Xte[:16].astype(np.float32) / 255.0).reshape(16, 1, 28, 28)
    try:
        torch.onnx.export(onet, x0[:1], onnx_path, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=13, do_constant_folding=True)
        import onnx
        mp = onnx.load(onnx_path)
        onnx.checker.check_model(mp, full_check=True)
        ref = onet(x0).detach().numpy()
        got = onnx_numpy_run(mp, x0.numpy())
        onnx_info = {"file": os.path.basename(onnx_path), "bytes": os.path.getsize(onnx_path),
                     "checker": "ok", "opset": 13, "onnx": onnx.__version__,
                     "ops": sorted({n.op_type for n in mp.graph.node}),
                     "max_abs_logit_diff_numpy_eval_vs_torch_16_images": float(np.abs(ref - got).max())}
    except Exception as e:  # noqa: BLE001
        onnx_info = {"error": f"{type(e).__name__}: {e}"}
    print("onnx:", onnx_info)

    # --- golden: 5 first test digits, 2 misclassified, 1 least confident correct one ---
    pt = torch.from_numpy(lt).softmax(1).numpy()
    correct = pred32 == Yte
    chosen = [0, 1, 2, 3, 4]
    chosen += [int(i) for i in err32[:2]]
    conf = np.where(correct, pt.max(1), 2.0)
    chosen += [int(np.argmin(conf))]
    chosen = list(dict.fromkeys(chosen))
    extra_fill = 5
    while len(chosen) < 8:
        chosen.append(extra_fill)
        chosen = list(dict.fromkeys(chosen))
        extra_fill += 1
    net64 = dfmt.FileNet(arch, tensors, dtype=torch.float64)
    cases = []
    for i in chosen:
        img = Xte[i].astype(np.float32) / np.float32(255.0)
        c = dfmt.golden_case(net64, f"mnist_test_{i}", img, int(Yte[i]), gradcam_class=int(Yte[i]))
        cases.append(c)
        if pred32[i] != Yte[i]:
            cases.append(dfmt.golden_case(net64, f"mnist_test_{i}_cam_pred", img, int(Yte[i]),
                                          gradcam_class=int(pred32[i])))
    os.makedirs(os.path.dirname(args.golden), exist_ok=True)
    dfmt.write_golden(args.golden, "digits.safetensors", cases)
    # also a golden file for the F16 file (same inputs, F16-rounded weights)
    net64h = dfmt.FileNet(arch, t16, dtype=torch.float64)
    cases16 = []
    for c in cases:
        img = np.array(c["input"], dtype=np.float32)
        cases16.append(dfmt.golden_case(net64h, c["name"], img, c["label"], c["gradcam"]["class"]))
    dfmt.write_golden(args.golden.replace("digits.golden", "digits_f16.golden"),
                      "digits_f16.safetensors", cases16)

    # --- errors, confusion pairs, pictures ---
    errors = [{"index": int(i), "label": int(Yte[i]), "pred": int(pred32[i]),
               "prob": round(float(pt[i].max()), 4), "logit_gap": round(float(gap[i]), 4)}
              for i in err32]
    pairs = Counter((e["label"], e["pred"]) for e in errors)
    unordered = Counter(tuple(sorted(k)) for k in pairs.elements())
    with open(os.path.join(args.out, "test_errors.json"), "w") as f:
        json.dump({"model": "digits.safetensors", "count": len(errors),
                   "accuracy": acc32, "note": "index into t10k (0-based), label, prediction of the "
                   "folded float32 network, its top probability, top-1 minus top-2 logit",
                   "closest_calls": [{"index": int(i), "logit_gap": float(gap[i])} for i in close],
                   "errors": errors}, f, indent=1)
    shown = errors[:120]
    image_grid([Xte[e["index"]] for e in shown],
               [f"#{e['index']}: {e['label']}→{e['pred']} {e['prob']:.2f}" for e in shown],
               os.path.join(args.out, "test_errors.png"),
               suptitle=(f"{'all ' if len(shown) == len(errors) else 'first 120 of '}{len(errors)} "
                         "MNIST test errors (index: true→predicted, top probability)"))
    top_pairs = unordered.most_common(4)
    imgs, titles = [], []
    for (a, b), n in top_pairs:
        ex = [e for e in errors if {e["label"], e["pred"]} == {a, b}][:6]
        for e in ex:
            imgs.append(Xte[e["index"]])
            titles.append(f"#{e['index']}: {e['label']}→{e['pred']}")
        while len(imgs) % 6:
            imgs.append(np.zeros((28, 28), np.uint8))
            titles.append("")
    if imgs:
        image_grid(imgs, titles, os.path.join(args.out, "confused_pairs.png"), ncols=6,
                   suptitle="most confused pairs (one row each)")

    summary = {
        "checkpoint": os.path.relpath(args.checkpoint, mnist.REPO_ROOT),
        "best_epoch": ck["best"]["epoch"], "epochs_run": len(history),
        "params_trained_model": params_train, "params_exported": params, "macs": macs,
        "layers": [dict(l, output_shape=list(s)) for l, s in zip(layers, shapes)],
        "gradcam_layer": gl, "gradcam_shape": list(shapes[gl]),
        "tensor_names": list(tensors.keys()),
        "files": {"digits.safetensors": size32, "digits_f16.safetensors": size16,
                  "digits.onnx": onnx_info.get("bytes")},
        "onnx": onnx_info,
        "test": {
            "pytorch_unfolded_errors": int((pt_pred != Yte).sum()),
            "f32_folded_errors": len(err32), "f32_folded_accuracy": acc32,
            "f16_errors": len(err16), "f16_accuracy": acc16,
            "f16_vs_f32_prediction_differences": int((pred16 != pred32).sum()),
            "f16_max_abs_logit_diff": float(np.abs(lt16 - lt).max()),
            "f32_vs_unfolded_prediction_differences": int((pt_pred != pred32).sum()),
            "smallest_top2_logit_gaps": [{"index": int(i), "gap": float(gap[i])} for i in close],
        },
        "validation": {"errors": int((~val_correct).sum()), "accuracy": float(val_correct.mean()),
                       "f16_errors": int((lv16.argmax(1) != Yva).sum())},
        "unsure_threshold": thr, "unsure_threshold_table_validation": thr_rows,
        "unsure_threshold_on_test": {
            "errors_below": int(((pt.max(1) < thr) & ~correct).sum()), "errors_total": int((~correct).sum()),
            "correct_below": int(((pt.max(1) < thr) & correct).sum()), "correct_total": int(correct.sum())},
        "confused_pairs_ordered": [{"true": a, "pred": b, "count": n} for (a, b), n in pairs.most_common()],
        "confused_pairs_unordered": [{"pair": list(k), "count": n} for k, n in unordered.most_common()],
        "golden_cases": [c["name"] for c in cases],
    }
    with open(os.path.join(args.out, "export_summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"exported {f32_path} ({size32} B F32), {f16_path} ({size16} B F16)")
    print(f"params {params} (trained model {params_train}), MACs {macs}, gradcam layer {gl} "
          f"{shapes[gl]}")
    print(f"test: F32 {100 * acc32:.2f}% ({len(err32)} errors), F16 {100 * acc16:.2f}% "
          f"({len(err16)} errors, {summary['test']['f16_vs_f32_prediction_differences']} predictions "
          f"differ), unfolded PyTorch {summary['test']['pytorch_unfolded_errors']} errors")
    print(f"validation: {summary['validation']}; unsure_threshold {thr}")
    print("errors:", [(e["index"], e["label"], e["pred"]) for e in errors])
    print("confused pairs:", unordered.most_common(6))
    print("golden cases:", summary["golden_cases"])


if __name__ == "__main__":
    main()
