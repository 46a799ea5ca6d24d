#!/usr/bin/python3
"""Recompute golden files from their own cases' inputs: every expected logit and Grad-CAM map, in
float64 from the model file the golden file names (digits_format.golden_case). For when the golden
format gains a field, without re-running the export that chose the cases.

    /usr/bin/python3 model/golden.py tests/data/digits.golden.json tests/data/digits_f16.golden.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digits_format as dfmt  # noqa: E402
import mnist  # noqa: E402


def refresh(path):
    with open(path) as f:
        doc = json.load(f)
    here = os.path.join(os.path.dirname(path), doc["model"])
    model = here if os.path.exists(here) else os.path.join(mnist.REPO_ROOT, "model", doc["model"])
    _, net = dfmt.load_file_net(model, dtype=torch.float64)
    cases = [dfmt.golden_case(net, c["name"], np.asarray(c["input"], dtype=np.float32), c["label"],
                              c["gradcam"]["class"]) for c in doc["cases"]]
    for old, new in zip(doc["cases"], cases):
        assert np.allclose(old["logits"], new["logits"], atol=1e-6), f"{old['name']}: logits moved"
    extra = {k: v for k, v in doc.items() if k not in ("model", "cases")}
    dfmt.write_golden(path, doc["model"], cases, extra)
    print(f"{path}: {len(cases)} cases from {model}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("golden", nargs="+")
    for p in ap.parse_args().golden:
        refresh(p)
