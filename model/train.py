#!/usr/bin/python3
"""Train the digits recognizer on every hand in ../shared/data (PyTorch, CPU).

    /usr/bin/python3 model/train.py --data ../shared/data/mnist            # the shipped model
    /usr/bin/python3 model/train.py --resume                                # continue after a stop
    /usr/bin/python3 model/train.py --smoke                                 # CI: < 1 minute

Each epoch draws a fresh mixture (data_mix.py): MNIST images, MNIST digits traced into strokes,
CVL and Semeion scans through the core's image path, UJI pen trajectories, and as an eleventh class
("not a digit") handwritten letters and synthetic scribbles, shapes and images; strokes are
re-drawn every epoch with a varied hand by the Python twin of the core's preprocessing
(raster.py), images get batched augmentation (rotation, slant, scale, translation, elastic warp,
stroke thickness, Gaussian noise). BatchNorm, dropout, a one-cycle LR schedule (or
ReduceLROnPlateau), a moving average of the weights (what is validated and exported), early
stopping on the validation loss, and a checkpoint each epoch (CHECKPOINTS/last.pt, best.pt by the
validation loss, the mean over the held-out writers' sets: MNIST, CVL, UJI, letters,
synthetic). The test sets are evaluated once, at the end, with the best checkpoint.

Outputs (in --out, default model/): training_curves.png, confusion_matrix.png,
training_summary.json (numbers, timings, command); checkpoints in --checkpoints.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data_mix  # noqa: E402
import mnist  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN, STD = 0.1307, 0.3081


# --------------------------------------------------------------------------------------------
# networks (only layers the core supports; BN is folded at export, dropout vanishes at export)
# --------------------------------------------------------------------------------------------

def _cbr(i, name, cin, cout, k=3, p=1):
    return [(f"conv{i}", nn.Conv2d(cin, cout, k, 1, p, bias=False)),
            (f"bn{i}", nn.BatchNorm2d(cout)),
            (f"relu{i}", nn.ReLU(inplace=False))]


DEFAULT_WIDTHS = (20, 40, 56, 80, 112)


def digits_net(dropout=0.2, widths=DEFAULT_WIDTHS, classes=11):
    """28x28 -> conv 20 -> pool 14 -> conv 40 -> conv 56 -> pool 7 -> conv 80 -> conv 112 (Grad-CAM,
    7x7) -> global average pool -> dropout -> dense `classes` (default widths; class 10 is "not a
    digit")."""
    w1, w2, w3, w4, w5 = widths
    layers = []
    layers += _cbr(1, "", 1, w1)
    layers += [("pool1", nn.MaxPool2d(2, 2))]
    layers += _cbr(2, "", w1, w2)
    layers += _cbr(3, "", w2, w3)
    layers += [("pool2", nn.MaxPool2d(2, 2))]
    layers += _cbr(4, "", w3, w4)
    layers += _cbr(5, "", w4, w5)
    layers += [("gap", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()),
               ("dropout", nn.Dropout(dropout)), ("fc", nn.Linear(w5, classes))]
    return nn.Sequential(OrderedDict(layers))


def keras_cnn(classes=11):
    """The product brief's Keras baseline: Conv32-Conv64-MaxPool-Dropout0.25-Dense128-
    Dropout0.5-Dense10 (3x3 valid convs, as in the Keras MNIST example)."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 32, 3)), ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(32, 64, 3)), ("relu2", nn.ReLU()),
        ("pool", nn.MaxPool2d(2)), ("drop1", nn.Dropout(0.25)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(64 * 12 * 12, 128)), ("relu3", nn.ReLU()),
        ("drop2", nn.Dropout(0.5)), ("fc2", nn.Linear(128, classes)),
    ]))


ARCHS = {"digits": digits_net, "keras": keras_cnn}


def build_model(arch="digits", **kw):
    return ARCHS[arch](**kw)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def count_macs(model, shape=(1, 1, 28, 28)):
    macs = 0
    hooks = []

    def conv_hook(m, i, o):
        nonlocal macs
        macs += o.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def lin_hook(m, i, o):
        nonlocal macs
        macs += m.in_features * m.out_features

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(shape))
    model.train(was)
    for h in hooks:
        h.remove()
    return macs


# --------------------------------------------------------------------------------------------
# batched augmentation (torch ops on a whole batch; pixels in [0,1], 0 = background)
# --------------------------------------------------------------------------------------------

class AugConfig:
    rotate_deg = 15.0      # uniform +-15 degrees (--rotate)
    slant_deg = 0.0        # shear x += tan(U(-d, d)) * y (--slant); 0 draws nothing
    scale = 0.10           # digit size x U(0.9, 1.1)
    shift = 0.10           # translation U(-10%, +10%) of the image size, each axis
    elastic_p = 0.5        # fraction of samples with a smooth random warp
    elastic_px = 1.0       # std of the warp's control-point displacement, in pixels
    thick_p = 0.3          # fraction with stroke-thickness change (half thicker, half thinner)
    noise_p = 0.5          # fraction with additive Gaussian noise
    noise_sigma = 0.05


def augment(x: torch.Tensor, g: torch.Generator, cfg=AugConfig, may_thicken=None) -> torch.Tensor:
    """may_thicken: (B,) bool, which samples may get the dilation (default: all)."""
    B = x.shape[0]
    if B == 0:  # a batch may hold strokes only (the epoch's last: 90,500 % 128 = 4 samples)
        return x
    u = lambda *s: torch.rand(*s, generator=g)  # noqa: E731

    # stroke thickness: blend with a 3x3 max (dilation) or min (erosion) by a random amount
    if cfg.thick_p > 0:
        sel = u(B) < cfg.thick_p
        dil = u(B) < 0.5
        if may_thicken is not None:
            dil = dil & may_thicken
        dil_amt = 0.3 + 0.7 * u(B)
        ero_amt = 0.2 + 0.3 * u(B)
        mx = F.max_pool2d(x, 3, 1, 1)
        mn = -F.max_pool2d(-x, 3, 1, 1)
        t_d = (sel & dil).float() * dil_amt
        t_e = (sel & ~dil).float() * ero_amt
        x = x + t_d.view(B, 1, 1, 1) * (mx - x) + t_e.view(B, 1, 1, 1) * (mn - x)

    # affine: p_out = s R(a) p_in + t  ->  sampling grid p_in = A p_out - A t, A = R(-a)/s
    a = (u(B) * 2 - 1) * math.radians(cfg.rotate_deg)
    s = 1 + (u(B) * 2 - 1) * cfg.scale
    t = (u(B, 2) * 2 - 1) * (2 * cfg.shift)  # normalized coords span 2 for the full image
    cos, sin = torch.cos(a) / s, torch.sin(a) / s
    A = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1)  # B,2,2
    if cfg.slant_deg > 0:  # p_out = s R S p_in + t, S = [[1, k], [0, 1]]: A = S^-1 R^-1 / s
        k = torch.tan((u(B) * 2 - 1) * math.radians(cfg.slant_deg))
        S_inv = torch.eye(2).repeat(B, 1, 1)
        S_inv[:, 0, 1] = -k
        A = S_inv @ A
    b = -(A @ t.unsqueeze(2)).squeeze(2)
    theta = torch.cat([A, b.unsqueeze(2)], 2)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    if cfg.elastic_p > 0:
        sel = (u(B) < cfg.elastic_p).float().view(B, 1, 1, 1)
        coarse = torch.randn(B, 2, 4, 4, generator=g) * (cfg.elastic_px * 2 / x.shape[-1])
        field = F.interpolate(coarse, size=x.shape[-2:], mode="bicubic", align_corners=True)
        grid = grid + (field * sel).permute(0, 2, 3, 1)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    if cfg.noise_p > 0:
        sel = (u(B) < cfg.noise_p).float().view(B, 1, 1, 1)
        x = x + sel * cfg.noise_sigma * torch.randn(x.shape, generator=g)
    return x.clamp_(0.0, 1.0)


def normalize(x):
    return (x - MEAN) / STD


def pgd_attack(model, x, y, eps, steps, g):
    """L-inf PGD (Madry et al.) on [0, 1] pixels: a random start in the eps-ball, then `steps`
    signed-gradient ascent steps of 2.5 eps / steps on the cross-entropy, projected back onto the
    ball and [0, 1]. The attack runs the model in eval mode (BatchNorm's running statistics, no
    dropout), as the core runs it."""
    was_training = model.training
    model.eval()
    alpha = 2.5 * eps / steps
    xa = (x + (torch.rand(x.shape, generator=g) * 2 - 1) * eps).clamp_(0.0, 1.0)
    for _ in range(steps):
        xa.requires_grad_(True)
        out = model(normalize(xa).contiguous(memory_format=torch.channels_last))
        (grad,) = torch.autograd.grad(F.cross_entropy(out, y), xa)
        xa = xa.detach() + alpha * grad.sign()
        xa = torch.min(torch.max(xa, x - eps), x + eps).clamp_(0.0, 1.0)
    model.train(was_training)
    return xa.detach()


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------

def to_float(xb):
    """Training bytes -> [0, 1]; float pixels (the exact evaluation sets) pass through."""
    return xb.float().div_(255.0) if xb.dtype == torch.uint8 else xb.float()


@torch.no_grad()
def evaluate(model, X, Y, bs=1000, channels_last=True):
    model.eval()
    tot_loss, preds, probs = 0.0, [], []
    for i in range(0, len(X), bs):
        x = normalize(to_float(X[i:i + bs]))
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out = model(x)
        tot_loss += F.cross_entropy(out, Y[i:i + bs], reduction="sum").item()
        p = out.softmax(1)
        preds.append(p.argmax(1))
        probs.append(p)
    pred = torch.cat(preds)
    return {"loss": tot_loss / len(X), "acc": (pred == Y).float().mean().item(),
            "errors": int((pred != Y).sum()), "pred": pred, "probs": torch.cat(probs)}


class WeightAverage:
    """Exponential moving average of a model's parameters and BatchNorm statistics. Averaged
    weights sit in a wider minimum than the last step's, which generalizes better to unseen
    writers; the warm-up (1 + n) / (10 + n) keeps the random start from lingering."""

    def __init__(self, model, decay):
        import copy
        self.model, self.decay, self.steps = copy.deepcopy(model), decay, 0
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model):
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for a, p in zip(self.model.parameters(), model.parameters()):
            a.mul_(d).add_(p.detach(), alpha=1 - d)
        for a, b in zip(self.model.buffers(), model.buffers()):
            if a.dtype.is_floating_point:
                a.mul_(d).add_(b, alpha=1 - d)
            else:
                a.copy_(b)


def model_from_checkpoint(path, unfold=None):
    """-> (network, checkpoint): the network a train.py checkpoint holds, built with its own
    architecture and widths, its weights ("model": the exported ones) loaded, in eval mode.
    An exported model file (.safetensors) is unfolded instead: see `unfold_model_file`; `unfold`
    is then (calibration images, temperature)."""
    if path.endswith(".safetensors"):
        return unfold_model_file(path, *unfold), None
    ck = torch.load(path)
    model = build_model(ck["arch"], **ck["model_kwargs"])
    model.load_state_dict(ck["model"])
    return model.eval(), ck


@torch.no_grad()
def unfold_model_file(path, calib_x, temperature, dropout=0.2):
    """The digits network of an exported model file (BatchNorm and the calibration temperature
    folded in by export.py), turned back into a training network, in eval mode. Its eval-mode
    function is exactly the file's logits times `temperature` (export_summary.json's, so that the
    logits are the trained network's again). Each BatchNorm gets the mean and variance of its
    conv's output on `calib_x` (normalized training images, augmented as training sees them) as
    running statistics, with the scale and shift that cancel them, so training mode (batch
    statistics) starts near the same function: a checkpoint lost, its committed file can still
    be fine-tuned or teach."""
    import check_model_file
    import digits_format
    arch, tensors, _, _ = check_model_file.read_model(path)
    expected = {f"{n}.{s}" for n in ["conv1", "conv2", "conv3", "conv4", "conv5", "fc"]
                for s in ("weight", "bias")}
    if set(tensors) != expected:
        raise ValueError(f"{path}: not a digits network file (tensors {sorted(tensors)})")
    widths = tuple(int(tensors[f"conv{i}.weight"].shape[0]) for i in range(1, 6))
    model = digits_net(dropout=dropout, widths=widths, classes=int(tensors["fc.weight"].shape[0]))
    t = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in tensors.items()}
    convs = [getattr(model, f"conv{i}") for i in range(1, 6)]
    bns = [getattr(model, f"bn{i}") for i in range(1, 6)]
    for i, (conv, bn) in enumerate(zip(convs, bns), 1):
        conv.weight.copy_(t[f"conv{i}.weight"])
        bn.weight.fill_(1.0)
        bn.bias.copy_(t[f"conv{i}.bias"])
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)  # identity: the network is now the file's
    model.fc.weight.copy_(t["fc.weight"] * temperature)
    model.fc.bias.copy_(t["fc.bias"] * temperature)
    outs = []
    hooks = [c.register_forward_hook(lambda m, i, o: outs.append(o)) for c in convs]
    model.eval()(calib_x)
    for h in hooks:
        h.remove()
    for bn, z in zip(bns, outs):
        mean, var = z.mean((0, 2, 3)), z.var((0, 2, 3), unbiased=False)
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.copy_((var + bn.eps).sqrt())
        bn.bias.add_(mean)
    # the same function as the file, as the core reads it (float64 reference, input de-normalized)
    want = digits_format.FileNet(arch, tensors).eval()(calib_x.double() * STD + MEAN)[0]
    worst = (model(calib_x).double() - want * temperature).abs().max().item()
    if worst > 1e-3:
        raise ValueError(f"{path}: the unfolded network differs from the file by {worst:g}")
    return model


def load_teachers(paths, unfold=None):
    """Frozen teacher networks (eval mode: BatchNorm's running statistics, no dropout), each
    built from its own checkpoint's architecture, so a wider network can teach the shipped one."""
    teachers = []
    for path in paths:
        t = model_from_checkpoint(path, unfold)[0].to(memory_format=torch.channels_last)
        for p in t.parameters():
            p.requires_grad_(False)
        teachers.append(t)
    return teachers


def distill_loss(out, y, teachers, x, alpha, temperature):
    """(1 - alpha) cross-entropy on the labels + alpha T^2 KL(teacher || student) at temperature
    T, the teacher being the ensemble's geometric mean (mean log-probabilities)."""
    with torch.no_grad():
        t_logp = torch.stack([t(x).log_softmax(1) for t in teachers]).mean(0)
        target = (t_logp / temperature).log_softmax(1)
    soft = F.kl_div((out / temperature).log_softmax(1), target, log_target=True,
                    reduction="batchmean") * temperature ** 2
    return (1 - alpha) * F.cross_entropy(out, y) + alpha * soft


def evaluate_sets(model, sets):
    """Per-set results and the selection score: the mean accuracy over the sets (so MNIST's 6,000
    images do not drown the held-out writers of CVL and UJI, or the non-digits)."""
    res = {name: evaluate(model, X, Y) for name, (X, Y) in sets.items()}
    score = float(np.mean([r["acc"] for r in res.values()]))
    loss = float(np.mean([r["loss"] for r in res.values()]))
    return res, score, loss


# --------------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------------

def plot_curves(history, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    ax[0].plot(ep, [h["train_loss"] for h in history], "o-", label="train (augmented)")
    ax[0].plot(ep, [h["val_loss"] for h in history], "o-", label="validation")
    ax[0].set_yscale("log")
    ax[0].set_title("loss")
    ax[1].plot(ep, [100 * h["train_acc"] for h in history], "o-", label="train (augmented)")
    ax[1].plot(ep, [100 * h["val_acc"] for h in history], "o-", label="validation")
    ax[1].set_ylim(97, 100)
    ax[1].set_title("accuracy %")
    ax[2].plot(ep, [h["lr"] for h in history], "o-")
    ax[2].set_title("learning rate (end of epoch)")
    for a in ax:
        a.set_xlabel("epoch")
        a.grid(alpha=0.3)
    ax[0].legend()
    ax[1].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(y_true, y_pred, path, title):
    """Rows: the true digit; columns: the prediction, the last one "not a digit" (?)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cols = max(10, int(np.max(y_pred)) + 1, data_mix.NUM_CLASSES)
    cm = np.zeros((10, cols), dtype=np.int64)
    for t, p in zip(np.asarray(y_true), np.asarray(y_pred)):
        cm[t, p] += 1
    fig, ax = plt.subplots(figsize=(7.5, 6))
    off = cm.copy()
    np.fill_diagonal(off, 0)
    im = ax.imshow(off, cmap="Reds")
    for i in range(10):
        for j in range(cols):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="black" if i != j else "gray")
    ax.set_xticks(range(cols))
    ax.set_xticklabels([str(j) if j < 10 else "?" for j in range(cols)])
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted (? = not a digit)")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="errors (off-diagonal)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return cm


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=mnist.DEFAULT_DATA, help="MNIST idx .gz dir (with md5sums)")
    ap.add_argument("--arch", default="digits", choices=sorted(ARCHS))
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3, help="peak LR (one-cycle) / start LR (plateau)")
    ap.add_argument("--weight-decay", type=float, default=1e-2, help="AdamW decoupled weight decay")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--widths", default=",".join(map(str, DEFAULT_WIDTHS)),
                    help="digits net: channels of the 5 convs")
    ap.add_argument("--schedule", default="onecycle", choices=["onecycle", "plateau"])
    ap.add_argument("--patience", type=int, default=8, help="early stopping: epochs without a "
                    "new best validation loss (one-cycle: counted in the second half only)")
    ap.add_argument("--mix", default="", help="samples per epoch of some pools, e.g. "
                    "'cvl=20000,mnist=32000' (default data_mix.EPOCH_MIX)")
    ap.add_argument("--fold-cvl-val", action="store_true", help="the final fit: CVL's 20 "
                    "validation writers join the training writers, so CVL has no validation set; "
                    "checkpoints are then chosen, and export.py calibrates, on the other held-out "
                    "writers' sets (MNIST, UJI, letters, synthetic)")
    ap.add_argument("--thin-images", action="store_true", help="train on the image pools (CVL, "
                    "Semeion, synthetic images) as the core's image path computes them now, its "
                    "last step the thinning (raster.thin_strokes); without it, as they were before "
                    "that step (run 36 trained so; run 46, shipped, with it; validation and test "
                    "sets always go through the whole path)")
    ap.add_argument("--pen", action="store_true", help="the pen writers join the mixture and "
                    "the validation: CROHME's digits, and its symbols, Omniglot and QuickDraw as "
                    "'not a digit' (data_mix.PEN_MIX)")
    ap.add_argument("--ema", type=float, default=0.999, help="keep an exponential moving average "
                    "of the weights with this decay per step (e.g. 0.999) and validate, select "
                    "and export it instead of the raw weights; 0 = off (before run 8)")
    ap.add_argument("--init", default="", help="start from this checkpoint's weights "
                    "(fine-tuning; its 'model' entry, the exported weights)")
    ap.add_argument("--teacher", default="", help="knowledge distillation: comma-separated "
                    "checkpoints whose averaged log-probabilities on the same augmented batch "
                    "become soft targets (Hinton et al. 2015); empty = off")
    ap.add_argument("--unfold-temperature", type=float, default=1.0, help="--init and "
                    "--teacher also take exported model files (.safetensors): the temperature "
                    "export.py folded into their fc (export_summary.json), multiplied back in")
    ap.add_argument("--distill-alpha", type=float, default=0.5, help="weight of the soft "
                    "targets' loss; 1 - alpha stays on the labels")
    ap.add_argument("--distill-t", type=float, default=2.0, help="distillation temperature")
    ap.add_argument("--adv-eps", type=float, default=0.0, help="adversarial training: replace "
                    "a fraction of each batch by PGD examples of this L-inf radius on [0, 1] "
                    "pixels (0 = off)")
    ap.add_argument("--adv-steps", type=int, default=5, help="PGD steps per adversarial example")
    ap.add_argument("--adv-frac", type=float, default=0.5, help="fraction of each batch attacked")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--rotate", type=float, default=AugConfig.rotate_deg, help="image "
                    "augmentation: rotation by up to +-DEG")
    ap.add_argument("--slant", type=float, default=AugConfig.slant_deg, help="image augmentation: "
                    "slant (shear) by up to +-DEG. A slant keeps a 7's bar level, where a rotation "
                    "tilts it like the flag of a European 1 (and a 1's flag like a 7's bar)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads; 1 is much faster "
                    "than 2 when other processes share the 2 cores (OpenMP barriers)")
    ap.add_argument("--out", default=None, help="plots/summary dir (default model/, or a temp "
                    "dir with --smoke)")
    ap.add_argument("--checkpoints", default=None, help="default OUT/checkpoints")
    ap.add_argument("--resume", action="store_true", help="continue from CHECKPOINTS/last.pt")
    ap.add_argument("--smoke", action="store_true", help="tiny subset, 1 short epoch (CI)")
    ap.add_argument("--stop-after", type=int, default=0, help="end this invocation after N epochs "
                    "(simulates an interruption; continue with --resume)")
    ap.add_argument("--tag", default="", help="prefix for output file names (baselines)")
    return ap.parse_args(argv)


def validation_skip(args):
    """The held-out sets a run with these arguments (its checkpoint's "args") trained on."""
    return ("cvl",) if args.get("fold_cvl_val") else ()


def is_tty():
    return sys.stderr.isatty()


def train(args):
    from tqdm import tqdm

    t_start = time.time()
    if args.smoke:
        args.epochs = 1
        if args.out is None:
            args.out = os.path.join("/tmp", "digits-smoke")
    if args.out is None:
        args.out = HERE
    ckdir = args.checkpoints or os.path.join(args.out, "checkpoints")
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(ckdir, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)

    pools = dict(kv.split("=") for kv in args.mix.split(",")) if args.mix else {}
    mix = data_mix.Mixture(args.data, smoke=args.smoke, cache_dir=ckdir,
                           log=lambda m: print(m, flush=True), mix=pools,
                           fold_cvl_val=args.fold_cvl_val, thin_images=args.thin_images,
                           pen=args.pen)
    val_sets = data_mix.eval_sets("val", args.data, smoke=args.smoke,
                                  skip=validation_skip(vars(args)), pen=args.pen)
    epoch_size = sum(mix.mix.values())
    print("validation (held-out writers): " +
          ", ".join(f"{k} {len(v[1])}" for k, v in val_sets.items()), flush=True)

    kw = ({"dropout": args.dropout, "widths": tuple(int(w) for w in args.widths.split(",")),
           "classes": data_mix.NUM_CLASSES} if args.arch == "digits"
          else {"classes": data_mix.NUM_CLASSES})
    model = build_model(args.arch, **kw).to(memory_format=torch.channels_last)
    params, macs = count_params(model), count_macs(model)
    print(f"model {args.arch}: {params} parameters, {macs} MACs", flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = math.ceil(epoch_size / args.batch_size)
    if args.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                    steps_per_epoch=steps, pct_start=0.25,
                                                    div_factor=25, final_div_factor=1e3)
    else:
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.3, patience=3)

    aug = AugConfig()
    aug.rotate_deg, aug.slant_deg = args.rotate, args.slant
    unfold = None
    if any(p.endswith(".safetensors") for p in [args.init] + args.teacher.split(",")):
        # BatchNorm statistics for unfolding model files: training images as the batches will
        # see them, augmented (unaugmented ones leave training mode further from the file's
        # function: mean |dlogit| 0.73 against 0.41 on run 36, in batches of 128)
        calib_seed = args.seed * 1000 - 1  # no epoch's (those are seed * 1000 + epoch)
        Xc, _, kind = mix.epoch(calib_seed)
        calib, kind = to_float(Xc[:4096]), kind[:4096]
        if not args.no_augment:
            m = kind != data_mix.NO_AUGMENT
            calib[m] = augment(calib[m], torch.Generator().manual_seed(calib_seed),
                               cfg=aug, may_thicken=kind[m] == data_mix.MNIST_AUGMENT)
        unfold = (normalize(calib), args.unfold_temperature)
    if args.init.endswith(".safetensors"):
        model.load_state_dict(unfold_model_file(args.init, *unfold, dropout=args.dropout)
                              .state_dict())
        print(f"starting from the weights of {args.init} (unfolded, T {args.unfold_temperature})",
              flush=True)
    elif args.init:
        model.load_state_dict(torch.load(args.init)["model"])
        print(f"starting from the weights of {args.init}", flush=True)
    ema = WeightAverage(model, args.ema) if args.ema > 0 else None
    teachers = load_teachers(args.teacher.split(","), unfold) if args.teacher else []
    if teachers:
        print(f"distilling from {args.teacher} (alpha {args.distill_alpha}, T {args.distill_t})",
              flush=True)
    history, start_epoch = [], 0
    best = {"val_acc": -1.0, "val_loss": float("inf"), "epoch": -1}
    best_loss, bad_epochs = float("inf"), 0
    last_path, best_path = os.path.join(ckdir, "last.pt"), os.path.join(ckdir, "best.pt")
    if args.resume and os.path.exists(last_path):
        ck = torch.load(last_path)
        model.load_state_dict(ck.get("raw_model", ck["model"]))
        if ema:
            ema.model.load_state_dict(ck["model"])
            ema.steps = ck.get("ema_steps", 0)
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        history, best = ck["history"], ck["best"]
        start_epoch = ck["epoch"] + 1
        best_loss, bad_epochs = ck["best_loss"], ck["bad_epochs"]
        print(f"resumed from {last_path}: epoch {start_epoch} of {args.epochs}", flush=True)
    elif args.resume:
        print(f"--resume: no {last_path}, starting from scratch", flush=True)

    stopped_early = False
    for epoch in range(start_epoch, args.epochs):
        if bad_epochs >= args.patience:
            stopped_early = True
            break
        t0 = time.time()
        # every epoch's randomness derives from (seed, epoch): a resumed run is the same run
        torch.manual_seed(args.seed * 1000 + epoch)
        g = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        t_mix = time.time()
        Xtr, Ytr, Mtr = mix.epoch(args.seed * 1000 + epoch)
        t_mix = time.time() - t_mix
        model.train()
        tot_loss, tot_ok, seen = 0.0, 0, 0
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                   mininterval=1.0 if is_tty() else 60.0,
                   file=sys.stderr)
        for it in bar:
            sl = slice(it * args.batch_size, (it + 1) * args.batch_size)
            x = to_float(Xtr[sl])
            y = Ytr[sl]
            if not args.no_augment:  # image sources: image augmentation; strokes: varied already
                kind = Mtr[sl]
                m = kind != data_mix.NO_AUGMENT
                x[m] = augment(x[m], g, cfg=aug,
                               may_thicken=kind[m] == data_mix.MNIST_AUGMENT)
            if args.adv_eps > 0:  # the first part of the (shuffled) batch becomes adversarial
                k = int(round(args.adv_frac * len(y)))
                x[:k] = pgd_attack(model, x[:k], y[:k], args.adv_eps, args.adv_steps, g)
            x = normalize(x).contiguous(memory_format=torch.channels_last)
            out = model(x)
            loss = (distill_loss(out, y, teachers, x, args.distill_alpha, args.distill_t)
                    if teachers else F.cross_entropy(out, y))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema:
                ema.update(model)
            if args.schedule == "onecycle":
                sched.step()
            tot_loss += loss.item() * len(y)
            tot_ok += (out.argmax(1) == y).sum().item()
            seen += len(y)
            if it % 20 == 0:
                bar.set_postfix(loss=f"{tot_loss / seen:.4f}", acc=f"{tot_ok / seen:.4f}", refresh=False)
        bar.close()
        vres, vscore, vloss = evaluate_sets(ema.model if ema else model, val_sets)
        if args.schedule == "plateau":
            sched.step(vloss)
        dt = time.time() - t0
        h = {"epoch": epoch + 1, "lr": opt.param_groups[0]["lr"], "train_loss": tot_loss / seen,
             "train_acc": tot_ok / seen, "val_loss": vloss, "val_acc": vscore,
             "val_sets": {k: {"acc": r["acc"], "errors": r["errors"], "loss": r["loss"]}
                          for k, r in vres.items()},
             "time_s": dt, "mix_time_s": t_mix}
        history.append(h)
        # the checkpoint with the lowest validation loss (mean over the sources): smoother than
        # their accuracies, which move by single samples on the smaller held-out sets
        improved = vloss < best["val_loss"]
        if improved:
            best = {"val_acc": vscore, "val_loss": vloss, "epoch": epoch + 1}
        if vloss < best_loss:
            best_loss, bad_epochs = vloss, 0
        elif args.schedule != "onecycle" or epoch + 1 > args.epochs // 2:
            # with one-cycle the LR is high in the first half and the validation loss is noisy
            # there: early stopping only counts epochs of the annealing half
            bad_epochs += 1
        per = "  ".join(f"{k} {100 * r['acc']:.2f}%" for k, r in vres.items())
        print(f"epoch {epoch + 1:3d}/{args.epochs}  lr {h['lr']:.2e}  train loss {h['train_loss']:.4f}"
              f" acc {100 * h['train_acc']:.2f}%  val loss {vloss:.4f} mean acc {100 * vscore:.2f}%"
              f" [{per}]  {dt:.0f}s (mix {t_mix:.0f}s){'  *best*' if improved else ''}", flush=True)
        # "model" is what is validated and exported: the average when there is one
        ck = {"model": (ema.model if ema else model).state_dict(), "optimizer": opt.state_dict(),
              "scheduler": sched.state_dict(), "epoch": epoch, "history": history, "best": best,
              "best_loss": best_loss, "bad_epochs": bad_epochs, "args": vars(args),
              "arch": args.arch, "model_kwargs": kw}
        if ema:
            ck.update(raw_model=model.state_dict(), ema_steps=ema.steps)
        torch.save(ck, last_path + ".tmp")
        os.replace(last_path + ".tmp", last_path)
        if improved:
            shutil.copyfile(last_path, best_path)
        if args.stop_after and epoch + 1 - start_epoch >= args.stop_after and epoch + 1 < args.epochs:
            print(f"--stop-after {args.stop_after}: stopping after epoch {epoch + 1}", flush=True)
            return None
    if bad_epochs >= args.patience and len(history) < args.epochs:
        stopped_early = True
    if stopped_early:
        print(f"early stopping: validation loss did not improve for {args.patience} epochs",
              flush=True)

    # ---- final report with the best checkpoint (the test sets are used here only) ----
    ck = torch.load(best_path)
    model.load_state_dict(ck["model"])
    # The pen writers' test sets with the pen writers' training only, as the validation sets: a
    # run without --pen reports what run 36 reported (and a smoke run skips loading CROHME,
    # Omniglot and Quick, Draw!, a minute of CI each).
    test_sets = data_mix.eval_sets("test", args.data, smoke=args.smoke, pen=args.pen)
    vres, vscore, _ = evaluate_sets(model, val_sets)
    tres, _, _ = evaluate_sets(model, test_sets)
    tag = args.tag
    plot_curves(history, os.path.join(args.out, f"{tag}training_curves.png"),
                f"{args.arch}: best epoch {best['epoch']}, mean validation accuracy {100 * vscore:.2f}%")
    Xte, Yte = test_sets["mnist"]
    cm = plot_confusion(Yte.numpy(), tres["mnist"]["pred"].numpy(),
                        os.path.join(args.out, f"{tag}confusion_matrix.png"),
                        f"MNIST test: {100 * tres['mnist']['acc']:.2f}% ({tres['mnist']['errors']} errors)")
    train_time = sum(h["time_s"] for h in history)
    summary = {
        "arch": args.arch, "params": params, "macs": macs,
        "command": "/usr/bin/python3 " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]),
        "args": vars(args), "seed": args.seed, "split_seed": mnist.SPLIT_SEED,
        "epoch_mix": mix.mix,
        "epochs_run": len(history), "best_epoch": best["epoch"], "stopped_early": stopped_early,
        "val": {k: {"acc": r["acc"], "errors": r["errors"], "count": len(val_sets[k][1])}
                for k, r in vres.items()},
        "test": {k: {"acc": r["acc"], "errors": r["errors"], "count": len(test_sets[k][1])}
                 for k, r in tres.items()},
        "mean_epoch_s": train_time / max(1, len(history)), "train_time_s": train_time,
        "wall_time_this_invocation_s": time.time() - t_start,
        "confusion_matrix": cm.tolist(), "history": history,
        "torch": torch.__version__, "threads": args.threads, "machine": platform.processor()
        or platform.machine(),
    }
    with open(os.path.join(args.out, f"{tag}training_summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"best epoch {best['epoch']}: " + ", ".join(
        f"{k} {100 * r['acc']:.2f}%" for k, r in tres.items()) + " (TEST, argmax of 11 classes); "
        f"training {train_time / 60:.1f} min, {summary['mean_epoch_s']:.0f} s/epoch", flush=True)
    return summary


if __name__ == "__main__":
    train(parse_args())
