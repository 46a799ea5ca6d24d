"""The training mixture: every source in ../shared/data, in the form the core feeds the network.

Classes: 0-9 are the digits, 10 (NOT_A_DIGIT) is everything else.

Pools (training writers only; see handwriting.py for the writer splits):
  mnist        MNIST training split images (54,000), as they are (MNIST-normalized already: the
               network input `digits eval` feeds)
  mnist_trace  the same digits traced into pen strokes (scripts/make_stroke_fixture.py's tracer),
               re-drawn each epoch through the stroke twin with random stroke variation
  cvl          CVL scans through the image twin (raster.preprocess_image)
  semeion      Semeion through the image twin
  uji          UJI pen trajectories, re-drawn each epoch with random stroke variation
  letters      clear non-digit letters (Chars74K, UJI v1), re-drawn each epoch   -> class 10
  crohme       CROHME pen digits (training writers and the unsplit MfrDB), re-drawn each epoch
  symbols      CROHME's clear letters, operators and Greek letters (at most SYMBOLS_PER_LABEL of
               each), Omniglot characters and QuickDraw doodles that are no digit look-alikes,
               re-drawn each epoch                                               -> class 10
  synth        synthetic scribbles, lines, specks, shapes, fresh each epoch       -> class 10
  synth_img    synthetic images (specks, blobs, gradients, noise) through the image twin -> 10
The image twin's pools (cvl, semeion, synth_img) leave out its last step, the thinning, unless
thin_images (train.py --thin-images): run 36 trained without it, run 46 (shipped) with it.
Image pools get the image augmentation of train.augment; stroke pools get stroke variation
(vary_strokes) and are rendered exactly as the core would.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
import handwriting as hw  # noqa: E402
import mnist  # noqa: E402
import raster  # noqa: E402

NOT_A_DIGIT = 10
NUM_CLASSES = 11

# samples drawn from each pool per epoch (without replacement where the pool is large enough)
EPOCH_MIX = {"mnist": 36000, "mnist_trace": 18000, "cvl": 17000, "semeion": 2000, "uji": 5000,
             "letters": 7000, "synth": 4000, "synth_img": 1500, "crohme": 0, "symbols": 0}
# train.py --pen: the pen writers' pools join the mixture (model/README.md, history item 21)
PEN_MIX = {"crohme": 14000, "symbols": 8000}
STROKE_POOLS = ("mnist_trace", "uji", "letters", "synth", "crohme", "symbols")
SYMBOLS_PER_LABEL = 1000  # CROHME has 6,302 minus signs: each symbol counts alike up to this
NO_AUGMENT, IMAGE_AUGMENT, MNIST_AUGMENT = 0, 1, 2


def resample_stroke(s, gap):
    """The points a pointer moving at a steady speed would report every `gap` units of path
    (first and last kept): a slow pointer's polyline, which cuts corners. Decimating the points
    instead would turn a traced 7 or a box of 3-5 vertices into one straight line, a 1."""
    if len(s) < 2:
        return s
    seg = np.sqrt(((s[1:] - s[:-1]) ** 2).sum(1))
    d = np.r_[0.0, np.cumsum(seg)]
    if d[-1] <= gap:
        return s[[0, -1]]
    t = np.r_[np.arange(0.0, d[-1], gap), d[-1]]
    return np.stack([np.interp(t, d, s[:, 0]), np.interp(t, d, s[:, 1])], 1).astype(np.float32)


def vary_strokes(strokes, rng, geometric=True):
    """A new hand for the same drawing: as sampled by a fast or a slow pointer (down to a point
    every quarter of the drawing's size: polylines with corners), slant +-20 deg, rotation +-8
    deg, aspect 0.75-1.3 (unless not `geometric`: the synthetic shapes keep their angles, so a
    flat line never turns into a 1), mouse jitter, and coordinates rounded to the pixels of a
    canvas where the drawing is 40-250 px tall."""
    pts = np.concatenate(strokes, 0)
    lo, hi = pts.min(0), pts.max(0)
    c = 0.5 * (lo + hi)
    size = max(float((hi - lo).max()), 1e-3)
    slant = math.tan(math.radians(rng.uniform(-20, 20)))
    rot = math.radians(rng.uniform(-8, 8))
    aspect = math.exp(rng.uniform(math.log(0.75), math.log(1.3)))
    cr, sr = math.cos(rot), math.sin(rot)
    A = np.array([[cr, -sr], [sr, cr]]) @ np.array([[aspect, -slant], [0.0, 1.0]])
    if not geometric:
        A = np.eye(2)
    px = rng.uniform(40, 250) / size  # canvas pixels per unit
    jitter = rng.choice([0.0, 0.0, 0.004, 0.01, 0.02]) * size
    gap = float(rng.choice([0.0, 0.0, 0.0, 0.05, 0.1, 0.15, 0.25])) * size
    out = []
    for s in strokes:
        if gap > 0:
            s = resample_stroke(s, gap)
        q = (s - c) @ A.T
        if jitter > 0:
            q = q + rng.normal(0, jitter, q.shape)
        q = np.round(q * px) / px
        out.append(q.astype(np.float32))
    return out


MIN_TRACE_IOU = 0.75  # as the fixture's number test: below it the trace is not the digit


def trace_mnist(images, cache_path):
    """Traced strokes of MNIST images (in 28x28 units), None where the trace is unfaithful: the
    tracer fills the loops of a thick 8 into one bar, and a bar labelled 8 teaches the network to
    read thick 1s as 8s. Faithful = the strokes, redrawn with the best-fitting pen, overlap the
    original ink by IoU >= 0.75 (the fixture's own score). Cached: ~3 min for 54,000."""
    if cache_path and os.path.exists(cache_path):
        z = np.load(cache_path, allow_pickle=True)
        if len(z["strokes"]) == len(images):
            return list(z["strokes"])
    import make_stroke_fixture as msf
    out = []
    for img in images:
        try:
            strokes = msf.trace_digit(img)
        except ValueError:
            out.append(None)
            continue
        _, iou_fit = msf.fit_width(msf.stroke_distance(strokes), img >= msf.THRESHOLD)
        out.append([np.asarray(s, np.float32) for s in strokes] if iou_fit >= MIN_TRACE_IOU else None)
    if cache_path:
        arr = np.empty(len(out), dtype=object)
        arr[:] = out
        np.save(cache_path + ".tmp.npy", arr, allow_pickle=True)
        np.savez(cache_path, strokes=arr)
        os.remove(cache_path + ".tmp.npy")
    return out


def to_u8(img):
    return (img.clamp(0, 1) * 255).round().to(torch.uint8)


def render(drawings, pens=None, chunk=128, exact=False):
    """Drawings -> N x 28 x 28 through the stroke twin, uint8 (training stores bytes) or with
    `exact` the float32 pixels the core would compute; chunks of similar length keep the padded
    segment count low."""
    n = len(drawings)
    out = torch.zeros(n, 28, 28, dtype=torch.float32 if exact else torch.uint8)
    lens = np.array([sum(max(1, len(s) - 1) for s in d) for d in drawings])
    order = np.argsort(lens, kind="stable")
    for i in range(0, n, chunk):
        idx = order[i:i + chunk]
        segs, mask, boxes = raster.pack_segments([drawings[k] for k in idx])
        pw = raster.PEN_WIDTH if pens is None else torch.as_tensor(pens[idx], dtype=torch.float32)
        img, _ = raster.preprocess_strokes(segs, mask, boxes, pw)
        out[torch.from_numpy(idx)] = img if exact else to_u8(img)
    return out


def image_pool(images, exact=False, thin=True):
    """Images through the image twin -> (N' x 28 x 28, keep mask); empty ones are dropped.
    thin=False: without the image path's last step (raster.thin_strokes)."""
    if exact:
        rs = [raster.preprocess_image(im, thin) for im in images]
        keep = np.array([r is not None for r in rs])
        return torch.from_numpy(np.stack([r for r in rs if r is not None])), keep
    X, empty = raster.preprocess_images(images, thin)
    return torch.from_numpy(X[~empty]), ~empty


class Mixture:
    def __init__(self, mnist_dir, smoke=False, cache_dir=None, log=print, mix=None,
                 fold_cvl_val=False, thin_images=False, pen=False):
        t0 = time.time()
        d = mnist.load_or_exit(mnist_dir)
        tr_idx, va_idx = mnist.split_indices()
        if smoke:
            tr_idx, va_idx = tr_idx[:1500], va_idx[:500]
        self.smoke = smoke
        Xm, Ym = d["train_images"][tr_idx], d["train_labels"][tr_idx].astype(np.int64)
        self.img = {"mnist": (torch.from_numpy(Xm.copy()), torch.from_numpy(Ym))}
        cache = None if smoke or not cache_dir else os.path.join(cache_dir, "mnist_traces.npz")
        traces = trace_mnist(Xm, cache)
        ok = [i for i, t in enumerate(traces) if t]
        self.strokes = {"mnist_trace": ([traces[i] for i in ok], Ym[ok])}
        log(f"mixture: traced {len(ok)} of {len(Xm)} MNIST training digits ({time.time() - t0:.0f} s)")

        cv = hw.cvl_splits()
        Xc, Yc, _ = cv["train"]
        Xv, Yv, _ = cv["val"]
        if smoke:  # a slice of each, so that a smoke final fit has validation writers too
            Xc, Yc, Xv, Yv = Xc[:800], Yc[:800], Xv[:200], Yv[:200]
        if fold_cvl_val:  # the final fit: CVL's 20 validation writers train too (train.py)
            Xc, Yc = np.concatenate([Xc, Xv]), np.concatenate([Yc, Yv])
        # Run 36 trained on images without the image path's thinning; train.py --thin-images
        # (run 46) trains on them as the core computes them now.
        P, keep = image_pool(Xc, thin=thin_images)
        self.img["cvl"] = (P, torch.from_numpy(Yc[keep]))
        Xs, Ys = hw.semeion()
        P, keep = image_pool(Xs, thin=thin_images)
        self.img["semeion"] = (P, torch.from_numpy(Ys[keep]))
        rng = np.random.default_rng(12345)
        P, _ = image_pool(hw.synthetic_images(rng, 600 if smoke else 4000), thin=thin_images)
        self.img["synth_img"] = (P, torch.full((len(P),), NOT_A_DIGIT, dtype=torch.int64))

        uji = [(s, y) for s, y, w in hw.uji_digits() if w in hw.UJI_SPLIT["train"]]
        self.strokes["uji"] = ([s for s, _ in uji], np.array([y for _, y in uji]))
        let = hw.letters_split("train")
        self.strokes["letters"] = ([s for s, _ in let], np.full(len(let), NOT_A_DIGIT))
        self.mix = dict(EPOCH_MIX)
        if pen:  # loaded only when used: the mixtures without them draw the same samples as before
            digits, symbols = pen_pools("train")
            self.strokes["crohme"] = ([s for s, _ in digits], np.array([y for _, y in digits]))
            self.strokes["symbols"] = (symbols, np.full(len(symbols), NOT_A_DIGIT))
            self.mix.update(PEN_MIX)
        for name, n in (mix or {}).items():
            if name not in self.mix:
                raise ValueError(f"--mix: unknown pool {name!r} (pools: {', '.join(self.mix)})")
            if name in PEN_MIX and not pen and int(n):
                raise ValueError(f"--mix: pool {name!r} needs --pen")
            self.mix[name] = int(n)
        if smoke:
            self.mix = {k: max(64, v // 100) if v else 0 for k, v in self.mix.items()}
        log("mixture pools: " + ", ".join(
            [f"{k} {len(v[0])}" for k, v in self.img.items()] +
            [f"{k} {len(v[0])}" for k, v in self.strokes.items()]) +
            f"; per epoch: {sum(self.mix.values())} ({time.time() - t0:.0f} s)")

    def epoch(self, seed):
        """-> X uint8 (N,1,28,28), Y int64 (N,), augmentation int8 (N,), in a random order;
        everything derives from `seed`. Augmentation: NO_AUGMENT for the stroke pools (drawn as
        the core draws them, with stroke variation instead), IMAGE_AUGMENT for CVL, Semeion and the
        synthetic images, MNIST_AUGMENT (the same plus stroke thickening) for MNIST. Thickening a
        CVL scan can close the small loops of its many narrow 8s into a bar labelled 8 (suspected
        of teaching the network to read MNIST's thick 1s as 8s; not the main cause, see the model
        card's history)."""
        rng = np.random.default_rng(seed)
        xs, ys, augmentation = [], [], []

        def pick(n_pool, n):
            if n <= n_pool:
                return rng.choice(n_pool, n, replace=False)
            return np.concatenate([rng.permutation(n_pool) for _ in range(n // n_pool)] +
                                  [rng.choice(n_pool, n % n_pool, replace=False)])

        for name, (X, Y) in self.img.items():
            idx = torch.from_numpy(pick(len(X), self.mix[name]))
            xs.append(X[idx])
            ys.append(Y[idx])
            augmentation.append(torch.full((len(idx),), MNIST_AUGMENT if name == "mnist" else IMAGE_AUGMENT,
                                    dtype=torch.int8))
        for name in STROKE_POOLS:
            if self.mix[name] == 0:
                continue
            if name == "synth":
                drawings = hw.synthetic_strokes(rng, self.mix[name])
                labels = np.full(len(drawings), NOT_A_DIGIT)
            else:
                pool, lab = self.strokes[name]
                idx = pick(len(pool), self.mix[name])
                drawings = [pool[i] for i in idx]
                labels = lab[idx]
            drawings = [vary_strokes(dr, rng, geometric=name != "synth") for dr in drawings]
            pens = rng.uniform(1.8, 3.4, len(drawings))
            xs.append(render(drawings, pens))
            ys.append(torch.from_numpy(np.asarray(labels, np.int64)))
            augmentation.append(torch.full((len(drawings),), NO_AUGMENT, dtype=torch.int8))
        X = torch.cat(xs).unsqueeze(1)
        Y = torch.cat(ys)
        M = torch.cat(augmentation)
        perm = torch.from_numpy(rng.permutation(len(Y)))
        return X[perm], Y[perm], M[perm]


def pen_pools(split, data=hw.DATA):
    """The pen writers' sources of a split -> (digits: [(strokes, label)], symbols: [strokes]):
    CROHME's digits; CROHME's clear non-digits (at most SYMBOLS_PER_LABEL of each symbol, a fixed
    choice), Omniglot's and QuickDraw's non-look-alikes."""
    digits, others = hw.crohme_split(split, data)
    rng = np.random.default_rng(4242)
    by_label = {}
    for i in rng.permutation(len(others)):
        by_label.setdefault(others[i][1], []).append(others[i][0])
    symbols = [s for label in sorted(by_label) for s in by_label[label][:SYMBOLS_PER_LABEL]]
    symbols += hw.omniglot_split(split, data) + hw.quickdraw_split(split, data)
    return [(s, y) for s, y, _ in digits], symbols


# ------------------------------------------------------------------------------------------------
# evaluation sets: exactly the core's input (no augmentation), by held-out writers
# ------------------------------------------------------------------------------------------------

def test_sample(mnist_dir, n, rng):
    """n MNIST test digits and n CVL test scans (through the image twin) drawn with `rng`:
    {'mnist': (X N x 1 x 28 x 28 in [0, 1], Y), 'cvl': (X, Y)}."""
    d = mnist.load_or_exit(mnist_dir)
    i = rng.choice(len(d["test_images"]), n, replace=False)
    out = {"mnist": (torch.from_numpy(d["test_images"][i].astype(np.float32) / 255)[:, None],
                     torch.from_numpy(d["test_labels"][i].astype(np.int64)))}
    Xc, Yc, _ = hw.cvl_splits()["test"]
    j = rng.choice(len(Xc), n, replace=False)
    P, keep = image_pool([Xc[k] for k in j], exact=True)
    out["cvl"] = (P[:, None], torch.from_numpy(np.asarray(Yc)[j][keep]))
    return out


def fixture_drawings():
    import json
    p = os.path.join(mnist.REPO_ROOT, "tests", "data", "strokes", "mnist_test_strokes.json")
    with open(p) as f:
        doc = json.load(f)
    return ([[np.asarray(s, np.float32) for s in d["strokes"]] for d in doc["digits"]],
            np.array([d["label"] for d in doc["digits"]]))


def eval_sets(split, mnist_dir, smoke=False, skip=(), pen=True):
    """split 'val' or 'test' -> {name: (X float32 N,1,28,28 in [0,1], Y)}: exactly the pixels the
    core computes (no augmentation). Names: mnist, cvl, uji, letters, synth (negatives), with
    `pen` crohme (the pen writers' digits) and symbols (their letters and symbols, Omniglot,
    QuickDraw: negatives), and for 'test' also fixture (the traced MNIST test strokes); none of
    those in `skip` (a set the model trained on is no validation: skip=("cvl",) after a final
    fit). Validation without `pen` is the one the models before the pen writers chose by."""
    out = {}
    d = mnist.load_or_exit(mnist_dir)
    if split == "val":
        _, va = mnist.split_indices()
        X, Y = d["train_images"][va], d["train_labels"][va]
    else:
        X, Y = d["test_images"], d["test_labels"]
    n = 500 if smoke else len(X)
    out["mnist"] = (torch.from_numpy(X[:n].astype(np.float32) / np.float32(255)).unsqueeze(1),
                    torch.from_numpy(Y[:n].astype(np.int64)))
    if "cvl" not in skip:
        Xc, Yc, _ = hw.cvl_splits()[split]
        if smoke:
            Xc, Yc = Xc[:500], Yc[:500]
        P, keep = image_pool(Xc, exact=True)
        assert keep.all(), "a CVL image came out empty"
        out["cvl"] = (P.unsqueeze(1), torch.from_numpy(Yc))
    uji = [(s, y) for s, y, w in hw.uji_digits() if w in hw.UJI_SPLIT[split]]
    out["uji"] = (render([s for s, _ in uji], exact=True).unsqueeze(1),
                  torch.tensor([y for _, y in uji]))
    let = hw.letters_split(split)
    out["letters"] = (render([s for s, _ in let], exact=True).unsqueeze(1),
                      torch.full((len(let),), NOT_A_DIGIT, dtype=torch.int64))
    rng = np.random.default_rng(777 if split == "val" else 888)
    syn = hw.synthetic_strokes(rng, 100 if smoke else 650)
    Xs = render(syn, exact=True)
    Pi, _ = image_pool(hw.synthetic_images(rng, 50 if smoke else 250), exact=True)
    out["synth"] = (torch.cat([Xs, Pi]).unsqueeze(1),
                    torch.full((len(Xs) + len(Pi),), NOT_A_DIGIT, dtype=torch.int64))
    if pen:
        digits, symbols = pen_pools(split)
        if smoke:
            digits, symbols = digits[:300], symbols[:300]
        out["crohme"] = (render([s for s, _ in digits], exact=True).unsqueeze(1),
                         torch.tensor([y for _, y in digits]))
        out["symbols"] = (render(symbols, exact=True).unsqueeze(1),
                          torch.full((len(symbols),), NOT_A_DIGIT, dtype=torch.int64))
    if split == "test":
        dr, lab = fixture_drawings()
        out["fixture"] = (render(dr, exact=True).unsqueeze(1), torch.from_numpy(lab.astype(np.int64)))
    return out
