"""A Python twin of the core's preprocessing (core/preprocess.cpp), for training on exactly what the
core feeds the network.

  preprocess_strokes(batch, pen_width)   strokes -> 28x28, as PreprocessStrokes: the ink's box
                                         scaled to 20 px less one pen width, a round anti-aliased
                                         pen (coverage = clamp(pen/2 + 0.5 - distance, 0, 1), max
                                         over segments), drawn again with the centre of mass moved
                                         onto MNIST's (14.5, 14.5)
  preprocess_image(img)                  a grayscale image -> 28x28, as PreprocessImage: polarity
                                         from the border, contrast stretch above the border's
                                         noise, the ink's box fitted to 20 px, area resampling,
                                         the centre of mass moved by whole pixels, the strokes
                                         thinned (each pixel halfway to its 4-neighbour minimum)

Both agree with the C++ core to float precision; tests/data/raster_twin.json holds the twin's
output for a set of drawings and images and tests/preprocess_test.cpp checks the core against it
(written by `model/raster.py --write-golden`).

The stroke twin renders a batch at once in torch (float32, the core's arithmetic), so training can
draw fresh variations of every stroke sample each epoch.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

SIZE = 28
BOX = 20.0
PEN_WIDTH = 2.5
COM_TARGET = 0.5 * SIZE + 0.5


# ------------------------------------------------------------------------------------------------
# strokes
# ------------------------------------------------------------------------------------------------

def pack_segments(drawings):
    """drawings: list of drawings, each a list of strokes, each an (n, 2) array (x, y down).
    Returns segs (B, S, 4) float32 [ax, ay, bx, by] (a one-point stroke is the segment a-a),
    mask (B, S) bool, boxes (B, 4) [x0, y0, x1, y1]."""
    per = []
    for strokes in drawings:
        segs = []
        for s in strokes:
            s = np.asarray(s, dtype=np.float32).reshape(-1, 2)
            if len(s) == 1:
                segs.append(np.concatenate([s, s], 1))
            elif len(s) > 1:
                segs.append(np.concatenate([s[:-1], s[1:]], 1))
        per.append(np.concatenate(segs, 0) if segs else np.zeros((0, 4), np.float32))
    S = max(1, max(len(p) for p in per))
    segs = np.zeros((len(per), S, 4), np.float32)
    mask = np.zeros((len(per), S), bool)
    boxes = np.zeros((len(per), 4), np.float32)
    for i, p in enumerate(per):
        segs[i, :len(p)] = p
        mask[i, :len(p)] = True
        if len(p):
            pts = p.reshape(-1, 2)
            boxes[i] = [pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()]
    return torch.from_numpy(segs), torch.from_numpy(mask), torch.from_numpy(boxes)


def _render(segs, mask, scale, ox, oy, pen):
    """segs (B,S,4) in canvas units, map u = scale*x + ox -> (B, SIZE, SIZE) coverage."""
    B = segs.shape[0]
    sc, ox, oy = scale.view(B, 1), ox.view(B, 1), oy.view(B, 1)
    ax, ay = sc * segs[..., 0] + ox, sc * segs[..., 1] + oy
    bx, by = sc * segs[..., 2] + ox, sc * segs[..., 3] + oy
    c = torch.arange(SIZE, dtype=torch.float32) + 0.5
    px = c.view(1, 1, 1, SIZE)   # (.., j)
    py = c.view(1, 1, SIZE, 1)   # (.., i)
    ax, ay, bx, by = (t.view(B, -1, 1, 1) for t in (ax, ay, bx, by))
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    t = torch.where(len2 > 0, ((px - ax) * dx + (py - ay) * dy) / torch.where(len2 > 0, len2, 1.0),
                    torch.zeros(()))
    t = t.clamp(0.0, 1.0)
    ex, ey = ax + t * dx - px, ay + t * dy - py
    d = torch.sqrt(ex * ex + ey * ey)  # B,S,SIZE,SIZE
    reach = (0.5 * pen + 0.5).view(B, 1, 1, 1)
    v = (reach - d).clamp(0.0, 1.0)
    v = torch.where(mask.view(B, -1, 1, 1), v, torch.zeros(()))
    return v.amax(1)


def preprocess_strokes(segs, mask, boxes, pen_width=PEN_WIDTH):
    """The core's PreprocessStrokes on a packed batch. pen_width: float or (B,) tensor.
    Returns (B, 28, 28) float32 in [0, 1] and a (B,) bool `empty`."""
    B = segs.shape[0]
    pen = torch.as_tensor(pen_width, dtype=torch.float32).expand(B).contiguous()
    x0, y0, x1, y1 = boxes.unbind(1)
    extent = torch.maximum(x1 - x0, y1 - y0)
    magnitude = torch.stack([torch.ones_like(x0), x0.abs(), x1.abs(), y0.abs(), y1.abs()], 1).amax(1)
    empty = ~(extent > 1e-4 * magnitude) | ~mask.any(1)
    safe_extent = torch.where(empty, torch.ones_like(extent), extent)
    scale = (BOX - pen) / safe_extent
    center = 0.5 * SIZE
    ox = center - scale * (0.5 * (x0 + x1))
    oy = center - scale * (0.5 * (y0 + y1))
    img = _render(segs, mask, scale, ox, oy, pen)
    m = img.double()
    mass = m.sum((1, 2))
    c = torch.arange(SIZE, dtype=torch.float64) + 0.5
    cx = (m.sum(1) * c).sum(1) / mass.clamp_min(1e-300)
    cy = (m.sum(2) * c).sum(1) / mass.clamp_min(1e-300)
    has = mass > 1e-9
    ox = torch.where(has, ox + (COM_TARGET - cx.float()), ox)
    oy = torch.where(has, oy + (COM_TARGET - cy.float()), oy)
    img = _render(segs, mask, scale, ox, oy, pen)
    img[empty] = 0.0
    return img, empty


def render_drawings(drawings, pen_width=PEN_WIDTH, chunk=256):
    out, empty = [], []
    for i in range(0, len(drawings), chunk):
        segs, mask, boxes = pack_segments(drawings[i:i + chunk])
        pw = pen_width if np.isscalar(pen_width) else torch.as_tensor(pen_width[i:i + chunk])
        img, e = preprocess_strokes(segs, mask, boxes, pw)
        out.append(img)
        empty.append(e)
    return torch.cat(out), torch.cat(empty)


# ------------------------------------------------------------------------------------------------
# images
# ------------------------------------------------------------------------------------------------

def _round_half_away(v):
    """std::round (halves away from zero), not numpy's halves-to-even."""
    return np.float32(np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)))


def _area_weights(size, offset, inv, n):
    """w[i, s] = overlap of source pixel s with grid pixel i's footprint [(i-off)*inv, (i+1-off)*inv)."""
    i = np.arange(size, dtype=np.float32)
    lo = np.maximum((i - np.float32(offset)) * np.float32(inv), np.float32(0))
    hi = np.minimum((i + 1 - np.float32(offset)) * np.float32(inv), np.float32(n))
    s = np.arange(n, dtype=np.float32)
    w = np.minimum(hi[:, None], s[None, :] + 1) - np.maximum(lo[:, None], s[None, :])
    return np.clip(w, 0, None).astype(np.float64)


THINNING = 0.5


def thin_strokes(img):
    """The image path's last step, as ThinStrokes: each pixel blended halfway with the faintest of
    itself and its four neighbours (outside the grid is background). float32 (28, 28)."""
    p = np.pad(img, 1)
    eroded = np.minimum.reduce([img, p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]])
    return (np.float32(1 - THINNING) * img + np.float32(THINNING) * eroded).astype(np.float32)


def preprocess_image(img, thin=True):
    """The core's PreprocessImage for one grayscale uint8 image (h, w), no alpha.
    Returns (28, 28) float32, or None when the image has no ink (empty). thin=False leaves out
    the last step (thin_strokes), as the image path was before it: what the shipped model trained
    on (data_mix.Mixture)."""
    img = np.asarray(img)
    h, w = img.shape
    gray = img.astype(np.float32) / np.float32(255.0)
    border = np.concatenate([gray[0, :], gray[-1, :] if h > 1 else [], gray[1:-1, 0],
                             gray[1:-1, -1] if w > 1 else []]).astype(np.float64)
    light = border.sum() / len(border) > 0.5
    ink = (np.float32(1.0) - gray) if light else gray
    edge = np.concatenate([ink[0, :], ink[-1, :], ink[:, 0], ink[:, -1]]).astype(np.float32)
    background = np.float32(np.sort(edge)[len(edge) // 2])
    dev = np.abs(edge - background)
    noise = np.float32(3.0) * np.float32(np.sort(dev)[len(dev) // 2])
    peak = np.float32(ink.max())
    if peak - background < np.float32(0.1):
        return None
    floor = background + min(noise, np.float32(0.5) * (peak - background))
    v = np.clip((ink - floor) / (peak - floor), np.float32(0), np.float32(1)).astype(np.float32)
    ys, xs = np.nonzero(v > 0)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    vv = v.astype(np.float64)
    mass = vv.sum()
    mx = (vv.sum(0) * (np.arange(w) + 0.5)).sum()
    my = (vv.sum(1) * (np.arange(h) + 0.5)).sum()
    extent = np.float32(max(x1 + 1 - x0, y1 + 1 - y0))
    scale = np.float32(BOX) / extent
    target = np.float32(COM_TARGET)
    offx = _round_half_away(target - scale * np.float32(mx / mass))
    offy = _round_half_away(target - scale * np.float32(my / mass))
    inv = np.float32(1.0) / scale
    wy = _area_weights(SIZE, offy, inv, h)
    wx = _area_weights(SIZE, offx, inv, w)
    out = wy @ vv @ wx.T * float(scale) * float(scale)
    out = np.minimum(out, 1.0).astype(np.float32)
    return thin_strokes(out) if thin else out


def preprocess_images(imgs, thin=True):
    """N x h x w uint8 -> N x 28 x 28 uint8 (rounded; what training stores) and an empty mask."""
    out = np.zeros((len(imgs), SIZE, SIZE), np.uint8)
    empty = np.zeros(len(imgs), bool)
    for k, im in enumerate(imgs):
        r = preprocess_image(im, thin)
        if r is None:
            empty[k] = True
        else:
            out[k] = np.round(r * 255).astype(np.uint8)
    return out, empty


# ------------------------------------------------------------------------------------------------
# the golden file the C++ test compares the core with
# ------------------------------------------------------------------------------------------------

def golden_cases():
    """Drawings and images that exercise every branch: dots, a one-point stroke with others,
    thin/wide boxes, negative and large coordinates, polarity, noise, a speck."""
    rng = np.random.default_rng(7)
    drawings = {
        "seven": [[[10, 10], [60, 10], [30, 90]]],
        "four_two_strokes": [[[20, 5], [5, 60], [50, 60]], [[40, 20], [40, 100]]],
        "dot_and_line": [[[100, 100]], [[100, 120], [100, 300]]],
        "horizontal_line": [[[-500, 3], [400, 3]]],
        "wide_wave": [[[x, 40 * np.sin(x / 30.0)] for x in range(0, 600, 7)]],
        "far_away": [[[9.9e5, -9.9e5], [9.9e5 + 30, -9.9e5 + 80], [9.9e5 + 5, -9.9e5 + 40]]],
        "random_walk": [np.cumsum(rng.normal(0, 5, (60, 2)), 0).round(2).tolist()],
    }
    images = {}
    im = np.full((28, 28), 255, np.uint8)
    im[6:22, 12:15] = 20
    images["dark_on_light_bar"] = im
    im = np.zeros((40, 30), np.uint8)
    yy, xx = np.mgrid[:40, :30]
    im[((yy - 20) ** 2 / 144 + (xx - 15) ** 2 / 64 - 1) ** 2 < 0.08] = 230
    images["light_ring_noisy"] = np.clip(im.astype(int) + rng.integers(0, 30, im.shape), 0, 255).astype(np.uint8)
    im = np.full((16, 16), 250, np.uint8)
    im[7:9, 8] = 0
    images["speck"] = im
    im = (np.linspace(0, 255, 50)[None, :] * np.ones((50, 1))).astype(np.uint8)
    images["gradient"] = im
    return drawings, images


def write_golden(path):
    drawings, images = golden_cases()
    doc = {"note": "model/raster.py --write-golden: the Python twin's preprocessing; "
                   "tests/preprocess_test.cpp checks the core against it",
           "strokes": [], "images": []}
    for name, d in drawings.items():
        img, empty = render_drawings([d])
        doc["strokes"].append({"name": name, "strokes": d, "empty": bool(empty[0]),
                               "pixels": [round(float(v), 7) for v in img[0].flatten()]})
    for name, im in images.items():
        r = preprocess_image(im)
        doc["images"].append({"name": name, "width": int(im.shape[1]), "height": int(im.shape[0]),
                              "gray": im.flatten().tolist(), "empty": r is None,
                              "pixels": [] if r is None else [round(float(v), 7) for v in r.flatten()]})
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    if "--write-golden" in sys.argv:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        p = os.path.join(root, "tests", "data", "raster_twin.json")
        write_golden(p)
        print("wrote", p)
