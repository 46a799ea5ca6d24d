#!/usr/bin/env python3
"""Build a stroke test set from real handwriting (MNIST test digits).

Each of the first N MNIST t10k images is thresholded, skeletonized and the
skeleton is traced into pen-like polylines: a pixel graph (8-connectivity) is
built, tiny spurs are pruned, junctions are resolved by continuing through the
straightest exit (smallest turn angle), closed loops (0, 6, 8, 9) become closed
polylines, and each stroke is lightly smoothed and simplified with
Ramer-Douglas-Peucker.  The strokes are mapped to a 280x280 canvas with a
per-digit scale/offset (derived deterministically from the image index), so the
fixture looks like canvas input drawn at different sizes and positions.

Every digit is validated by re-rendering its (rounded, stored) strokes at 28x28
with a round pen and comparing with the thresholded original (IoU, Chamfer
distance).  A preview PNG (original | traced strokes) is written for humans.

Deterministic: no random numbers; the same inputs give a byte-identical JSON.

Usage (from the repository root):
    /usr/bin/python3 scripts/make_stroke_fixture.py
    /usr/bin/python3 scripts/make_stroke_fixture.py --data ../shared/data/mnist --count 1200
"""

import argparse
import gzip
import json
import math
import os
import struct
import sys
from collections import defaultdict

import numpy as np
from skimage.morphology import remove_small_holes, remove_small_objects, skeletonize
from skimage.transform import rescale

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "model"))
import mnist  # noqa: E402  (the data root: ../shared/data or $DIGITS_DATA)
CANVAS = 280.0

# Tracing parameters (lengths in MNIST pixels).
THRESHOLD = 128          # ink if pixel >= THRESHOLD (0..255)
UPSAMPLE = 4             # skeletonize a bilinearly upsampled image (smoother skeleton)
HOLE_AREA = 2.0          # fill holes smaller than this (MNIST px^2) before thinning
SPECK_AREA = 3.0         # drop ink specks smaller than this (MNIST px^2)
SPUR_LEN = 2.5           # prune end branches shorter than this (attached to a junction)
MERGE_LEN = 2.0          # merge two junctions joined by an edge shorter than this
MIN_STROKE_LEN = 1.5     # drop isolated strokes shorter than this
MAX_TURN_DEG = 80.0      # continue through a junction only if the turn is below this
DIR_DIST = 3.0           # arc length used to measure the direction of an edge at a junction
SMOOTH_PASSES = 2        # [1,2,1]/4 smoothing passes (ends of open strokes fixed)
RDP_EPS = 0.3            # Ramer-Douglas-Peucker tolerance
PEN_WIDTH = 2.2          # validation pen width


# ----------------------------------------------------------------------------- data

def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


# ----------------------------------------------------------------------------- skeleton graph

_N8 = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def skeleton_of(img, threshold=THRESHOLD, up=UPSAMPLE):
    """Binary skeleton of a 28x28 uint8 image, at `up` times the resolution."""
    f = img.astype(np.float64) / 255.0
    if up > 1:
        f = rescale(f, up, order=1, mode="edge", anti_aliasing=False)
    ink = f >= (threshold - 0.5) / 255.0
    a = up * up
    ink = remove_small_objects(ink, max(1, int(SPECK_AREA * a)))
    ink = remove_small_holes(ink, max(1, int(HOLE_AREA * a)))
    return skeletonize(ink)


def pixel_graph(sk):
    """Adjacency of skeleton pixels, 8-connected, without redundant diagonals.

    A diagonal link p-q is dropped when p and q also touch through a common
    4-neighbour in the skeleton; otherwise staircase corners would look like
    junctions (degree 3 triangles)."""
    pix = set(zip(*np.nonzero(sk)))
    adj = {}
    for (r, c) in pix:
        nb = []
        for dr, dc in _N8:
            q = (r + dr, c + dc)
            if q not in pix:
                continue
            if dr != 0 and dc != 0 and ((r + dr, c) in pix or (r, c + dc) in pix):
                continue
            nb.append(q)
        adj[(r, c)] = nb
    return adj


class Graph:
    """Nodes (endpoints / junctions) joined by edges carrying point chains."""

    def __init__(self):
        self.pos = {}        # node id -> np.array([x, y])
        self.edges = {}      # edge id -> [a, b, pts (k,2) from a to b]
        self.loops = []      # closed chains without nodes
        self._nid = 0
        self._eid = 0

    def add_node(self, p):
        self._nid += 1
        self.pos[self._nid] = np.asarray(p, dtype=float)
        return self._nid

    def add_edge(self, a, b, pts):
        self._eid += 1
        self.edges[self._eid] = [a, b, np.asarray(pts, dtype=float)]
        return self._eid

    def incident(self):
        inc = defaultdict(list)     # node -> [(edge, side)] side 0: edge starts at node
        for e, (a, b, _) in self.edges.items():
            inc[a].append((e, 0))
            inc[b].append((e, 1))
        return inc


def arclen(pts):
    if len(pts) < 2:
        return 0.0
    return float(np.sum(np.hypot(*np.diff(pts, axis=0).T)))


def build_graph(sk, up=UPSAMPLE):
    adj = pixel_graph(sk)
    to_xy = lambda p: ((p[1] + 0.5) / up, (p[0] + 0.5) / up)  # MNIST coords, pixel c covers [c, c+1)
    g = Graph()
    deg = {p: len(n) for p, n in adj.items()}
    # junction clusters
    node_of = {}
    for p in sorted(adj):
        if deg[p] >= 3 and p not in node_of:
            stack, cl = [p], []
            node_of[p] = -1
            while stack:
                q = stack.pop()
                cl.append(q)
                for n in adj[q]:
                    if deg[n] >= 3 and n not in node_of:
                        node_of[n] = -1
                        stack.append(n)
            nid = g.add_node(np.mean([to_xy(q) for q in cl], axis=0))
            for q in cl:
                node_of[q] = nid
    for p in sorted(adj):
        if deg[p] <= 1:
            node_of[p] = g.add_node(to_xy(p))   # endpoint or isolated pixel
    # trace edges from every node pixel
    used = set()                                 # undirected pixel links already traced
    for p in sorted(node_of):
        a = node_of[p]
        for n in adj[p]:
            if frozenset((p, n)) in used or node_of.get(n) == a:
                continue
            chain = [p, n]
            used.add(frozenset((p, n)))
            prev, cur = p, n
            while cur not in node_of:
                nxt = [q for q in adj[cur] if q != prev]
                if not nxt:
                    break
                prev, cur = cur, nxt[0]
                used.add(frozenset((prev, cur)))
                chain.append(cur)
            b = node_of.get(cur)
            if b is None:
                continue
            pts = [g.pos[a]] + [to_xy(q) for q in chain[1:-1]] + [g.pos[b]]
            g.add_edge(a, b, pts)
    # isolated pixels -> degenerate nodes, handled as tiny strokes later
    # pure cycles (all pixels of degree 2)
    seen = set(node_of)
    for q in used:
        seen |= q
    for p in sorted(adj):
        if p in seen or deg[p] != 2:
            continue
        chain, prev, cur = [p], None, p
        seen.add(p)
        while True:
            nxt = [q for q in adj[cur] if q != prev and q not in seen]
            if not nxt:
                break
            prev, cur = cur, nxt[0]
            seen.add(cur)
            chain.append(cur)
        g.loops.append(np.array([to_xy(q) for q in chain], dtype=float))
    return g


def merge_degree2(g):
    """Join the two edges of every degree-2 node; a node whose only edge is a
    self-loop turns into a closed loop."""
    changed = True
    while changed:
        changed = False
        inc = g.incident()
        for n in list(g.pos):
            ends = inc.get(n, [])
            if len(ends) != 2:
                continue
            (e1, s1), (e2, s2) = ends
            if e1 == e2:                        # self loop through a pass-through node
                pts = g.edges.pop(e1)[2]
                g.loops.append(pts[:-1])
                del g.pos[n]
                changed = True
                break
            a1, b1, p1 = g.edges.pop(e1)
            a2, b2, p2 = g.edges.pop(e2)
            # orient p1 to end at n, p2 to start at n
            if s1 == 0:
                p1, a1, b1 = p1[::-1], b1, a1
            if s2 == 1:
                p2, a2, b2 = p2[::-1], b2, a2
            g.add_edge(a1, b2, np.vstack([p1, p2[1:]]))
            del g.pos[n]
            changed = True
            break


def prune_spurs(g, spur_len=SPUR_LEN):
    """Remove the shortest endpoint branch attached to a junction, one at a time."""
    while True:
        merge_degree2(g)
        inc = g.incident()
        best = None
        for e, (a, b, pts) in g.edges.items():
            da, db = len(inc[a]), len(inc[b])
            if a == b:
                continue
            if (da == 1 and db >= 3) or (db == 1 and da >= 3):
                L = arclen(pts)
                if L < spur_len and (best is None or L < best[0]):
                    best = (L, e)
        if best is None:
            break
        a, b, _ = g.edges.pop(best[1])
        tip = a if len(inc[a]) == 1 else b
        del g.pos[tip]


def merge_close_junctions(g, merge_len=MERGE_LEN):
    """Contract short edges between two distinct junctions (an X crossing that
    thinning split into two Y junctions becomes one 4-way junction)."""
    while True:
        inc = g.incident()
        best = None
        for e, (a, b, pts) in g.edges.items():
            if a != b and len(inc[a]) >= 3 and len(inc[b]) >= 3:
                L = arclen(pts)
                if L < merge_len and (best is None or L < best[0]):
                    best = (L, e)
        if best is None:
            return
        a, b, _ = g.edges.pop(best[1])
        newp = (g.pos[a] + g.pos[b]) / 2
        g.pos[a] = newp
        for e, ed in g.edges.items():
            if ed[0] == b:
                ed[0] = a
            if ed[1] == b:
                ed[1] = a
            if ed[0] == a:
                ed[2] = ed[2].copy(); ed[2][0] = newp
            if ed[1] == a:
                ed[2] = ed[2].copy(); ed[2][-1] = newp
        del g.pos[b]
        merge_degree2(g)


def end_direction(pts, dist=DIR_DIST):
    """Unit vector pointing from pts[0] into the chain, measured at arc length ~dist."""
    seg = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate([[0], np.cumsum(seg)])
    k = int(np.searchsorted(cum, dist))
    k = min(max(k, 1), len(pts) - 1)
    d = pts[k] - pts[0]
    n = np.hypot(*d)
    return d / n if n > 1e-9 else np.zeros(2)


def trace_strokes(g, max_turn=MAX_TURN_DEG):
    """Walk the graph into polylines, pairing edge ends at junctions by the
    smallest turn angle (a pen continues as straight as it can)."""
    inc = g.incident()
    partner = {}
    cos_max = math.cos(math.radians(max_turn))
    for n in sorted(inc):
        ends = inc[n]
        if len(ends) < 3:
            continue
        dirs = {}
        for (e, s) in ends:
            pts = g.edges[e][2]
            dirs[(e, s)] = end_direction(pts if s == 0 else pts[::-1])
        cands = []
        for i in range(len(ends)):
            for j in range(i + 1, len(ends)):
                # arriving along -d_i, leaving along d_j: straightness = -d_i . d_j
                c = -float(np.dot(dirs[ends[i]], dirs[ends[j]]))
                cands.append((-c, i, j))
        cands.sort()
        for negc, i, j in cands:
            if -negc < cos_max:
                break
            if ends[i] in partner or ends[j] in partner:
                continue
            partner[ends[i]] = ends[j]
            partner[ends[j]] = ends[i]

    visited = set()
    strokes = []

    def walk(e, s):
        """Follow edge e entering at side s, then through paired junctions."""
        pts = []
        closed = False
        while True:
            visited.add(e)
            p = g.edges[e][2]
            p = p if s == 0 else p[::-1]
            pts.append(p if not pts else p[1:])
            out = (e, 1 - s)                   # the end we leave the edge by
            nxt = partner.get(out)
            if nxt is None:
                break
            if nxt[0] in visited:
                closed = True
                break
            e, s = nxt
        return np.vstack(pts), closed

    # open strokes start at free ends, topmost (then leftmost) first
    free = []
    for e, (a, b, pts) in g.edges.items():
        for s, p in ((0, pts[0]), (1, pts[-1])):
            if (e, s) not in partner:
                free.append((round(p[1], 6), round(p[0], 6), e, s))
    free.sort()
    for _, _, e, s in free:
        if e in visited:
            continue
        pts, _ = walk(e, s)
        strokes.append((pts, False))
    # the rest are cycles through junctions
    for e in sorted(g.edges):
        if e in visited:
            continue
        pts, closed = walk(e, 0)
        strokes.append((pts[:-1] if closed else pts, closed))
    for lp in g.loops:
        strokes.append((lp, True))
    return strokes


# ----------------------------------------------------------------------------- geometry

def smooth(pts, closed, passes=SMOOTH_PASSES):
    p = pts.copy()
    if len(p) < 3:
        return p
    for _ in range(passes):
        if closed:
            p = 0.25 * np.roll(p, 1, axis=0) + 0.5 * p + 0.25 * np.roll(p, -1, axis=0)
        else:
            q = p.copy()
            q[1:-1] = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
            p = q
    return p


def rdp(pts, eps):
    if len(pts) < 3:
        return pts
    keep = np.zeros(len(pts), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        a, b = pts[i], pts[j]
        ab = b - a
        L = np.hypot(*ab)
        seg = pts[i + 1:j]
        if L < 1e-12:
            d = np.hypot(*(seg - a).T)
        else:
            d = np.abs(ab[0] * (seg[:, 1] - a[1]) - ab[1] * (seg[:, 0] - a[0])) / L
        k = int(np.argmax(d))
        if d[k] > eps:
            m = i + 1 + k
            keep[m] = True
            stack.append((i, m))
            stack.append((m, j))
    return pts[keep]


def simplify(pts, closed, eps=RDP_EPS):
    if closed:
        # start at the topmost point, go counterclockwise on screen (y down)
        k = int(np.lexsort((pts[:, 0], pts[:, 1]))[0])
        p = np.roll(pts, -k, axis=0)
        area2 = np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1])
        if area2 > 0:          # clockwise on screen (y down) -> reverse
            p = np.vstack([p[:1], p[:0:-1]])
        p = np.vstack([p, p[:1]])
        # split at the farthest point so RDP has two anchors
        far = int(np.argmax(np.hypot(*(p - p[0]).T)))
        far = max(far, 1)
        a = rdp(p[:far + 1], eps)
        b = rdp(p[far:], eps)
        return np.vstack([a, b[1:]])
    return rdp(pts, eps)


def seg_dist(px, segs_a, segs_b):
    """Min distance from points px (n,2) to segments a->b (m,2)."""
    ab = segs_b - segs_a                                  # (m,2)
    ap = px[:, None, :] - segs_a[None, :, :]               # (n,m,2)
    L2 = np.maximum(np.sum(ab * ab, axis=1), 1e-12)
    t = np.clip(np.sum(ap * ab[None], axis=2) / L2[None], 0, 1)
    d = ap - t[..., None] * ab[None]
    return np.sqrt(np.min(np.sum(d * d, axis=2), axis=1))


_CENTRES = np.stack(np.meshgrid(np.arange(28) + 0.5, np.arange(28) + 0.5), axis=-1).reshape(-1, 2)


def segments(strokes):
    a, b = [], []
    for s in strokes:
        s = np.asarray(s, dtype=float)
        if len(s) == 1:
            s = np.vstack([s, s])
        a.append(s[:-1])
        b.append(s[1:])
    return np.vstack(a), np.vstack(b)


def stroke_distance(strokes):
    """28x28 map: distance (MNIST px) from each pixel centre to the nearest stroke."""
    a, b = segments(strokes)
    return seg_dist(_CENTRES, a, b).reshape(28, 28)


def render(strokes, width=PEN_WIDTH):
    """Strokes in MNIST coords -> 28x28 bool (pixel centre within width/2 of a stroke)."""
    return stroke_distance(strokes) <= width / 2


def iou(a, b):
    return float((a & b).sum()) / max(1, int((a | b).sum()))


FIT_WIDTHS = np.round(np.arange(1.2, 5.01, 0.1), 1)


def fit_width(dist, ink):
    """Pen width (from FIT_WIDTHS) whose rendering best matches the ink, and that IoU."""
    scores = [iou(dist <= w / 2, ink) for w in FIT_WIDTHS]
    k = int(np.argmax(scores))
    return float(FIT_WIDTHS[k]), scores[k]


def sample(strokes, step=0.25):
    out = []
    for s in strokes:
        s = np.asarray(s, dtype=float)
        out.append(s[:1])
        for p, q in zip(s[:-1], s[1:]):
            n = max(1, int(math.ceil(np.hypot(*(q - p)) / step)))
            t = np.arange(1, n + 1)[:, None] / n
            out.append(p + t * (q - p))
    return np.vstack(out)


def chamfer(strokes, ink):
    """Symmetric mean distance (MNIST px) between ink pixel centres and the strokes."""
    ip = _CENTRES[ink.reshape(-1)]
    a, b = segments(strokes)
    d1 = seg_dist(ip, a, b).mean()
    sp = sample(strokes)
    d2 = np.sqrt(((sp[:, None, :] - ip[None, :, :]) ** 2).sum(-1)).min(1).mean()
    return 0.5 * (d1 + d2)


def frac(x):
    return x - math.floor(x)


def transform_for(index, strokes, margin=4.0, pad=1.5):
    """Deterministic per-digit canvas transform: canvas = s * mnist + (dx, dy)."""
    allp = np.vstack(strokes)
    x0, y0 = allp.min(0) - pad
    x1, y1 = allp.max(0) + pad
    s = 6.0 + 8.0 * frac(index * 0.6180339887498949)           # golden-ratio sequence
    s = min(s, (CANVAS - 2 * margin) / max(x1 - x0, y1 - y0))
    s = round(s, 3)
    fx = frac(0.5 + index * 0.7548776662466927)                 # R2 low-discrepancy sequence
    fy = frac(0.5 + index * 0.5698402909980532)
    lo_x, hi_x = margin - s * x0, CANVAS - margin - s * x1
    lo_y, hi_y = margin - s * y0, CANVAS - margin - s * y1
    dx = round(lo_x + fx * (hi_x - lo_x), 1)
    dy = round(lo_y + fy * (hi_y - lo_y), 1)
    return s, dx, dy


# ----------------------------------------------------------------------------- per digit

def trace_digit(img):
    """28x28 uint8 -> list of (points (k,2) in MNIST coords, closed) or raise ValueError."""
    sk = skeleton_of(img)
    if not sk.any():
        raise ValueError("empty skeleton")
    g = build_graph(sk)
    prune_spurs(g)
    merge_close_junctions(g)
    prune_spurs(g)
    raw = trace_strokes(g)
    out = []
    for pts, closed in raw:
        if len(pts) == 1 or arclen(pts) < MIN_STROKE_LEN:
            # isolated dot or tiny fragment (noise); a digit left with nothing is skipped
            continue
        p = simplify(smooth(pts, closed), closed)
        out.append(p)
    if not out:
        raise ValueError("no stroke longer than %.1f px" % MIN_STROKE_LEN)
    return out


def to_canvas(strokes, tf):
    s, dx, dy = tf
    return [[[round(s * x + dx, 1), round(s * y + dy, 1)] for x, y in p] for p in strokes]


def from_canvas(cstrokes, tf):
    s, dx, dy = tf
    return [(np.asarray(p, dtype=float) - [dx, dy]) / s for p in cstrokes]


# ----------------------------------------------------------------------------- preview

def write_preview(path, items, images, cols=10):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = int(math.ceil(len(items) / cols))
    fig, axes = plt.subplots(rows, 2 * cols, figsize=(2 * cols * 1.0, rows * 1.1), dpi=110)
    axes = np.atleast_2d(axes)
    colors = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
    for ax in axes.ravel():
        ax.set_xticks([]); ax.set_yticks([])
        ax.set_xlim(0, 28); ax.set_ylim(28, 0); ax.set_aspect("equal")
    for k, d in enumerate(items):
        r, c = divmod(k, cols)
        a0, a1 = axes[r, 2 * c], axes[r, 2 * c + 1]
        a0.imshow(images[d["index"]], cmap="gray_r", extent=(0, 28, 28, 0), vmin=0, vmax=255)
        a0.set_title("#%d  %d" % (d["index"], d["label"]), fontsize=6, pad=1)
        ms = from_canvas(d["strokes"], d["transform"])
        a1.imshow(render(ms), cmap="Greys", alpha=0.25, extent=(0, 28, 28, 0), vmin=0, vmax=1)
        for j, p in enumerate(ms):
            col = colors[j % len(colors)]
            a1.plot(p[:, 0], p[:, 1], "-", color=col, lw=1.0)
            a1.plot(p[:, 0], p[:, 1], ".", color=col, ms=1.6)
            a1.plot(p[0, 0], p[0, 1], "o", color=col, ms=2.5, mfc="none", mew=0.6)
        a1.set_title("iou %.2f/%.2f %dp" % (d["iou"], d["iou_fit"], sum(len(p) for p in d["strokes"])),
                     fontsize=6, pad=1)
    fig.subplots_adjust(left=0.005, right=0.995, top=0.97, bottom=0.005, wspace=0.05, hspace=0.3)
    fig.savefig(path)
    plt.close(fig)


# ----------------------------------------------------------------------------- main

def stats(name, v):
    v = np.asarray(v, dtype=float)
    q = np.percentile(v, [0, 5, 25, 50, 75, 95, 100])
    print("%-16s mean %.3f  min %.3f  p5 %.3f  p25 %.3f  median %.3f  p75 %.3f  p95 %.3f  max %.3f"
          % (name, v.mean(), q[0], q[1], q[2], q[3], q[4], q[5], q[6]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=mnist.DEFAULT_DATA,
                    help="directory with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz")
    ap.add_argument("--count", type=int, default=1200, help="first N test images (default 1200)")
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "data", "strokes", "mnist_test_strokes.json"))
    ap.add_argument("--preview", default=os.path.join(REPO, "tests", "data", "strokes", "preview.png"),
                    help="preview PNG of the first 100 digits ('' to skip)")
    ap.add_argument("--preview-worst", default="", help="optional PNG of the 100 lowest iou_fit digits")
    args = ap.parse_args(argv)

    images = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"))
    n = min(args.count, len(images))

    digits, skipped = [], []
    for i in range(n):
        img = images[i]
        try:
            ms = trace_digit(img)
        except ValueError as e:
            skipped.append({"index": i, "label": int(labels[i]), "reason": str(e)})
            continue
        tf = transform_for(i, ms)
        cs = to_canvas(ms, tf)
        back = from_canvas(cs, tf)              # validate what is stored (rounded)
        ink = img >= THRESHOLD
        dist = stroke_distance(back)
        width, iou_fit = fit_width(dist, ink)
        digits.append({"index": i, "label": int(labels[i]), "transform": list(tf),
                       "iou": round(iou(dist <= PEN_WIDTH / 2, ink), 3),
                       "iou_fit": round(iou_fit, 3), "pen_width": round(width * tf[0], 1),
                       "chamfer": round(float(chamfer(back, ink)), 3),
                       "strokes": cs})

    doc = {
        "source": "MNIST t10k, first %d images" % n,
        "script": "scripts/make_stroke_fixture.py",
        "canvas": [int(CANVAS), int(CANVAS)],
        "coords": "canvas x = s*u + dx, y = s*v + dy with transform [s, dx, dy]; (u, v) are MNIST "
                  "28x28 coordinates where pixel (row r, col c) covers [c, c+1) x [r, r+1); y points down",
        "validation": "iou: strokes (as stored, mapped back to 28x28) re-rendered with a round pen of "
                      "width %.1f MNIST px (a pixel is ink if its centre is within width/2 of a stroke) vs "
                      "the image thresholded at >= %d; iou_fit: the same with the pen width that fits "
                      "best (1.2..5.0 px), pen_width: that width in canvas px (= width * s); chamfer: "
                      "symmetric mean distance (MNIST px) between ink pixel centres and the strokes"
                      % (PEN_WIDTH, THRESHOLD),
        "count": len(digits),
        "skipped": skipped,
        "digits": digits,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    text = json.dumps(doc, separators=(",", ":"))
    # one digit per line: still compact, but diffs and greps stay readable
    text = text.replace(',{"index"', ',\n{"index"').replace('"digits":[{', '"digits":[\n{')
    with open(args.out, "w") as f:
        f.write(text + "\n")

    ious = [d["iou"] for d in digits]
    pts = [sum(len(p) for p in d["strokes"]) for d in digits]
    nst = [len(d["strokes"]) for d in digits]
    print("digits %d, skipped %d (%s)" % (len(digits), len(skipped),
                                          ", ".join("#%d %s" % (s["index"], s["reason"]) for s in skipped)))
    stats("iou", ious)
    stats("iou_fit", [d["iou_fit"] for d in digits])
    stats("fit width (px)", [d["pen_width"] / d["transform"][0] for d in digits])
    stats("chamfer", [d["chamfer"] for d in digits])
    stats("scale", [d["transform"][0] for d in digits])
    allc = np.vstack([np.asarray(p) for d in digits for p in d["strokes"]])
    print("canvas coordinate range: x %.1f..%.1f  y %.1f..%.1f" % (allc[:, 0].min(), allc[:, 0].max(),
                                                                 allc[:, 1].min(), allc[:, 1].max()))
    stats("points/digit", pts)
    stats("strokes/digit", nst)
    print("strokes/digit histogram:", dict(sorted(zip(*np.unique(nst, return_counts=True)))))
    print("iou < 0.5: %d, < 0.6: %d, < 0.7: %d" % tuple(sum(v < t for v in ious) for t in (0.5, 0.6, 0.7)))
    fits = [d["iou_fit"] for d in digits]
    print("iou_fit < 0.6: %d, < 0.7: %d, < 0.8: %d" % tuple(sum(v < t for v in fits) for t in (0.6, 0.7, 0.8)))
    per = defaultdict(list)
    for d in digits:
        per[d["label"]].append(d["iou"])
    print("mean iou by label:", " ".join("%d:%.3f" % (k, np.mean(v)) for k, v in sorted(per.items())))
    print("wrote %s (%d bytes)" % (args.out, os.path.getsize(args.out)))
    if args.preview:
        write_preview(args.preview, digits[:100], images)
        print("wrote", args.preview)
    if args.preview_worst:
        worst = sorted(digits, key=lambda d: (d["iou_fit"], d["index"]))[:100]
        write_preview(args.preview_worst, worst, images)
        print("wrote", args.preview_worst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
