#!/usr/bin/python3
"""Export the trained model: core safetensors (F32 + F16), ONNX, golden files, error lists, report.

    /usr/bin/python3 model/export.py --data ../shared/data/mnist [--baseline OLD.safetensors]
    /usr/bin/python3 model/export.py --smoke --checkpoint CKPT --out DIR --golden DIR/digits.golden.json
                                     # CI (model/pipeline_smoke.py): the smoke sets, elsewhere

From model/checkpoints/best.pt (written by train.py), on the validation sets of held-out writers
(data_mix.eval_sets: exactly the pixels the core computes), it fits a temperature (folded into the
last dense layer) and chooses the unsure and not-a-digit thresholds (choose_thresholds); then it
measures every test set once and writes
  model/digits.safetensors       F32, BatchNorm folded, architecture and thresholds in __metadata__
  model/digits_f16.safetensors   the same weights stored as F16 (half the size; see the report)
  model/digits.onnx              the same network (input: raw pixels in [0,1], N x 1 x 28 x 28,
                                 normalization inside; output: 11 logits), checked with onnx.checker
  tests/data/digits.golden.json  MNIST test digits (incl. misclassified / least-confident ones), CVL
  (and digits_f16.golden.json)   scans and letters: logits and Grad-CAM for the true class, and for
                                 the best digit when it differs (extra case named *_cam_pred)
  model/test_errors.json         the MNIST test errors (best digit) of the F32 and the F16 file, and
                                 the CVL test errors through the image path: what `digits eval` must
                                 report
  model/export_summary.json      params, MACs, sizes, temperature, ECE, thresholds, every set's
                                 accuracy / refusals, confusion pairs, the baseline's numbers
  model/test_errors.png, cvl_test_errors.png, letters_accepted.png   pictures of the errors
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, OrderedDict

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data_mix  # noqa: E402
import digits_format as dfmt  # noqa: E402
import handwriting as hw  # noqa: E402
import mnist  # noqa: E402
import train as tr  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NAD = data_mix.NOT_A_DIGIT  # the "not a digit" class


@torch.no_grad()
def file_net_predict(arch, tensors, X, bs=1000):
    """Logits of the network exactly as stored (float32, folded), on uint8 images or float pixels
    in [0, 1] (N x 28 x 28 or N x 1 x 28 x 28)."""
    net = dfmt.FileNet(arch, tensors, dtype=torch.float32).eval()
    X = torch.as_tensor(X)
    out = []
    for i in range(0, len(X), bs):
        x = X[i:i + bs]
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        x = x.reshape(-1, 1, 28, 28).contiguous(memory_format=torch.channels_last)
        out.append(net(x)[0])
    return torch.cat(out).double().numpy()


def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def decide(probs, unsure_t, nad_t):
    """The core's decision (recognizer.cpp MakePrediction): the best digit, not a digit when that
    class reaches its threshold, unsure when a digit's probability is below unsure_t."""
    digit = probs[:, :NAD].argmax(1)
    nad = probs[:, NAD] >= nad_t
    unsure = ~nad & (probs[np.arange(len(probs)), digit] < unsure_t)
    return digit, nad, unsure


def balanced_nll(logit_sets, label_sets, T):
    """Mean over the sets of each set's mean NLL at temperature T (every source counts the same)."""
    tot = 0.0
    for z, y in zip(logit_sets, label_sets):
        p = softmax(z / T)
        tot += -np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None)))
    return tot / len(logit_sets)


def fit_temperature(logit_sets, label_sets):
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 400))
    nll = [balanced_nll(logit_sets, label_sets, T) for T in grid]
    return float(grid[int(np.argmin(nll))])


def ece(probs, labels, bins=15):
    """Expected calibration error of the top class (over all 11 classes), equal-width bins."""
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    edges = np.linspace(0, 1, bins + 1)
    e = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            e += m.mean() * abs(conf[m].mean() - correct[m].mean())
    return float(e)


def mean_ece(probs, labels):
    """ECE of each source, averaged (as the temperature is fitted: every source counts the same)."""
    return float(np.mean([ece(probs[k], labels[k]) for k in probs]))


DIGIT_SETS = ("mnist", "cvl", "uji", "crohme", "fixture")
NEG_SETS = ("letters", "synth", "symbols")
# The doubt is chosen for the pen writers' digits (what the page and the widget get): at the
# unsure threshold, the digits not flagged must be right this often (the model issue's risk)
PEN_SETS = ("uji", "crohme")
RISK_TARGET = 0.997
MAX_PEN_FLAGGED = 0.05
MIN_FLAGGED_NON_DIGITS = 0.97
UNSURE_GRID = np.round(np.arange(0.30, 0.9951, 0.01), 2)
NAD_GRID = np.round(np.arange(0.20, 0.951, 0.05), 2)


def set_metrics(probs, y, unsure_t, nad_t):
    """One set at the thresholds: flagged = not a digit or unsure (the answers a person is asked
    to check), refused = not a digit; for digits also accuracy (best digit), the accuracy of the
    answers not flagged (the risk the doubt promises) and the share of errors flagged."""
    digit, nad, unsure = decide(probs, unsure_t, nad_t)
    flagged = nad | unsure
    m = {"count": int(len(y)), "flagged": float(flagged.mean()), "refused": float(nad.mean()),
         "unsure": float(unsure.mean())}
    if (y < NAD).all():
        wrong = digit != y
        m["accuracy"] = float((~wrong).mean())
        m["errors"] = int(wrong.sum())
        m["accuracy_not_flagged"] = float((~wrong)[~flagged].mean()) if (~flagged).any() else 0.0
        m["errors_flagged"] = float(flagged[wrong].mean()) if wrong.any() else 1.0
    return m


def pooled(probs, labels, names):
    present = [k for k in names if k in probs]
    return np.concatenate([probs[k] for k in present]), np.concatenate([labels[k] for k in present])


def choose_thresholds(val_probs, val_labels):
    """On the validation sets only, the pair (unsure, not-a-digit threshold) that flags the fewest
    digits (mean over the digit sets) among those that keep the doubt honest on the pen writers'
    digits (PEN_SETS pooled: the digits not flagged right >= RISK_TARGET of the time) and flag
    at least MIN_FLAGGED_NON_DIGITS of every non-digit set; then the fewest digits refused as not
    a digit. If no pair meets the risk, the one with the best pen accuracy of the digits not
    flagged among those that flag <= MAX_PEN_FLAGGED of them and enough non-digits."""
    pen_p, pen_y = pooled(val_probs, val_labels, PEN_SETS)
    rows = []
    for nad_t in NAD_GRID:
        for unsure_t in UNSURE_GRID:
            dig = [set_metrics(val_probs[k], val_labels[k], unsure_t, nad_t)
                   for k in val_probs if k in DIGIT_SETS]
            neg = [set_metrics(val_probs[k], val_labels[k], unsure_t, nad_t)["flagged"]
                   for k in val_probs if k in NEG_SETS]
            pen = set_metrics(pen_p, pen_y, unsure_t, nad_t)
            rows.append({"not_a_digit_threshold": float(nad_t), "unsure_threshold": float(unsure_t),
                         "digits_flagged_mean": float(np.mean([m["flagged"] for m in dig])),
                         "digits_refused_mean": float(np.mean([m["refused"] for m in dig])),
                         "digits_refused_max": float(np.max([m["refused"] for m in dig])),
                         "pen_flagged": pen["flagged"],
                         "pen_accuracy_not_flagged": pen["accuracy_not_flagged"],
                         "pen_errors_flagged": pen["errors_flagged"],
                         "non_digits_flagged_mean": float(np.mean(neg)),
                         "non_digits_flagged_min": float(np.min(neg))})
    neg_ok = [r for r in rows if r["non_digits_flagged_min"] >= MIN_FLAGGED_NON_DIGITS] or rows
    ok = [r for r in neg_ok if r["pen_accuracy_not_flagged"] >= RISK_TARGET]
    if ok:
        best = min(ok, key=lambda r: (r["digits_flagged_mean"], r["digits_refused_mean"],
                                      r["digits_refused_max"], -r["non_digits_flagged_mean"]))
    else:
        few = [r for r in neg_ok if r["pen_flagged"] <= MAX_PEN_FLAGGED] or neg_ok
        best = max(few, key=lambda r: (r["pen_accuracy_not_flagged"], -r["digits_flagged_mean"]))
    return best, rows


RISK_COVERAGE_GRID = (0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)


def risk_coverage(probs, labels, nad_t, unsure_t):
    """Per digit set: unsure threshold -> share flagged, accuracy of the rest, errors flagged
    (at the chosen not-a-digit threshold), the chosen threshold among them."""
    grid = sorted(set(RISK_COVERAGE_GRID) | {unsure_t})
    out = {}
    for k in probs:
        if k in DIGIT_SETS:
            out[k] = [dict(unsure_threshold=float(t), **{a: v for a, v in set_metrics(
                probs[k], labels[k], t, nad_t).items() if a in ("flagged", "accuracy_not_flagged",
                                                                "errors_flagged")}) for t in grid]
    return out


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
        elif op == "Identity":
            out = ins[0]
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
        elif op in ("QuantizeLinear", "DequantizeLinear"):  # per tensor, or per channel on `axis`
            scale, zp = ins[1], ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros_like(ins[1])
            if scale.ndim == 1:
                shape = [1] * ins[0].ndim
                shape[a["axis"].i if "axis" in a else 1] = -1
                scale, zp = scale.reshape(shape), zp.reshape(shape)
            if op == "QuantizeLinear":  # round half to even, saturate to int8
                out = np.clip(np.rint(ins[0] / scale) + zp, -128, 127)
            else:
                out = (ins[0] - zp) * scale
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


def evaluate_file(arch, tensors, sets, unsure_t, nad_t):
    """-> ({set: metrics}, {set: probs}, {set: logits}) of a stored network on the exact sets."""
    metrics, probs, logits = {}, {}, {}
    for k, (X, Y) in sets.items():
        z = file_net_predict(arch, tensors, X)
        if z.shape[1] == NAD:  # a 10-class model (the baseline): no "not a digit" class
            z = np.concatenate([z, np.full((len(z), 1), -1e9)], 1)
        p = softmax(z)
        logits[k], probs[k] = z, p
        metrics[k] = set_metrics(p, Y.numpy(), unsure_t, nad_t)
    return metrics, probs, logits


def confusion_pairs(pred, y):
    errs = Counter((int(t), int(p)) for t, p in zip(y, pred) if t != p)
    unordered = Counter()
    for (t, p), n in errs.items():
        unordered[tuple(sorted((t, p)))] += n
    return ([{"true": t, "pred": p, "count": n} for (t, p), n in errs.most_common()],
            [{"pair": list(k), "count": n} for k, n in unordered.most_common()])


def model_from_file(args):
    """(network, checkpoint-like record) of a model file: the trained network's function (the
    file's logits times the temperature folded into it), and the run's args, history and best
    epoch from its training summary. The BatchNorm statistics come from 1,024 MNIST validation
    images; folding them again cancels them."""
    T = args.unfold_temperature
    if not T:
        with open(os.path.join(HERE, "export_summary.json")) as f:
            T = json.load(f)["temperature"]
    d = mnist.load_or_exit(args.data)
    _, va = mnist.split_indices()
    calib = tr.normalize(torch.from_numpy(d["train_images"][va[:1024]]).float().div(255).unsqueeze(1))
    model = tr.unfold_model_file(args.checkpoint, calib, T).eval()
    with open(args.summary) as f:
        run = json.load(f)
    print(f"exporting {args.checkpoint} again (unfolded at temperature {T}; trained by "
          f"{run['command']})", flush=True)
    return model, {"args": run["args"], "history": run["history"], "best": {"epoch": run["best_epoch"]}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=mnist.DEFAULT_DATA)
    ap.add_argument("--checkpoint", default=os.path.join(HERE, "checkpoints", "best.pt"),
                    help="train.py's checkpoint, or a model file (.safetensors) to export again "
                    "(after a change to the preprocessing, say): its network unfolded "
                    "(train.unfold_model_file) with --unfold-temperature, its training record "
                    "read from --summary")
    ap.add_argument("--unfold-temperature", type=float, default=0.0,
                    help="the temperature folded into a model file given as --checkpoint "
                    "(default: model/export_summary.json's)")
    ap.add_argument("--summary", default=os.path.join(HERE, "training_summary.json"),
                    help="train.py's summary of the run that trained a model file given as "
                    "--checkpoint")
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--golden", default=os.path.join(mnist.REPO_ROOT, "tests", "data", "digits.golden.json"))
    ap.add_argument("--baseline", default="", help="an earlier model file: its numbers on the same "
                    "sets go in the summary as 'before' (MNIST-only model: git show 855bb37:model/"
                    "digits.safetensors)")
    ap.add_argument("--smoke", action="store_true", help="CI: the smoke sets (500 MNIST and 500 CVL "
                    "images; data_mix.eval_sets), in minutes; needs --out and --golden elsewhere "
                    "than the shipped files")
    args = ap.parse_args()
    if args.smoke and (os.path.abspath(args.out) == HERE or
                       os.path.abspath(args.golden) == os.path.abspath(ap.get_default("golden"))):
        ap.error("--smoke writes a smoke model: give --out and --golden outside model/ and tests/data")
    torch.set_num_threads(1)

    if args.checkpoint.endswith(".safetensors"):
        model, ck = model_from_file(args)
        history = ck["history"]
    else:
        model, ck = tr.model_from_checkpoint(args.checkpoint)
        last_path = os.path.join(os.path.dirname(args.checkpoint), "last.pt")
        history = torch.load(last_path)["history"] if os.path.exists(last_path) else ck["history"]
    params_train = tr.count_params(model)
    labels = dfmt.LABELS + [dfmt.NOT_A_DIGIT_LABEL]

    layers, tensors = dfmt.fold_sequential(model)
    gl = dfmt.default_gradcam_layer(layers)
    arch0 = dfmt.make_architecture(layers, gl, labels=labels)
    shapes = dfmt.infer_shapes(arch0)
    macs, params = dfmt.count_macs(arch0), dfmt.count_params(tensors)
    fc = [l["name"] for l in layers if l["type"] == "dense"][-1]

    print("evaluation sets ...", flush=True)
    # after a final fit (train.py --fold-cvl-val) CVL's validation writers are training data
    val_sets = data_mix.eval_sets("val", args.data, smoke=args.smoke,
                                  skip=tr.validation_skip(ck["args"]))
    test_sets = data_mix.eval_sets("test", args.data, smoke=args.smoke)

    # --- calibration (temperature, fitted on validation) and thresholds (chosen on validation) ---
    _, _, val_logits = evaluate_file(arch0, tensors, val_sets, 0.0, 1.0)
    val_labels = {k: Y.numpy() for k, (_, Y) in val_sets.items()}
    T = fit_temperature(list(val_logits.values()), list(val_labels.values()))
    val_probs_raw = {k: softmax(z) for k, z in val_logits.items()}
    val_probs = {k: softmax(z / T) for k, z in val_logits.items()}
    ece_val = {"before": mean_ece(val_probs_raw, val_labels), "after": mean_ece(val_probs, val_labels)}
    chosen, thr_rows = choose_thresholds(val_probs, val_labels)
    rc_val = risk_coverage(val_probs, val_labels, chosen["not_a_digit_threshold"],
                           chosen["unsure_threshold"])
    unsure_t, nad_t = chosen["unsure_threshold"], chosen["not_a_digit_threshold"]
    print(f"temperature {T:.3f}; ECE validation {ece_val}; thresholds {chosen}", flush=True)

    tensors = OrderedDict(tensors)
    tensors[fc + ".weight"] = (tensors[fc + ".weight"] / T).astype(np.float32)
    tensors[fc + ".bias"] = (tensors[fc + ".bias"] / T).astype(np.float32)
    arch = dfmt.make_architecture(layers, gl, unsure_threshold=unsure_t, labels=labels,
                                  not_a_digit_class=NAD, not_a_digit_threshold=nad_t)

    # --- test: the folded F32 file, the F16 file; ECE before/after on the pooled test sets ---
    test_m, test_probs, test_logits = evaluate_file(arch, tensors, test_sets, unsure_t, nad_t)
    test_labels = {k: Y.numpy() for k, (_, Y) in test_sets.items()}
    ece_test = {"before": mean_ece({k: softmax(z * T) for k, z in test_logits.items()}, test_labels),
                "after": mean_ece(test_probs, test_labels)}
    val_m = {k: set_metrics(val_probs[k], val_labels[k], unsure_t, nad_t) for k in val_probs}
    rc_test = risk_coverage(test_probs, test_labels, nad_t, unsure_t)
    t16 = dfmt.round_tensors(tensors, "F16")
    test16_m, test16_probs, _ = evaluate_file(arch, t16, test_sets, unsure_t, nad_t)

    Xte = test_sets["mnist"][0]
    Yte = test_labels["mnist"]
    lt = test_logits["mnist"]
    pred32 = lt[:, :NAD].argmax(1)
    pred16 = test16_probs["mnist"][:, :NAD].argmax(1)
    err32 = np.nonzero(pred32 != Yte)[0]
    err16 = np.nonzero(pred16 != Yte)[0]
    srt = np.sort(lt[:, :NAD], 1)
    gap = srt[:, -1] - srt[:, -2]
    close = np.argsort(gap)[:5]
    acc32 = 1 - len(err32) / len(Yte)
    acc16 = 1 - len(err16) / len(Yte)
    cvl_pred = test_probs["cvl"][:, :NAD].argmax(1)
    cvl_err = np.nonzero(cvl_pred != test_labels["cvl"])[0]

    ev = tr.evaluate(model.to(memory_format=torch.channels_last), Xte, torch.from_numpy(Yte))
    pt_pred = ev["probs"][:, :NAD].argmax(1).numpy()

    accuracy_str = (f"MNIST test {100 * acc32:.2f}%, CVL test {100 * test_m['cvl']['accuracy']:.2f}% "
                    f"(176 unseen writers, image path), UJI held-out writers "
                    f"{100 * test_m['uji']['accuracy']:.2f}% (stroke path); letters of unseen writers "
                    f"flagged {100 * test_m['letters']['flagged']:.1f}%; pen writers (CROHME) "
                    f"{100 * test_m['crohme']['accuracy']:.2f}%")
    training_str = (f"model/train.py seed {ck['args']['seed']}, {len(history)} epochs run, "
                    f"best epoch {ck['best']['epoch']} (mean validation accuracy over sources); "
                    f"command: /usr/bin/python3 model/train.py --data ../shared/data/mnist")
    meta = {"accuracy": accuracy_str, "training": training_str,
            "description": "digits recognizer: 5 conv (BN folded) + global average pool + dense; "
                           "input 28x28 MNIST-normalized digit, pixels in [0,1]; 11 classes: the "
                           "digits and 'not a digit'; temperature-calibrated (T folded into fc)"}

    f32_path = os.path.join(args.out, "digits.safetensors")
    f16_path = os.path.join(args.out, "digits_f16.safetensors")
    size32 = dfmt.write_model_file(f32_path, arch, tensors, "F32", meta)
    meta16 = dict(meta)
    meta16["accuracy"] = (f"MNIST test {100 * acc16:.2f}%, CVL test {100 * test16_m['cvl']['accuracy']:.2f}%"
                          " with F16-stored weights computed in float32")
    size16 = dfmt.write_model_file(f16_path, arch, tensors, "F16", meta16)

    # --- ONNX ---
    onnx_path = os.path.join(args.out, "digits.onnx")
    onnx_info = {}
    onet = OnnxNet(arch, tensors).eval()
    x0 = Xte[:16].float().reshape(16, 1, 28, 28)
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

    # --- golden: MNIST (5 first, 2 errors, least confident), 2 CVL scans, 2 letters ---
    correct = pred32 == Yte
    pt = test_probs["mnist"]
    chosen_idx = [0, 1, 2, 3, 4] + [int(i) for i in err32[:2]]
    conf = np.where(correct, pt[np.arange(len(pt)), pred32], 2.0)
    chosen_idx += [int(np.argmin(conf))]
    chosen_idx = list(dict.fromkeys(chosen_idx))
    fill = 5
    while len(chosen_idx) < 8:
        chosen_idx = list(dict.fromkeys(chosen_idx + [fill]))
        fill += 1
    net64 = dfmt.FileNet(arch, tensors, dtype=torch.float64)
    inputs = [(f"mnist_test_{i}", Xte[i].numpy().reshape(-1), int(Yte[i]), int(pred32[i]))
              for i in chosen_idx]
    for i in (0, 1):
        inputs.append((f"cvl_test_{i}", test_sets["cvl"][0][i].numpy().reshape(-1),
                       int(test_labels["cvl"][i]), int(cvl_pred[i])))
    for i in (0, 50):
        inputs.append((f"letter_test_{i}", test_sets["letters"][0][i].numpy().reshape(-1), NAD,
                       int(test_probs["letters"][i][:NAD].argmax())))
    cases = []
    for name, img, label, pred in inputs:
        cases.append(dfmt.golden_case(net64, name, img, label, gradcam_class=label))
        if pred != label:
            cases.append(dfmt.golden_case(net64, name + "_cam_pred", img, label, gradcam_class=pred))
    os.makedirs(os.path.dirname(args.golden), exist_ok=True)
    dfmt.write_golden(args.golden, "digits.safetensors", cases)
    net64h = dfmt.FileNet(arch, t16, dtype=torch.float64)
    cases16 = [dfmt.golden_case(net64h, c["name"], np.array(c["input"], dtype=np.float32), c["label"],
                                c["gradcam"]["class"]) for c in cases]
    dfmt.write_golden(args.golden.replace("digits.golden", "digits_f16.golden"),
                      "digits_f16.safetensors", cases16)

    # --- errors, confusion pairs, pictures ---
    errors = [{"index": int(i), "label": int(Yte[i]), "pred": int(pred32[i]),
               "prob": round(float(pt[i, pred32[i]]), 4), "logit_gap": round(float(gap[i]), 4)}
              for i in err32]
    pairs_ordered, pairs_unordered = confusion_pairs(pred32, Yte)
    cvl_pairs_ordered, cvl_pairs_unordered = confusion_pairs(cvl_pred, test_labels["cvl"])
    with open(os.path.join(args.out, "test_errors.json"), "w") as f:
        json.dump({"model": "digits.safetensors", "count": len(errors),
                   "accuracy": acc32, "note": "index into t10k (0-based), label, best digit of the "
                   "folded float32 network, its probability, top-1 minus top-2 digit logit",
                   "closest_calls": [{"index": int(i), "logit_gap": float(gap[i])} for i in close],
                   "errors": errors,
                   "f16_error_indices": [int(i) for i in err16],
                   "cvl_test": {"count": len(cvl_pred), "errors": len(cvl_err),
                                "accuracy": float(1 - len(cvl_err) / len(cvl_pred)),
                                "error_indices": [int(i) for i in cvl_err],
                                "note": "cvl-test idx through the image path (digits eval --preprocess)"}},
                  f, indent=1)
    shown = errors[:120]
    image_grid([(Xte[e["index"], 0].numpy() * 255).astype(np.uint8) for e in shown],
               [f"#{e['index']}: {e['label']}→{e['pred']} {e['prob']:.2f}" for e in shown],
               os.path.join(args.out, "test_errors.png"),
               suptitle=(f"{'all ' if len(shown) == len(errors) else 'first 120 of '}{len(errors)} "
                         "MNIST test errors (index: true→predicted, probability)"))
    cvl_imgs = test_sets["cvl"][0]
    shown_cvl = cvl_err[:96]
    image_grid([(cvl_imgs[i, 0].numpy() * 255).astype(np.uint8) for i in shown_cvl],
               [f"{test_labels['cvl'][i]}→{cvl_pred[i]}" for i in shown_cvl],
               os.path.join(args.out, "cvl_test_errors.png"),
               suptitle=f"first {len(shown_cvl)} of {len(cvl_err)} CVL test errors, as the network "
                        "sees them (true→predicted)")
    let_X = test_sets["letters"][0]
    _, let_nad, let_unsure = decide(test_probs["letters"], unsure_t, nad_t)
    accepted = np.nonzero(~(let_nad | let_unsure))[0]
    let_chars = [c for _, c in hw.letters_split("test")]
    if len(accepted):
        image_grid([(let_X[i, 0].numpy() * 255).astype(np.uint8) for i in accepted[:48]],
                   [f"{let_chars[i]}→{test_probs['letters'][i][:NAD].argmax()}" for i in accepted[:48]],
                   os.path.join(args.out, "letters_accepted.png"),
                   suptitle=f"letters of unseen writers read as digits: {len(accepted)} of {len(let_X)}")

    baseline = {}
    if args.baseline:
        import check_model_file as cmf
        barch, btensors, _, _ = cmf.read_model(args.baseline)
        bt = OrderedDict((k, v.astype(np.float32)) for k, v in btensors.items())
        bm, bprobs, _ = evaluate_file(barch, bt, test_sets, barch.get("unsure_threshold", 0.5), 1.1)
        bcvl = bprobs["cvl"][:, :NAD].argmax(1)
        bo, bu = confusion_pairs(bcvl, test_labels["cvl"])
        baseline = {"file": args.baseline, "test": bm, "cvl_confused_pairs_ordered": bo[:12],
                    "cvl_confused_pairs_unordered": bu[:12]}
        print("baseline:", json.dumps(bm), flush=True)

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
        "temperature": T, "ece": {"validation": ece_val, "test": ece_test},
        "unsure_threshold": unsure_t, "not_a_digit_threshold": nad_t,
        "threshold_choice": chosen, "threshold_table_validation": thr_rows,
        "risk_target": {"pen_sets": PEN_SETS, "accuracy_not_flagged": RISK_TARGET,
                        "min_flagged_non_digits": MIN_FLAGGED_NON_DIGITS},
        "risk_coverage": {"validation": rc_val, "test": rc_test},
        "validation": val_m, "test": test_m, "test_f16": test16_m,
        "mnist_test": {
            "pytorch_unfolded_errors": int((pt_pred != Yte).sum()),
            "f32_folded_errors": len(err32), "f32_folded_accuracy": acc32,
            "f16_errors": len(err16), "f16_accuracy": acc16,
            "f16_vs_f32_prediction_differences": int((pred16 != pred32).sum()),
            "f32_vs_unfolded_prediction_differences": int((pt_pred != pred32).sum()),
            "smallest_top2_logit_gaps": [{"index": int(i), "gap": float(gap[i])} for i in close]},
        "mnist_confused_pairs_ordered": pairs_ordered, "mnist_confused_pairs_unordered": pairs_unordered,
        "cvl_confused_pairs_ordered": cvl_pairs_ordered[:12],
        "cvl_confused_pairs_unordered": cvl_pairs_unordered[:12],
        "baseline": baseline,
        "golden_cases": [c["name"] for c in cases],
    }
    with open(os.path.join(args.out, "export_summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"exported {f32_path} ({size32} B F32), {f16_path} ({size16} B F16)")
    print(f"params {params} (trained model {params_train}), MACs {macs}, gradcam layer {gl} {shapes[gl]}")
    for k, m in test_m.items():
        print(f"test {k:8s}: " + ", ".join(f"{a} {v:.4f}" if isinstance(v, float) else f"{a} {v}"
                                          for a, v in m.items()))
    print(f"F16: MNIST {100 * acc16:.2f}% ({len(err16)} errors), "
          f"{summary['mnist_test']['f16_vs_f32_prediction_differences']} MNIST predictions differ")
    print(f"ECE validation {ece_val}, test {ece_test}; T = {T:.3f}; thresholds unsure {unsure_t}, "
          f"not a digit {nad_t}")
    print("golden cases:", summary["golden_cases"])


if __name__ == "__main__":
    main()
