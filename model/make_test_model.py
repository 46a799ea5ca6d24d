#!/usr/bin/python3
"""Write the small random-weight test models and their golden files for the core's tests.

    /usr/bin/python3 model/make_test_model.py [--data ../shared/data/mnist] [--out tests/data]

Writes (deterministic: fixed seeds, no training):
  tiny.safetensors        + tiny.golden.json         conv k3/p1 + BN (folded), conv k5/s2/p2,
                                                     maxpool k3/s2, conv k3/p0, relu (Grad-CAM,
                                                     8x4x4), flatten (C,H,W = 128), dense 128->10
  tiny_gap.safetensors    + tiny_gap.golden.json     conv k3/p1 + BN, maxpool k3/s2/p1 (-inf pad),
                                                     conv k(3,5)/s(1,2)/p(1,2) + BN, relu (Grad-CAM,
                                                     12x14x7, non-square), global_avg_pool,
                                                     flatten, dense 12->10
  tiny_gap_f16.safetensors + tiny_gap_f16.golden.json  the same weights stored as F16; golden
                                                     values computed from the F16-rounded weights
Cases: the first 4 MNIST test digits (Grad-CAM for the true label), one all-zero input and one
uniform-noise input (label -1, Grad-CAM for the predicted class), and for the first digit a
second case with Grad-CAM for the least likely class.
"""

import argparse
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digits_format as dfmt  # noqa: E402
import mnist  # noqa: E402


def randomize_bn(bn: nn.BatchNorm2d, g: torch.Generator):
    """Non-trivial running stats and affine params so that folding is really tested."""
    n = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
        bn.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.25)
        bn.weight.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
        bn.bias.copy_(torch.randn(n, generator=g) * 0.3)
    bn.eval()


def tiny_model(seed=1234):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1)
    m = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 4, 3, 1, 1)),
        ("bn1", nn.BatchNorm2d(4)),
        ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(4, 6, 5, 2, 2)),       # 28 -> 14
        ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(3, 2)),             # 14 -> 6
        ("conv3", nn.Conv2d(6, 8, 3, 1, 0)),       # 6 -> 4
        ("relu3", nn.ReLU()),                      # Grad-CAM layer
        ("flatten", nn.Flatten()),                 # 8*4*4 = 128
        ("fc", nn.Linear(128, 10)),
    ]))
    randomize_bn(m.bn1, g)
    # default init gives logits of ~0.1; scale so that logits are O(1..10) and an absolute
    # tolerance of 1e-4 in the core's tests means something
    with torch.no_grad():
        m.conv2.weight.mul_(2.0)
        m.conv3.weight.mul_(2.0)
        m.fc.weight.mul_(6.0)
    return m.eval()


def tiny_gap_model(seed=4321):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1)
    m = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 8, 3, 1, 1)),
        ("bn1", nn.BatchNorm2d(8)),
        ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(3, 2, 1)),          # 28 -> 14, -inf padding
        ("conv2", nn.Conv2d(8, 12, (3, 5), (1, 2), (1, 2))),  # 14x14 -> 14x7
        ("bn2", nn.BatchNorm2d(12)),
        ("relu2", nn.ReLU()),                      # Grad-CAM layer (12 x 14 x 7)
        ("gap", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(12, 10)),
    ]))
    randomize_bn(m.bn1, g)
    randomize_bn(m.bn2, g)
    # larger head weights so the logits are not all ~equal
    with torch.no_grad():
        m.fc.weight.mul_(4.0)
        # two values that are subnormal in F16 (|x| < 6.1e-5): the F16 loader must decode them
        m.fc.weight[0, 0] = 3.0e-6
        m.fc.weight[1, 1] = -1.0e-5
    return m.eval()


def check_fold(model, arch, tensors, images):
    """Folded network (as in the file) == the original eval network with BN."""
    net = dfmt.FileNet(arch, tensors, dtype=torch.float64)
    x = torch.from_numpy(np.stack(images).astype(np.float32)).reshape(-1, 1, 28, 28)
    with torch.no_grad():
        ref = model.double()((x.double() - arch["input"]["mean"]) / arch["input"]["std"])
        model.float()
        got, _ = net(x)
    d = (ref - got).abs().max().item()
    assert d < 1e-5, f"BN folding mismatch {d}"
    return d


def make_cases(arch, tensors, images, labels, names):
    net = dfmt.FileNet(arch, tensors, dtype=torch.float64)
    net32 = dfmt.FileNet(arch, tensors, dtype=torch.float32)
    cases = []
    for img, lab, name in zip(images, labels, names):
        cls = None if lab < 0 else lab
        c = dfmt.golden_case(net, name, img, lab, gradcam_class=cls)
        cases.append(c)
        if name == names[0]:
            least = int(np.argmin(c["logits"]))
            cases.append(dfmt.golden_case(net, name + "_cam_least_likely", img, lab, least))
    # how far a float32 computation lands from the float64 golden values (what the core sees)
    worst_l = worst_c = 0.0
    for c in cases:
        x = torch.tensor(c["input"], dtype=torch.float32).reshape(1, 1, 28, 28)
        for g in (c["gradcam"], c["gradcam_versus"]):
            l32, cam32 = dfmt.gradcam(net32, x, g["class"], g.get("versus"))
            worst_l = max(worst_l, float(np.abs(l32 - np.array(c["logits"])).max()))
            worst_c = max(worst_c, float(np.abs(cam32.reshape(-1) - np.array(g["map"])).max()))
    return cases, worst_l, worst_c


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=mnist.DEFAULT_DATA, help="MNIST idx .gz directory")
    ap.add_argument("--out", default=os.path.join(mnist.REPO_ROOT, "tests", "data"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    data = mnist.load_or_exit(args.data)
    images = [data["test_images"][i].astype(np.float32) / 255.0 for i in range(4)]
    labels = [int(data["test_labels"][i]) for i in range(4)]
    names = [f"mnist_test_{i}" for i in range(4)]
    images.append(np.zeros((28, 28), np.float32))
    labels.append(-1)
    names.append("zeros")
    rng = np.random.RandomState(7)
    images.append(rng.rand(28, 28).astype(np.float32))
    labels.append(-1)
    names.append("uniform_noise")

    jobs = [
        ("tiny", tiny_model(), "F32"),
        ("tiny_gap", tiny_gap_model(), "F32"),
        ("tiny_gap_f16", tiny_gap_model(), "F16"),
    ]
    for stem, model, dtype in jobs:
        layers, tensors = dfmt.fold_sequential(model)
        arch = dfmt.make_architecture(layers, dfmt.default_gradcam_layer(layers),
                                      unsure_threshold=0.5)
        dfold = check_fold(model, arch, tensors, images)
        stored = dfmt.round_tensors(tensors, dtype)
        fname = stem + ".safetensors"
        size = dfmt.write_model_file(os.path.join(args.out, fname), arch, tensors, dtype,
                                     {"description": f"random-weight test model '{stem}' made by "
                                                     "model/make_test_model.py (not trained)"})
        cases, wl, wc = make_cases(arch, stored, images, labels, names)
        dfmt.write_golden(os.path.join(args.out, stem + ".golden.json"), fname, cases)
        nsub = 0
        if dtype == "F16":
            for v in tensors.values():
                h = np.abs(v.astype(np.float16))
                nsub += int(((h > 0) & (h < np.float16(6.104e-05))).sum())
        zero_maps = [c["name"] for c in cases if max(c["gradcam"]["map"]) == 0]
        print(f"{fname}: {size} bytes, {dtype}, {dfmt.count_params(tensors)} params, "
              f"{dfmt.count_macs(arch)} MACs, gradcam_layer {arch['gradcam_layer']}, "
              f"BN fold err {dfold:.1e}, f32-vs-golden logits {wl:.1e} cam {wc:.1e}"
              + (f", {nsub} F16 subnormals" if dtype == "F16" else "")
              + (f", all-zero maps: {zero_maps}" if zero_maps else ""))
        print("   tensors:", ", ".join(f"{k} {list(v.shape)}" for k, v in tensors.items()))
        for c in cases:
            print(f"   {c['name']}: label {c['label']} argmax {int(np.argmax(c['logits']))} "
                  f"cam class {c['gradcam']['class']} {c['gradcam']['height']}x{c['gradcam']['width']}")


if __name__ == "__main__":
    main()
