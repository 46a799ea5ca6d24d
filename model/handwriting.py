"""The handwriting beyond MNIST in ../shared/data (see its README for formats and terms), with
writer-independent splits, and the synthetic "not a digit" drawings.

Readers (each returns plain numpy arrays / lists and the writer of every sample):
  cvl(split)        CVL single digits: 28x28 scans, dark ink on paper; writers from *-samples.txt
  uji_digits()      UJI Pen Characters v2 digits: pen trajectories, writer = index // 2
  semeion()         Semeion: 16x16 binary, ink = 1 (writers not recorded)
  chars74k()        Chars74K EnglishHnd as trajectories: one sample per writer per character
  uji1_letters()    UJI Pen Characters v1 (UNIPEN): 11 writers, 2 samples per character
  crohme()          CROHME 2014 isolated math symbols: pen trajectories of digits, letters,
                    operators and Greek letters; writer = the dataset's writer key
  omniglot()        Omniglot: characters of 8 alphabets, 20 drawers each
  quickdraw()       a sample of Quick, Draw! doodles, 345 categories

Splits (fixed, by writer, never by sample):
  CVL    train: the competition's train split + 40 of the valid split's 60 writers; validation:
         the other 20 valid writers; test: the competition's test split (176 writers), reported
         only, never used for a decision.
  UJI    writers 0-41 train, 42-49 validation, 50-59 test.
  letters  Chars74K writers 0-38 train, 39-46 validation, 47-54 test; UJI v1 writers all train
         (they are UJI writers 0-10, i.e. training writers of the UJI digits too).
  CROHME writer keys shuffled with a fixed seed: 70% train, 15% validation, 15% test;
         `mfrdb:MfrDB` (writers not recorded) trains only.
  Omniglot drawers 1-14 train, 15-17 validation, 18-20 test.
  QuickDraw one player per drawing: within each category, 70% / 15% / 15% by a fixed shuffle.

Negatives are the letters in CLEAR_NON_DIGITS: letters nobody would read as a digit. Excluded are
those that look like one: O o Q D (0), I i l j J (1), Z z (2), S s (5), G b (6), T (7), B (8),
g q y a (9), and also U u (an open 0) and C c (a broken 0). CROHME adds the operators and Greek
letters of CROHME_NON_DIGITS; Omniglot and QuickDraw add what OMNIGLOT_LOOK_ALIKES and
QUICKDRAW_LOOK_ALIKES do not leave out.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import struct

import numpy as np

import mnist

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = mnist.DATA_ROOT

LOOK_LIKE_DIGITS = set("OoQDIiljJZzSsGbTBgqyaUuCc")
CLEAR_NON_DIGITS = sorted(set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
                          - LOOK_LIKE_DIGITS)

UJI_SPLIT = {"train": range(0, 42), "val": range(42, 50), "test": range(50, 60)}
C74_SPLIT = {"train": range(0, 39), "val": range(39, 47), "test": range(47, 55)}
OMNIGLOT_SPLIT = {"train": range(1, 15), "val": range(15, 18), "test": range(18, 21)}
SPLIT_FRACTIONS = (0.70, 0.15)  # train, validation; the rest tests (CROHME writers, QuickDraw)
SPLIT_SEED = 2014

# CROHME symbols nobody would read as a digit: the clear letters, operators, Greek letters and
# words. Left out: what is a bar, a dot, a bracket or a hook at digit size (- is kept: flat, like
# the synthetic lines), ( ) [ ] { } | / . , ! ' (1s and specks), and the Greek letters that look
# like a letter left out above: gamma (y, a 9), sigma (a 6 or a 0).
CROHME_NON_DIGITS = set(CLEAR_NON_DIGITS) | {
    "+", "-", "=", "\\times", "\\div", "\\pm", "\\neq", "\\leq", "\\geq", "\\lt", "\\gt",
    "\\rightarrow", "\\ldots", "\\in", "\\forall", "\\exists", "\\sqrt", "\\int", "\\sum",
    "\\infty", "\\alpha", "\\beta", "\\theta", "\\pi", "\\phi", "\\mu", "\\lambda",
    "\\Delta", "\\sin", "\\cos", "\\tan", "\\log", "\\lim"}
CROHME_UNSPLIT = "mfrdb:MfrDB"  # one key for many unrecorded writers: training only
CVL_VALID_HELD_OUT = 20  # the last 20 writers (sorted by id) of CVL's valid split validate


def _idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def cvl(split, data=DATA):
    """split: 'train' | 'valid' | 'test' -> images (N,28,28) uint8 (255 = paper), labels, writers."""
    d = os.path.join(data, "cvl")
    X = _idx(os.path.join(d, f"cvl-{split}-images-idx3-ubyte.gz"))
    Y = _idx(os.path.join(d, f"cvl-{split}-labels-idx1-ubyte.gz")).astype(np.int64)
    with open(os.path.join(d, f"cvl-{split}-samples.txt")) as f:
        writers = np.array([int(line.split()[1]) for line in f if line.strip()])
    assert len(X) == len(Y) == len(writers), split
    return X, Y, writers


def cvl_splits(data=DATA):
    """{'train', 'val', 'test'} -> (images, labels, writers) by the writer split above."""
    tx, ty, tw = cvl("train", data)
    vx, vy, vw = cvl("valid", data)
    held = set(sorted(set(vw.tolist()))[-CVL_VALID_HELD_OUT:])
    v_tr = np.array([w not in held for w in vw])
    ex, ey, ew = cvl("test", data)
    return {"train": (np.concatenate([tx, vx[v_tr]]), np.concatenate([ty, vy[v_tr]]),
                      np.concatenate([tw, vw[v_tr]])),
            "val": (vx[~v_tr], vy[~v_tr], vw[~v_tr]),
            "test": (ex, ey, ew)}


def uji_digits(data=DATA):
    """-> list of (strokes, label, writer); strokes: list of (n,2) float arrays, y down."""
    with open(os.path.join(data, "uji", "ujipenchars2-digits.json")) as f:
        raw = json.load(f)["rawData"]
    out = []
    for label in range(10):
        for k, sample in enumerate(raw[str(label)]):
            strokes = [np.asarray(s, np.float32).reshape(-1, 2) for s in sample if len(s)]
            out.append((strokes, label, k // 2))
    return out


def semeion(data=DATA):
    """-> images (N,16,16) uint8 (255 = ink on 0), labels."""
    rows = np.loadtxt(os.path.join(data, "semeion", "semeion.data"))
    X = (rows[:, :256].reshape(-1, 16, 16) * 255).astype(np.uint8)
    Y = rows[:, 256:266].argmax(1).astype(np.int64)
    return X, Y


def chars74k(data=DATA):
    """-> list of (strokes, char, writer)."""
    with open(os.path.join(data, "letters", "chars74k-strokes.json")) as f:
        raw = json.load(f)
    out = []
    for ch, samples in raw.items():
        for w, sample in enumerate(samples):
            strokes = [np.asarray(s, np.float32).reshape(-1, 2) for s in sample if len(s)]
            if strokes:
                out.append((strokes, ch, w))
    return out


def uji1_letters(data=DATA):
    """UNIPEN files of UJI Pen Characters v1 -> list of (strokes, char, writer 0-10)."""
    d = os.path.join(data, "letters", "uji1")
    out = []
    for name in sorted(os.listdir(d)):
        m = re.match(r"UJIpenchars-w(\d+)\.txt$", name)
        if not m:
            continue
        writer = int(m.group(1)) - 1
        ch, strokes, cur = None, [], None
        with open(os.path.join(d, name), encoding="latin-1") as f:
            for line in f:
                t = line.strip()
                if t.startswith(".SEGMENT"):
                    if ch is not None and strokes:
                        out.append((strokes, ch, writer))
                    q = re.search(r'"(.*)"', t)
                    ch, strokes, cur = (q.group(1) if q else None), [], None
                elif t.startswith(".PEN_DOWN"):
                    cur = []
                elif t.startswith(".PEN_UP"):
                    if cur:
                        strokes.append(np.asarray(cur, np.float32))
                    cur = None
                elif cur is not None and t and not t.startswith("."):
                    xy = t.split()
                    if len(xy) >= 2:
                        cur.append((float(xy[0]), float(xy[1])))
        if ch is not None and strokes:
            out.append((strokes, ch, writer))
    return out


def _strokes(sample):
    return [np.asarray(st, np.float32).reshape(-1, 2) for st in sample if len(st)]


def _gz_samples(data, folder, name):
    """The "samples" list of one of the gzip JSON files (CROHME, Omniglot, QuickDraw)."""
    with gzip.open(os.path.join(data, folder, name), "rt") as f:
        return json.load(f)["samples"]


def crohme(data=DATA):
    """-> list of (strokes, label, writer key, ui); y down, in the tablet's units (each symbol
    keeps its place in its expression: the stroke path normalizes by the box)."""
    out = []
    for r in _gz_samples(data, "crohme", "crohme2014-symbols.json.gz"):
        strokes = _strokes(r["strokes"])
        if strokes:
            out.append((strokes, r["label"], r["writer"], r["ui"]))
    return out


def _shuffled_split(keys, split):
    """The keys of `split` among `keys`, cut by SPLIT_FRACTIONS after a fixed shuffle."""
    keys = sorted(keys)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(keys))
    n_tr = int(round(SPLIT_FRACTIONS[0] * len(keys)))
    n_va = int(round(SPLIT_FRACTIONS[1] * len(keys)))
    cut = {"train": order[:n_tr], "val": order[n_tr:n_tr + n_va], "test": order[n_tr + n_va:]}
    return {keys[i] for i in cut[split]}


def crohme_writers(split, samples):
    """CROHME writer keys of a split; the unsplit collection belongs to training."""
    keys = {w for _, _, w, _ in samples if w != CROHME_UNSPLIT}
    chosen = _shuffled_split(keys, split)
    return chosen | {CROHME_UNSPLIT} if split == "train" else chosen


def crohme_split(split, data=DATA, samples=None):
    """-> (digits: list of (strokes, label int, writer)), non-digits: list of (strokes, label,
    writer)) of the split's writers; the symbols of neither kind (look-alikes) are left out."""
    samples = crohme(data) if samples is None else samples
    writers = crohme_writers(split, samples)
    digits = [(s, int(c), w) for s, c, w, _ in samples if w in writers and c in "0123456789"
              and len(c) == 1]
    others = [(s, c, w) for s, c, w, _ in samples if w in writers and c in CROHME_NON_DIGITS]
    return digits, others


# Omniglot characters a person could read as a digit or as a left-out letter (alphabet ->
# character numbers), left out of "not a digit"; chosen by eye on a sheet of every character
# (a bar, a flag, a hook, a loop, a 3-, 4-, 6- or 7-like shape). Latin keeps CLEAR_NON_DIGITS.
OMNIGLOT_LOOK_ALIKES = {
    "Greek": {3, 4, 5, 6, 9, 14, 15, 18, 19, 20},  # gamma delta epsilon zeta iota xi omicron ...
    "Korean": {1, 5, 6, 7, 9, 13, 17, 18, 21, 22, 33, 37},
    "Japanese_(katakana)": {1, 2, 4, 8, 9, 12, 18, 20, 24, 27, 30, 36, 37, 38, 39, 43, 45, 46},
    "Sanskrit": {5, 13, 16, 21, 24, 27, 33, 34, 35, 36, 37, 41},
    "Balinese": {5, 14},
    "Early_Aramaic": {1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 14, 16, 17, 18, 19, 20},
    "Tagalog": {3, 7, 14, 15, 16, 17},
}
# QuickDraw categories whose doodles can look like a digit, left out of "not a digit": round
# things (0), sticks and long tools (a thin bar once fitted to the digit box: 1), hooks and
# flags (7, 1), stacked loops (8), and the shapes the dataset's README names.
QUICKDRAW_LOOK_ALIKES = {
    "circle", "line", "snake", "squiggle", "zigzag", "hockey stick", "golf club", "baseball bat",
    "broom", "matches", "nail", "pencil", "crayon", "marker", "screwdriver", "toothbrush",
    "toothpaste", "sword", "knife", "flashlight", "rifle", "skyscraper", "streetlight",
    "floor lamp", "diving board", "shovel", "axe", "hammer", "drill", "finger", "leg", "knee",
    "elbow", "banana", "moon", "boomerang", "swan", "flamingo", "snail", "hurricane", "tornado",
    "garden hose", "hourglass", "dumbbell", "snowman", "peanut", "pear", "ear", "nose", "spoon",
    "lollipop", "lightning", "hockey puck", "sock", "necklace", "paper clip", "donut", "wheel",
    "cookie", "bracelet", "octagon", "hexagon", "stop sign", "soccer ball", "basketball",
    "baseball", "pond", "potato", "blueberry", "door", "cell phone", "remote control", "lipstick",
    "lighter", "candle", "string bean", "wine bottle", "light bulb", "microphone", "syringe",
    "fork", "paintbrush", "see saw", "river", "ocean",
}


def omniglot(data=DATA):
    """-> list of (strokes, alphabet, character number, drawer number)."""
    out = []
    for r in _gz_samples(data, "omniglot", "omniglot-strokes.json.gz"):
        strokes = _strokes(r["strokes"])
        if strokes:
            out.append((strokes, r["alphabet"], int(r["character"][len("character"):]),
                        int(r["drawer"])))
    return out


def omniglot_split(split, data=DATA):
    """Omniglot characters that are not digit look-alikes, of the split's drawers -> strokes."""
    out = []
    for s, alphabet, ch, drawer in omniglot(data):
        if drawer not in OMNIGLOT_SPLIT[split] or ch in OMNIGLOT_LOOK_ALIKES.get(alphabet, ()):
            continue
        if alphabet == "Latin" and "abcdefghijklmnopqrstuvwxyz"[ch - 1] not in CLEAR_NON_DIGITS:
            continue
        out.append(s)
    return out


def quickdraw(data=DATA):
    """-> list of (strokes, category)."""
    out = []
    for r in _gz_samples(data, "quickdraw", "quickdraw-sample.json.gz"):
        strokes = _strokes(r["strokes"])
        if strokes:
            out.append((strokes, r["word"]))
    return out


def quickdraw_split(split, data=DATA):
    """QuickDraw doodles of the split (a fixed 70/15/15 cut within each category), the digit-like
    categories left out -> strokes."""
    by_word = {}
    for s, w in quickdraw(data):
        by_word.setdefault(w, []).append(s)
    out = []
    for w in sorted(by_word):
        if w in QUICKDRAW_LOOK_ALIKES:
            continue
        keep = _shuffled_split(range(len(by_word[w])), split)
        out += [s for i, s in enumerate(by_word[w]) if i in keep]
    return out


def letters_split(split, data=DATA):
    """Clear non-digit letters of the split's writers -> list of strokes (and their chars)."""
    c74 = [(s, c) for s, c, w in chars74k(data) if c in CLEAR_NON_DIGITS and w in C74_SPLIT[split]]
    if split == "train":
        c74 += [(s, c) for s, c, w in uji1_letters(data) if c in CLEAR_NON_DIGITS]
    return c74


# ------------------------------------------------------------------------------------------------
# synthetic non-digits: scribbles, lines, specks, shapes (strokes) and blank-ish images
# ------------------------------------------------------------------------------------------------

def _poly(points):
    return np.asarray(points, np.float32).reshape(-1, 2)


def synthetic_strokes(rng, n):
    """n drawings nobody would read as a digit, in a 300-unit canvas. No tiny marks: the stroke
    path scales every drawing to the digit box, so a speck drawn small becomes a stroke like a 1
    or a 7 (specks are taught through the image path, where they stay blocky)."""
    out = []
    kinds = ["scribble", "hline", "zigzag", "hatch", "box", "triangle", "cross", "star",
             "spiral", "wave", "dots", "tangle"]
    for k in range(n):
        kind = kinds[k % len(kinds)]
        c = rng.uniform(100, 200, 2)
        r = rng.uniform(20, 120)
        if kind == "scribble":  # a dense random walk, smoothed
            m = rng.integers(40, 160)
            steps = rng.normal(0, 1, (m, 2)) * r * 0.25
            p = np.cumsum(steps, 0)
            for _ in range(2):
                p[1:-1] = (p[:-2] + p[1:-1] + p[2:]) / 3
            s = [_poly(p + c)]
        elif kind == "hline":  # a line within 15 degrees of horizontal ('-', '_'); steeper is a 1
            a = math.radians(rng.uniform(-15, 15))
            d = np.array([math.cos(a), math.sin(a)]) * r
            s = [_poly([c - d, c + d])]
        elif kind == "zigzag":
            m = rng.integers(4, 10)
            xs = np.linspace(-r, r, m)
            ys = np.where(np.arange(m) % 2 == 0, -1, 1) * r * rng.uniform(0.2, 0.6)
            s = [_poly(np.stack([xs, ys], 1) + c)]
        elif kind == "hatch":  # several parallel strokes, 0.3-0.45 of their length apart: packed
            # closer (0.15) they merge into one thick slanted bar, a thick 1
            m = rng.integers(3, 6)
            a = rng.uniform(0, math.pi)
            d = np.array([math.cos(a), math.sin(a)]) * r
            nrm = np.array([-d[1], d[0]]) * rng.uniform(0.6, 0.9)
            s = [_poly([c - d + nrm * (i - m / 2), c + d + nrm * (i - m / 2)]) for i in range(m)]
        elif kind == "box":
            w, h = r, r * rng.uniform(0.5, 1.5)
            s = [_poly([c + [-w, -h], c + [w, -h], c + [w, h], c + [-w, h], c + [-w, -h]])]
        elif kind == "triangle":
            a0 = rng.uniform(0, 2 * math.pi)
            pts = [c + r * np.array([math.cos(a0 + i * 2.094), math.sin(a0 + i * 2.094)])
                   for i in range(4)]
            s = [_poly(pts)]
        elif kind == "cross":  # x or +
            a = rng.choice([math.pi / 4, 0.0]) + rng.uniform(-0.2, 0.2)
            d1 = np.array([math.cos(a), math.sin(a)]) * r
            d2 = np.array([-d1[1], d1[0]])
            s = [_poly([c - d1, c + d1]), _poly([c - d2, c + d2])]
        elif kind == "star":
            a0 = rng.uniform(0, 2 * math.pi)
            pts = [c + r * np.array([math.cos(a0 + i * 4 * math.pi / 5),
                                     math.sin(a0 + i * 4 * math.pi / 5)]) for i in range(6)]
            s = [_poly(pts)]
        elif kind == "spiral":  # 2-4 turns (one and a half look like a 6 or a 9)
            t = np.linspace(0, rng.uniform(4, 8) * math.pi, 100)
            rr = r * t / t[-1]
            s = [_poly(np.stack([rr * np.cos(t), rr * np.sin(t)], 1) + c)]
        elif kind == "wave":  # a horizontal wave (~), 1.5 to 4 periods
            t = np.linspace(0, rng.uniform(3, 8) * math.pi, 60)
            s = [_poly(np.stack([t / t[-1] * 2 * r - r, np.sin(t) * r * rng.uniform(0.1, 0.3)], 1) + c)]
        elif kind == "dots":  # a few scattered dots and dashes
            m = rng.integers(3, 9)
            s = []
            for _ in range(m):
                p = c + rng.uniform(-r, r, 2)
                s.append(_poly([p, p + rng.normal(0, 3, 2)]))
        else:  # tangle: loops over loops
            t = np.linspace(0, 2 * math.pi * rng.integers(3, 7), 200)
            f1, f2 = rng.integers(2, 6, 2)
            s = [_poly(np.stack([np.sin(f1 * t / 3) * r, np.sin(f2 * t / 2 + 1) * r], 1) + c)]
        out.append(s)
    return out


def synthetic_images(rng, n):
    """n grayscale images with no digit in them: specks, blobs, gradients, noise, smudges."""
    out = []
    for k in range(n):
        kind = k % 5
        h = rng.integers(20, 64)
        # gradients in near-square images only: a long thin image makes a thin wedge, a 1 or a 7
        w = int(h * rng.uniform(0.8, 1.25)) if kind == 2 else rng.integers(20, 64)
        paper = rng.uniform(180, 255)
        im = np.full((h, w), paper, np.float32)
        yy, xx = np.mgrid[:h, :w]
        if kind == 0:  # specks: 2-4 square dark dots apart. Scaled up to the digit box, one
            # 1x2-pixel speck is a thick bar, i.e. a thick 1 (MNIST's thick 1s were refused)
            size = rng.integers(1, 3)
            for _ in range(rng.integers(2, 5)):
                y, x = rng.integers(0, h - size), rng.integers(0, w - size)
                im[y:y + size, x:x + size] = rng.uniform(0, 80)
        elif kind == 1:  # a blob
            cy, cx, r = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w, rng.uniform(2, 8)
            im[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 80)
        elif kind == 2:  # a gradient, diagonal: along an axis, its darkest band is a bar, a 1
            a = rng.uniform(math.pi / 6, math.pi / 3) + rng.integers(0, 4) * math.pi / 2
            g = (xx * math.cos(a) + yy * math.sin(a))
            g = (g - g.min()) / max(1e-6, g.max() - g.min())
            im = paper * (1 - g * rng.uniform(0.5, 1.0))
        elif kind == 3:  # noise
            im = im - np.abs(rng.normal(0, rng.uniform(20, 80), (h, w)))
        else:  # a smudge: a big soft dark area
            cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
            s = rng.uniform(3, 12)
            im = im - rng.uniform(80, 200) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
        out.append(np.clip(im, 0, 255).astype(np.uint8))
    return out


# ------------------------------------------------------------------------------------------------
# test fixtures: held-out writers' strokes, committed under tests/data/handwriting
# ------------------------------------------------------------------------------------------------

def _round_strokes(strokes):
    return [[[round(float(x), 1), round(float(y), 1)] for x, y in s] for s in strokes]


def write_fixtures(out_dir, data=DATA):
    """tests/data/handwriting/{letters_test,uji_test}.json: the test writers' letters (clear
    non-digits) and UJI digits, as drawn (original coordinates, y down)."""
    os.makedirs(out_dir, exist_ok=True)
    c74 = [(s, c, w) for s, c, w in chars74k(data) if c in CLEAR_NON_DIGITS and w in C74_SPLIT["test"]]
    uji = [(s, y, w) for s, y, w in uji_digits(data) if w in UJI_SPLIT["test"]]
    docs = {
        "letters_test.json": {
            "source": "Chars74K EnglishHnd as pen trajectories (../shared/data/letters/"
                      "chars74k-strokes.json), writers 47-54 (never trained or tuned on); the "
                      "letters of CLEAR_NON_DIGITS (model/handwriting.py); research use",
            "script": "/usr/bin/python3 model/handwriting.py --write-fixtures",
            "samples": [{"char": c, "writer": int(w), "strokes": _round_strokes(s)} for s, c, w in c74]},
        "uji_test.json": {
            "source": "UJI Pen Characters v2 digits (../shared/data/uji), writers 50-59 (never "
                      "trained or tuned on); CC BY 4.0, Llorens et al. 2008",
            "script": "/usr/bin/python3 model/handwriting.py --write-fixtures",
            "samples": [{"label": int(y), "writer": int(w), "strokes": _round_strokes(s)} for s, y, w in uji]},
    }
    for name, doc in docs.items():
        text = json.dumps(doc, separators=(",", ":"))
        text = text.replace(',{"char"', ',\n{"char"').replace(',{"label"', ',\n{"label"')
        with open(os.path.join(out_dir, name), "w") as f:
            f.write(text + "\n")
        print(f"wrote {os.path.join(out_dir, name)}: {len(doc['samples'])} samples")


def _scaled(strokes, size=100.0):
    """Strokes moved to the origin and scaled so that the box's longer side is `size` (CROHME's
    units differ by collection, down to a fraction of a unit): the drawing's shape and spacing
    as written, on a canvas a person could draw on."""
    pts = np.concatenate(strokes, 0)
    lo = pts.min(0)
    k = size / max(float((pts.max(0) - lo).max()), 1e-6)
    return [(st - lo) * k for st in strokes]


def _box(strokes):
    pts = np.concatenate(strokes, 0)
    return pts.min(0), pts.max(0)


def crohme_numbers(split, data=DATA, samples=None):
    """Numbers of 2-6 digits written inside CROHME expressions by the split's writers -> list of
    (strokes of the digits left to right, the number's text, writer). Symbols of an expression
    share the `ui` prefix and keep their places; their index is not the writing order, so a number
    is a run of digits in x order on one line: each next digit starts right of the previous one's
    start, at most 0.8 of the taller one's height after its end, overlaps it vertically by half of
    the shorter one's height, is 0.5-2x as tall, and no other symbol of the expression lies
    between them on that line (2+3 is no number)."""
    samples = crohme(data) if samples is None else samples
    writers = crohme_writers(split, samples)
    by_expr = {}
    for strokes, label, writer, ui in samples:
        if writer in writers and writer != CROHME_UNSPLIT:
            by_expr.setdefault((writer, ui.rsplit("_", 1)[0]), []).append((strokes, label))
    out = []
    for (writer, _), symbols in sorted(by_expr.items(), key=lambda kv: kv[0]):
        boxes = [_box(st) for st, _ in symbols]
        digits = sorted((i for i, (_, c) in enumerate(symbols) if c in "0123456789" and len(c) == 1),
                        key=lambda i: boxes[i][0][0])

        def same_line(a, b):
            (alo, ahi), (blo, bhi) = boxes[a], boxes[b]
            ha, hb = ahi[1] - alo[1], bhi[1] - blo[1]
            overlap = min(ahi[1], bhi[1]) - max(alo[1], blo[1])
            return (overlap >= 0.5 * min(ha, hb) and 0.5 <= (hb + 1e-9) / (ha + 1e-9) <= 2.0 and
                    blo[0] > alo[0] and blo[0] - ahi[0] <= 0.8 * max(ha, hb))

        def between(a, b):
            (alo, ahi), (blo, bhi) = boxes[a], boxes[b]
            for k, (lo, hi) in enumerate(boxes):
                if k in (a, b):
                    continue
                cx, cy = 0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1])
                if alo[0] < cx < bhi[0] and min(alo[1], blo[1]) <= cy <= max(ahi[1], bhi[1]):
                    return True
            return False

        run = []
        for i in digits + [None]:
            if i is not None and run and same_line(run[-1], i) and not between(run[-1], i):
                run.append(i)
                continue
            if 2 <= len(run) <= 6:
                out.append(([st for k in run for st in symbols[k][0]],
                            "".join(symbols[k][1] for k in run), writer))
            run = [] if i is None else [i]
    return out


def write_pen_fixtures(out_dir, data=DATA, per_digit=60, per_symbol=8):
    """tests/data/handwriting/crohme_test.json and crohme_numbers_test.json: CROHME's test writers
    (never trained or tuned on): up to `per_digit` digits of each class and `per_symbol` of each
    clear non-digit symbol (a fixed choice), and every number of 2-6 digits in their expressions;
    each scaled to a 100-unit box (_scaled)."""
    os.makedirs(out_dir, exist_ok=True)
    samples = crohme(data)
    digits, others = crohme_split("test", data, samples)
    rng = np.random.default_rng(SPLIT_SEED)
    chosen_digits, chosen_symbols = [], []
    for d in range(10):
        pool = [x for x in digits if x[1] == d]
        chosen_digits += [pool[i] for i in sorted(rng.permutation(len(pool))[:per_digit])]
    for label in sorted({c for _, c, _ in others}):
        pool = [x for x in others if x[1] == label]
        chosen_symbols += [pool[i] for i in sorted(rng.permutation(len(pool))[:per_symbol])]
    numbers = crohme_numbers("test", data, samples)
    source = ("CROHME 2014 isolated symbols (../shared/data/crohme), the test writers of "
              "model/handwriting.py's split (never trained or tuned on); CROHME competition data, "
              "for research")
    script = "/usr/bin/python3 model/handwriting.py --write-fixtures"
    docs = {
        "crohme_test.json": {
            "source": source, "script": script,
            "samples": [{"label": int(y), "writer": w, "strokes": _round_strokes(_scaled(st))}
                        for st, y, w in chosen_digits] +
                       [{"char": c, "writer": w, "strokes": _round_strokes(_scaled(st))}
                        for st, c, w in chosen_symbols]},
        "crohme_numbers_test.json": {
            "source": source + "; numbers of 2-6 digits as written in their expressions "
                      "(handwriting.crohme_numbers)", "script": script,
            "samples": [{"number": t, "writer": w, "strokes": _round_strokes(_scaled(st, 300.0))}
                        for st, t, w in numbers]},
    }
    for name, doc in docs.items():
        text = json.dumps(doc, separators=(",", ":"))
        for key in ("label", "char", "number"):
            text = text.replace(',{"' + key + '"', ',\n{"' + key + '"')
        with open(os.path.join(out_dir, name), "w") as f:
            f.write(text + "\n")
        print(f"wrote {os.path.join(out_dir, name)}: {len(doc['samples'])} samples")


if __name__ == "__main__":
    import sys
    if "--write-fixtures" in sys.argv:
        write_fixtures(os.path.join(REPO_ROOT, "tests", "data", "handwriting"))
        write_pen_fixtures(os.path.join(REPO_ROOT, "tests", "data", "handwriting"))
