#!/usr/bin/python3
"""Writes the ONNX file of a digits safetensors model, exactly as model/export.py exports the
trained one (export.OnnxNet: normalization inside, raw pixels in [0, 1] as N x 1 x 28 x 28 in,
logits out, opset 13, constant folding), for models that have no exported ONNX file (the
random-weights model used before training finished, test models).

    /usr/bin/python3 bench/web/tools/make_onnx.py MODEL.safetensors OUT.onnx
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "model"))
import check_model_file as cmf  # noqa: E402  (independent numpy reader of the model file)
from export import OnnxNet  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    arch, tensors, _, _ = cmf.read_model(src)
    tensors = {k: v.astype(np.float32) for k, v in tensors.items()}
    net = OnnxNet(arch, tensors).eval()
    x = torch.rand(4, 1, 28, 28)
    torch.onnx.export(net, x[:1], dst, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=13, do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(dst), full_check=True)
    # The ONNX graph must compute what the file's reference forward pass computes.
    want = np.stack([cmf.forward(arch, tensors, xi[0].numpy())[0] for xi in x])
    with torch.no_grad():
        got = net(x).numpy()
    diff = float(np.abs(got - want.reshape(got.shape)).max())
    assert diff < 1e-3, f"ONNX net differs from the reference forward pass by {diff}"
    print(f"make_onnx: {dst} ({os.path.getsize(dst)} bytes), max |logit diff| vs reference {diff:.2e}")


if __name__ == "__main__":
    main()
