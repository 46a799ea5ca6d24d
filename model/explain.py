#!/usr/bin/python3
"""How faithful is each saliency map? Deletion and insertion curves for the shipped model.

For each test digit (correctly read), each candidate map ranks the 28x28 input pixels; deletion
sets them to background in that order, insertion paints them onto a blank field in that order, and
the area under the class-probability curve (AUC, pixels as a fraction of the field) measures the
map: a map that finds the pixels that decided the class makes the probability fall fast on
deletion (low AUC) and rise fast on insertion (high AUC). Ties (e.g. the zeros of a ReLU map) are
broken at random, so a map that says nothing scores like the random baseline.

Candidates, each for the predicted class:
  gradcam7      Grad-CAM on the last conv layer (7x7): what the core ships today
  gradcam14     Grad-CAM on the last 14x14 layer (before the second pool)
  layercam7/14  LayerCAM (Jiang et al. 2021): ReLU(gradient) * activation per position
  layercam_fused  mean of the normalized 14x14 and 7x7 LayerCAM maps
  <map>*ink     any of the above times the input's own ink (zero off the strokes)
  ink           the input's ink alone (a baseline a map must beat to say more than "the ink")
  random        a random map (the floor)
Cost: the multiply-adds of the backward pass each map needs (input gradients through the layers
above its layer), as a fraction of one inference.

    /usr/bin/python3 model/explain.py --model model/digits.safetensors --data ../shared/data/mnist \
        --n 1000 --out model
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data_mix  # noqa: E402
import digits_format as dfmt  # noqa: E402
import mnist  # noqa: E402

SIZE = 28
STEP = 16  # pixels per step of the curves: 50 points from 0 to 784


def last_relu_at(arch, shapes, hw_size):
    return max(i for i, (l, s) in enumerate(zip(arch["layers"], shapes))
               if l["type"] == "relu" and len(s) == 3 and s[1] == hw_size)


def backward_macs(arch, shapes, layer):
    """Multiply-adds of the input gradients from the logits down to the output of `layer`."""
    macs = 0
    for i in range(layer + 1, len(arch["layers"])):
        l, s = arch["layers"][i], shapes[i]
        if l["type"] == "conv2d":
            kh, kw = l["kernel"]
            macs += s[0] * s[1] * s[2] * l["in_channels"] * kh * kw
        elif l["type"] == "dense":
            macs += l["out_features"]  # one class row
    return macs


def normalize(m):
    """Per-sample [0, 1] scaling of N x H x W maps (all-zero maps stay zero)."""
    mx = m.flatten(1).max(1).values.clamp_min(1e-12)[:, None, None]
    return m / mx


def up(m):
    return F.interpolate(m[:, None], size=(SIZE, SIZE), mode="bilinear", align_corners=False)[:, 0]


def candidate_maps(net, arch, X, seed):
    """-> predicted class (N,), probabilities (N, classes), {name: N x 28 x 28 maps}."""
    shapes = dfmt.infer_shapes(arch)
    l7 = int(arch["gradcam_layer"])
    l14 = last_relu_at(arch, shapes, 14)
    logits, acts = net.activations(X.clone().requires_grad_(True), {l7, l14}, retain_grad=True)
    probs = torch.softmax(logits.detach(), 1)
    digits = probs[:, :10]
    cls = digits.argmax(1)
    logits.gather(1, cls[:, None]).sum().backward()
    maps = {}
    for tag, li in (("7", l7), ("14", l14)):
        A, G = acts[li].detach(), acts[li].grad.detach()
        alpha = G.mean(dim=(2, 3), keepdim=True)
        maps["gradcam" + tag] = up(normalize(torch.relu((alpha * A).sum(1))))
        maps["layercam" + tag] = up(normalize(torch.relu((torch.relu(G) * A).sum(1))))
    maps["layercam_fused"] = 0.5 * (maps["layercam7"] + maps["layercam14"])
    ink = X[:, 0].detach()
    for name in list(maps):
        maps[name + "*ink"] = maps[name] * ink
    maps["ink"] = ink.clone()
    g = torch.Generator().manual_seed(seed)
    maps["random"] = torch.rand(ink.shape, generator=g)
    cost = {"gradcam7": backward_macs(arch, shapes, l7), "gradcam14": backward_macs(arch, shapes, l14)}
    cost["layercam7"], cost["layercam14"] = cost["gradcam7"], cost["gradcam14"]
    cost["layercam_fused"] = cost["gradcam14"]
    for name in list(cost):
        cost[name + "*ink"] = cost[name]
    cost["ink"] = cost["random"] = 0
    return cls, probs, maps, cost


@torch.no_grad()
def curves(net, X, cls, saliency, seed):
    """Deletion and insertion curves of the class probability: (N, steps) each."""
    n = X.shape[0]
    g = torch.Generator().manual_seed(seed)
    tie = torch.rand(n, SIZE * SIZE, generator=g) * 1e-6
    order = torch.argsort(saliency.reshape(n, -1) + tie, dim=1, descending=True)
    flat = X.reshape(n, -1)
    ks = list(range(0, SIZE * SIZE + 1, STEP))
    if ks[-1] != SIZE * SIZE:
        ks.append(SIZE * SIZE)
    dele, ins = [], []
    for k in ks:
        mask = torch.zeros(n, SIZE * SIZE)
        mask.scatter_(1, order[:, :k], 1.0)
        for keep, out in ((1 - mask, dele), (mask, ins)):
            logits, _ = net((flat * keep).reshape(n, 1, SIZE, SIZE))
            out.append(torch.softmax(logits, 1).gather(1, cls[:, None])[:, 0])
    frac = np.array(ks, np.float64) / (SIZE * SIZE)
    return frac, torch.stack(dele, 1).numpy(), torch.stack(ins, 1).numpy()


def auc(frac, c):
    return float(np.trapz(c.mean(0), frac))


def plot(results, examples, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(results["mnist"]["auc"])
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    for a, kind in zip(ax, ("deletion", "insertion")):
        for name in names:
            r = results["mnist"]["curves"][name]
            style = "--" if name in ("ink", "random") else "-"
            a.plot(r["frac"], r[kind], style, label=f"{name} {results['mnist']['auc'][name][kind]:.3f}")
        a.set_title(f"{kind} (MNIST test, {results['mnist']['count']} digits): class probability")
        a.set_xlabel("fraction of pixels " + ("removed" if kind == "deletion" else "painted"))
        a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path + "_curves.png", dpi=90)
    X, maps, cls = examples
    show = ["gradcam7", "gradcam14", "layercam14", "layercam_fused", "layercam_fused*ink"]
    fig, ax = plt.subplots(len(X), len(show) + 1, figsize=(1.6 * (len(show) + 1), 1.6 * len(X)))
    for r in range(len(X)):
        ax[r, 0].imshow(X[r, 0], cmap="gray_r")
        ax[r, 0].set_title(f"read {int(cls[r])}", fontsize=7)
        for c, name in enumerate(show):
            ax[r, c + 1].imshow(X[r, 0], cmap="gray_r")
            ax[r, c + 1].imshow(maps[name][r], cmap="jet", alpha=0.5, vmin=0, vmax=1)
            if r == 0:
                ax[r, c + 1].set_title(name, fontsize=7)
    for a in ax.flat:
        a.axis("off")
    fig.tight_layout()
    fig.savefig(path + "_maps.png", dpi=90)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(mnist.REPO_ROOT, "model", "digits.safetensors"))
    ap.add_argument("--data", default=mnist.DEFAULT_DATA)
    ap.add_argument("--n", type=int, default=1000, help="digits per test set")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(mnist.REPO_ROOT, "model"))
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    arch, net = dfmt.load_file_net(args.model)
    inference = dfmt.count_macs(arch)
    results = {"model": os.path.basename(args.model), "command": "/usr/bin/python3 " + " ".join(sys.argv),
               "step_pixels": STEP, "inference_macs": inference}
    examples = None
    sample = data_mix.test_sample(args.data, args.n, np.random.default_rng(args.seed))
    for set_name, (X, y) in sample.items():
        t0 = time.time()
        cls, probs, maps, cost = candidate_maps(net, arch, X, args.seed)
        ok = cls == y  # explain what it read right
        X, cls = X[ok], cls[ok]
        maps = {k: v[ok] for k, v in maps.items()}
        r = {"count": int(ok.sum()), "auc": {}, "curves": {}, "cost_vs_inference": {}}
        for name, m in maps.items():
            frac, dele, ins = curves(net, X, cls, m, args.seed)
            r["auc"][name] = {"deletion": auc(frac, dele), "insertion": auc(frac, ins)}
            r["curves"][name] = {"frac": frac.tolist(), "deletion": dele.mean(0).tolist(),
                                 "insertion": ins.mean(0).tolist()}
            r["cost_vs_inference"][name] = cost[name] / inference
            print(f"{set_name:6s} {name:22s} deletion {r['auc'][name]['deletion']:.4f}  insertion "
                  f"{r['auc'][name]['insertion']:.4f}  backward {cost[name] / inference:.2f}x inference",
                  flush=True)
        print(f"{set_name}: {r['count']} digits, {time.time() - t0:.0f} s")
        results[set_name] = r
        if examples is None:
            examples = (X[:8].numpy(), {k: v[:8].numpy() for k, v in maps.items()}, cls[:8].numpy())
    base = os.path.join(args.out, "explanations")
    with open(base + ".json", "w") as f:
        json.dump({k: ({kk: vv for kk, vv in v.items() if kk != "curves"} if isinstance(v, dict) else v)
                   for k, v in results.items()}, f, indent=1)
    plot(results, examples, base)
    print(f"wrote {base}.json, {base}_curves.png, {base}_maps.png")


if __name__ == "__main__":
    main()
