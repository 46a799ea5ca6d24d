#!/usr/bin/python3
"""How robust is the shipped model? Adversarial attacks and the accidents a drawing can suffer.

1. L-infinity attacks on the 28x28 input in [0, 1] (the model as the core runs it, from the model
   file): FGSM, and PGD (20 steps of eps/4, random start), eps 0.05, 0.1, 0.2, each maximizing the
   cross-entropy of the true digit. Accuracy = the best digit is the true one (as the model card
   counts it); "refused" = the core would answer not a digit or unsure.
2. What a drawing can actually suffer, through the core's own preprocessing (the Python twin):
   stray dots near the digit, a second stroke across it, stray dots far away (the digit shrinks
   to make room), and, for images, very thick and very thin pens (3x3 dilation, erosion). A digit
   drawn very small in a corner, or with a thick or thin pen on the page, reaches the network
   unchanged: the core crops to the ink and draws every stroke with its own pen width; the twin
   shows it (the "small in a corner" row).

    /usr/bin/python3 model/robustness.py --model model/digits.safetensors --data ../shared/data/mnist \
        --n 2000 --out model
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
import export  # noqa: E402
import handwriting as hw  # noqa: E402
import mnist  # noqa: E402
from data_mix import fixture_drawings, render  # noqa: E402

EPSILONS = (0.05, 0.1, 0.2)
PGD_STEPS = 20


def logits_of(net, x):
    return net(x)[0]


@torch.no_grad()
def score(net, arch, X, y, bs=1000):
    """-> (accuracy of the best digit, fraction the core would refuse: not a digit or unsure)."""
    probs = torch.cat([torch.softmax(logits_of(net, X[i:i + bs]), 1) for i in range(0, len(X), bs)])
    digit, nad, unsure = export.decide(probs.double().numpy(), arch["unsure_threshold"],
                                       arch["not_a_digit_threshold"])
    return float((digit == y.numpy()).mean()), float((nad | unsure).mean())


def attack(net, X, y, eps, steps, seed, bs=500):
    """FGSM (steps 0) or PGD with a random start, L-infinity ball of radius eps, clipped to [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(X), bs):
        x0, t = X[i:i + bs], y[i:i + bs]
        if steps == 0:
            x = x0.clone().requires_grad_(True)
            F.cross_entropy(logits_of(net, x), t).backward()
            out.append((x0 + eps * x.grad.sign()).clamp(0, 1).detach())
            continue
        x = (x0 + (torch.rand(x0.shape, generator=g) * 2 - 1) * eps).clamp(0, 1)
        for _ in range(steps):
            x = x.detach().requires_grad_(True)
            F.cross_entropy(logits_of(net, x), t).backward()
            x = x + eps / 4 * x.grad.sign()
            x = torch.min(torch.max(x, x0 - eps), x0 + eps).clamp(0, 1)
        out.append(x.detach())
    return torch.cat(out)


def drawing_variants(drawings, rng):
    """name -> list of drawings: each test drawing with one accident."""
    out = {"as drawn": drawings, "stray dots near": [], "stroke across": [], "stray dot far": [],
           "small in a corner": []}
    for d in drawings:
        pts = np.concatenate(d, 0)
        lo, hi = pts.min(0), pts.max(0)
        size = float((hi - lo).max())
        dots = []
        for _ in range(rng.integers(1, 4)):  # 1-3 dots within 15% of the digit's size of its box
            p = rng.uniform(lo - 0.15 * size, hi + 0.15 * size)
            dots.append(np.array([p, p + rng.normal(0, 0.01 * size, 2)], np.float32))
        out["stray dots near"].append(d + dots)
        a, b = rng.uniform(lo, hi), rng.uniform(lo, hi)  # a line through the digit's box
        c = 0.5 * (a + b)
        v = (b - a) / max(1e-6, float(np.linalg.norm(b - a))) * size * 0.6
        out["stroke across"].append(d + [np.array([c - v, c + v], np.float32)])
        far = hi + size * rng.uniform(0.5, 1.0, 2)
        out["stray dot far"].append(d + [np.array([far, far + 0.01 * size], np.float32)])
        out["small in a corner"].append([s * 0.1 + 5.0 for s in d])
    return out


def images_by_pen(X):
    """Thick, thin and faint versions of 28x28 images in [0, 1]. (A 3x3 erosion all but erases
    MNIST's 2-3 pixel strokes: the harshest case, not a typical thin pen.)"""
    thick = F.max_pool2d(X, 3, 1, 1)
    thin = -F.max_pool2d(-X, 3, 1, 1)
    return {"as written": X, "thick pen (3x3 dilation)": thick, "thin pen (3x3 erosion)": thin,
            "faint pen (ink x 0.5)": X * 0.5}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(mnist.REPO_ROOT, "model", "digits.safetensors"))
    ap.add_argument("--data", default=mnist.DEFAULT_DATA)
    ap.add_argument("--n", type=int, default=2000, help="digits per test set for the attacks")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(mnist.REPO_ROOT, "model"))
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    arch, net = dfmt.load_file_net(args.model)
    for p in net.parameters():
        p.requires_grad_(False)
    sets = data_mix.test_sample(args.data, args.n, rng)
    res = {"model": os.path.basename(args.model), "command": "/usr/bin/python3 " + " ".join(sys.argv),
           "attacks": {}, "drawings": {}, "pens": {}}
    for name, (X, y) in sets.items():
        t0 = time.time()
        acc, ref = score(net, arch, X, y)
        r = {"count": len(y), "clean": {"accuracy": acc, "refused": ref}}
        for eps in EPSILONS:
            for kind, steps in (("fgsm", 0), ("pgd", PGD_STEPS)):
                acc, ref = score(net, arch, attack(net, X, y, eps, steps, args.seed), y)
                r[f"{kind} {eps}"] = {"accuracy": acc, "refused": ref}
                print(f"{name:6s} {kind} eps {eps:.2f}: accuracy {acc:.4f}, refused {ref:.4f}", flush=True)
        res["attacks"][name] = r
        for pen, Xp in images_by_pen(X).items():
            acc, ref = score(net, arch, Xp, y)
            res["pens"].setdefault(name, {})[pen] = {"accuracy": acc, "refused": ref}
            print(f"{name:6s} {pen}: accuracy {acc:.4f}, refused {ref:.4f}")
        print(f"{name}: {time.time() - t0:.0f} s")
    dr, lab = fixture_drawings()
    uji = [(s, y) for s, y, w in hw.uji_digits() if w in hw.UJI_SPLIT["test"]]
    for name, (drawings, labels) in {"fixture": (dr, lab),
                                     "uji": ([s for s, _ in uji], np.array([y for _, y in uji]))}.items():
        y = torch.from_numpy(np.asarray(labels, np.int64))
        for kind, ds in drawing_variants(drawings, rng).items():
            acc, ref = score(net, arch, render(ds, exact=True)[:, None], y)
            res["drawings"].setdefault(name, {})[kind] = {"accuracy": acc, "refused": ref}
            print(f"{name:8s} {kind:18s}: accuracy {acc:.4f}, refused {ref:.4f}", flush=True)
    path = os.path.join(args.out, "robustness")
    with open(path + ".json", "w") as f:
        json.dump(res, f, indent=1)
    plot(res, path + ".png")
    print(f"wrote {path}.json, {path}.png")


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, r in res["attacks"].items():
        for kind, style in (("fgsm", "--"), ("pgd", "-")):
            xs = [0.0] + list(EPSILONS)
            ys = [r["clean"]["accuracy"]] + [r[f"{kind} {e}"]["accuracy"] for e in EPSILONS]
            ax.plot(xs, ys, style, marker="o", label=f"{name} {kind.upper()}")
    ax.set_xlabel("epsilon (L-infinity, pixels in [0, 1])")
    ax.set_ylabel("accuracy under attack")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    main()
