#!/usr/bin/python3
"""JPEG test images for the core's JPEG path (libjpeg-turbo): MNIST test images 0-2 (a 7, a 2, a 1)
as a photo of paper would give them, dark ink on light, 4x upscaled, once as a grayscale baseline
JPEG and once as an RGB progressive one. Deterministic (Pillow's encoder, fixed quality).

    /usr/bin/python3 tests/data/jpeg/make.py
"""
import gzip
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "mnist", "t10k-images-idx3-ubyte.gz")

with gzip.open(MNIST, "rb") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
for i in range(3):
    paper = Image.fromarray(255 - images[i]).resize((112, 112), Image.BICUBIC)
    paper.save(os.path.join(HERE, f"mnist{i}_gray.jpg"), quality=85)
    paper.convert("RGB").save(os.path.join(HERE, f"mnist{i}_rgb_progressive.jpg"), quality=85,
                              progressive=True)
