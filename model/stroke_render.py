"""Stroke-style renders of training digits: what the canvas path of the core produces.

A digit drawn on the page reaches the network as centre lines rasterized with a round pen of one
width (core/preprocess.cpp), not as MNIST's scanned ink with its varying pressure and filled
loops. To teach the network that look, each training image is thresholded, skeletonized
(scikit-image) and re-drawn around its skeleton with a uniform anti-aliased pen:
    ink = clip(r + 0.5 - d, 0, 1),   d = distance to the skeleton, r = pen width / 2,
the same profile as the core's renderer; the pen width is drawn per image from U(lo, hi) px.
Only training images are used; the test set never is.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize


def stroke_renders(images: np.ndarray, seed: int, width=(1.8, 3.4)) -> np.ndarray:
    """images: N x 28 x 28 uint8 (0 = background). Returns N x 28 x 28 uint8 renders."""
    rng = np.random.default_rng(seed)
    widths = rng.uniform(width[0], width[1], size=len(images))
    out = np.zeros_like(images)
    for k, (img, w) in enumerate(zip(images, widths)):
        skeleton = skeletonize(img >= 128)
        if not skeleton.any():
            out[k] = img
            continue
        d = ndimage.distance_transform_edt(~skeleton)
        out[k] = np.round(np.clip(0.5 * w + 0.5 - d, 0.0, 1.0) * 255).astype(np.uint8)
    return out


if __name__ == "__main__":  # a picture for the record: originals above, renders below
    import os
    import sys
    import time

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import mnist

    d = mnist.load_or_exit(mnist.DEFAULT_DATA)
    x = d["train_images"][:16]
    t = time.time()
    r = stroke_renders(d["train_images"][:2000], seed=1)
    print(f"{(time.time() - t) / 2000 * 1e6:.0f} us per image")
    fig, axes = plt.subplots(2, 16, figsize=(16, 2.2))
    for i in range(16):
        axes[0, i].imshow(x[i], cmap="gray")
        axes[1, i].imshow(r[i], cmap="gray")
        axes[0, i].axis("off")
        axes[1, i].axis("off")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stroke_renders.png")
    fig.savefig(out, dpi=80, bbox_inches="tight")
    print("wrote", out)
