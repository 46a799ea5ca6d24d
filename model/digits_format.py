"""Writer (and golden-file maker) for the digits model file, per core/MODEL_FORMAT.md.

The format is plain safetensors: an 8-byte little-endian u64 header length N, N bytes of UTF-8
JSON (padded with spaces to a multiple of 8), then the raw little-endian tensors.  The network's
architecture lives in ``__metadata__["architecture"]`` (a JSON document serialized as a string).

The `safetensors` Python package is not used (not available in Debian); this is ~40 lines of
struct + json.

Typical use::

    layers, tensors = fold_sequential(model)          # BN folded, dropout dropped
    arch = make_architecture(layers, gradcam_layer=default_gradcam_layer(layers),
                             mean=0.1307, std=0.3081, unsure_threshold=0.6)
    write_model_file("digits.safetensors", arch, tensors, dtype="F32")
    write_golden("digits.golden.json", "digits.safetensors", arch, tensors, cases)

Conventions:
  * tensor names: a conv2d/dense layer named X has ``X.weight`` and ``X.bias`` (conv weight
    [out, in, kh, kw], dense weight [out, in]), exactly as MODEL_FORMAT.md says;
  * golden logits / Grad-CAM maps are computed in float64 from the *stored* weights (for an F16
    file: the F16-rounded weights), on float32 inputs in [0, 1]; the network normalizes with
    (x - mean) / std first, just like the C++ core.
"""

from __future__ import annotations

import json
import math
import struct
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT_TAG = "digits/1"
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
LABELS = [str(i) for i in range(10)]
NOT_A_DIGIT_LABEL = "not a digit"

_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2")}
# Integer tensors of an int8 model (core/MODEL_FORMAT.md, "int8 models"): written as they are.
_INT_DTYPES = {np.dtype("int8"): "I8", np.dtype("int32"): "I32"}


# --------------------------------------------------------------------------------------------
# BN folding: nn.Sequential -> (layer list, tensors)
# --------------------------------------------------------------------------------------------

def _pair(v) -> List[int]:
    if isinstance(v, (tuple, list)):
        assert len(v) == 2, v
        return [int(v[0]), int(v[1])]
    return [int(v), int(v)]


def fold_bn(conv: nn.Conv2d, bn: Optional[nn.BatchNorm2d]) -> Tuple[np.ndarray, np.ndarray]:
    """Return (weight, bias) of `conv` with the eval-mode `bn` after it folded in (float64)."""
    w = conv.weight.detach().double().cpu().numpy()
    b = (conv.bias.detach().double().cpu().numpy() if conv.bias is not None
         else np.zeros(w.shape[0], dtype=np.float64))
    if bn is None:
        return w, b
    assert bn.num_features == w.shape[0]
    assert bn.track_running_stats and bn.running_mean is not None, "BN needs running stats"
    gamma = (bn.weight.detach().double().cpu().numpy() if bn.affine
             else np.ones(w.shape[0]))
    beta = (bn.bias.detach().double().cpu().numpy() if bn.affine
            else np.zeros(w.shape[0]))
    mean = bn.running_mean.detach().double().cpu().numpy()
    var = bn.running_var.detach().double().cpu().numpy()
    scale = gamma / np.sqrt(var + bn.eps)
    return w * scale[:, None, None, None], (b - mean) * scale + beta


def fold_sequential(model: nn.Module) -> Tuple[List[dict], "OrderedDict[str, np.ndarray]"]:
    """Walk an nn.Sequential (nested Sequentials are flattened) and return the digits layer list
    and the float32 tensors, BatchNorm2d folded into the preceding Conv2d, Dropout removed.

    Layer names: the Sequential's child name when it is a plain identifier that is not a number
    (e.g. ``conv1``), otherwise ``conv<N>`` / ``fc<N>`` counted in order.
    Supported modules: Conv2d (groups=1, dilation=1, zero padding), BatchNorm2d (only right after
    a Conv2d), ReLU, MaxPool2d (floor mode, dilation 1), AdaptiveAvgPool2d(1) / the custom
    GlobalAvgPool below, Flatten, Linear, Dropout*, Identity, Softmax (last only).
    """
    mods: List[Tuple[str, nn.Module]] = []

    def walk(prefix: str, m: nn.Module):
        if isinstance(m, nn.Sequential):
            for n, c in m.named_children():
                walk(n, c)
        else:
            mods.append((prefix, m))

    walk("", model)
    layers: List[dict] = []
    tensors: "OrderedDict[str, np.ndarray]" = OrderedDict()
    nconv = ndense = 0
    used_names = set()

    def pick_name(child: str, kind: str, n: int) -> str:
        name = child if (child and child.isidentifier()) else f"{kind}{n}"
        if name in used_names:
            name = f"{kind}{n}"
        assert name not in used_names, f"duplicate layer name {name}"
        used_names.add(name)
        return name

    i = 0
    while i < len(mods):
        child, m = mods[i]
        if isinstance(m, nn.Conv2d):
            assert m.groups == 1, "groups must be 1"
            assert _pair(m.dilation) == [1, 1], "dilation must be 1"
            assert m.padding_mode == "zeros", "zero padding only"
            assert not isinstance(m.padding, str), "numeric padding only"
            bn = None
            if i + 1 < len(mods) and isinstance(mods[i + 1][1], nn.BatchNorm2d):
                bn = mods[i + 1][1]
            w, b = fold_bn(m, bn)
            nconv += 1
            name = pick_name(child, "conv", nconv)
            layers.append({"type": "conv2d", "name": name,
                           "in_channels": int(m.in_channels), "out_channels": int(m.out_channels),
                           "kernel": _pair(m.kernel_size), "stride": _pair(m.stride),
                           "padding": _pair(m.padding)})
            tensors[name + ".weight"] = w.astype(np.float32)
            tensors[name + ".bias"] = b.astype(np.float32)
            i += 2 if bn is not None else 1
            continue
        if isinstance(m, nn.BatchNorm2d):
            raise ValueError(f"BatchNorm2d '{child}' does not follow a Conv2d: cannot fold")
        if isinstance(m, nn.ReLU):
            layers.append({"type": "relu"})
        elif isinstance(m, nn.MaxPool2d):
            assert not m.ceil_mode, "floor mode only"
            assert _pair(m.dilation) == [1, 1]
            stride = m.stride if m.stride is not None else m.kernel_size
            layers.append({"type": "maxpool2d", "kernel": _pair(m.kernel_size),
                           "stride": _pair(stride), "padding": _pair(m.padding)})
        elif isinstance(m, nn.AdaptiveAvgPool2d) or isinstance(m, GlobalAvgPool):
            if isinstance(m, nn.AdaptiveAvgPool2d):
                assert _pair(m.output_size) == [1, 1], "only AdaptiveAvgPool2d(1)"
            layers.append({"type": "global_avg_pool"})
        elif isinstance(m, nn.Flatten):
            layers.append({"type": "flatten"})
        elif isinstance(m, nn.Linear):
            ndense += 1
            name = pick_name(child, "fc", ndense)
            layers.append({"type": "dense", "name": name,
                           "in_features": int(m.in_features), "out_features": int(m.out_features)})
            tensors[name + ".weight"] = m.weight.detach().float().cpu().numpy().copy()
            b = (m.bias.detach().float().cpu().numpy().copy() if m.bias is not None
                 else np.zeros(m.out_features, dtype=np.float32))
            tensors[name + ".bias"] = b
        elif isinstance(m, (nn.Dropout, nn.Dropout2d, nn.Identity)):
            pass
        elif isinstance(m, (nn.Softmax,)):
            layers.append({"type": "softmax"})
        else:
            raise ValueError(f"unsupported module {child}: {type(m).__name__}")
        i += 1
    if layers and layers[-1]["type"] != "softmax":
        layers.append({"type": "softmax"})
    for k in range(len(layers) - 1):
        assert layers[k]["type"] != "softmax", "softmax only as the last layer"
    return layers, tensors


class GlobalAvgPool(nn.Module):
    """Mean over H, W keeping C x 1 x 1 (same as AdaptiveAvgPool2d(1))."""

    def forward(self, x):
        return x.mean(dim=(2, 3), keepdim=True)


def default_gradcam_layer(layers: Sequence[dict]) -> int:
    """Index of the ReLU right after the last conv2d (or the last conv2d itself)."""
    last = max(i for i, l in enumerate(layers) if l["type"] == "conv2d")
    if last + 1 < len(layers) and layers[last + 1]["type"] == "relu":
        return last + 1
    return last


def make_architecture(layers: Sequence[dict], gradcam_layer: int, mean: float = MNIST_MEAN,
                      std: float = MNIST_STD, unsure_threshold: Optional[float] = None,
                      labels: Sequence[str] = LABELS, height: int = 28, width: int = 28,
                      channels: int = 1, not_a_digit_class: Optional[int] = None,
                      not_a_digit_threshold: Optional[float] = None) -> dict:
    arch = {
        "input": {"channels": channels, "height": height, "width": width,
                  "mean": float(mean), "std": float(std)},
        "labels": list(labels),
        "layers": [dict(l) for l in layers],
        "gradcam_layer": int(gradcam_layer),
    }
    if unsure_threshold is not None:
        arch["unsure_threshold"] = float(unsure_threshold)
    if not_a_digit_class is not None:
        arch["not_a_digit_class"] = int(not_a_digit_class)
        arch["not_a_digit_threshold"] = float(not_a_digit_threshold)
    return arch


# --------------------------------------------------------------------------------------------
# shape inference / MACs (mirrors what the core does at load)
# --------------------------------------------------------------------------------------------

def infer_shapes(arch: dict) -> List[Tuple[int, ...]]:
    """Output shape (C,H,W) or (N,) of every layer; raises on an inconsistent architecture."""
    inp = arch["input"]
    shape: Tuple[int, ...] = (inp["channels"], inp["height"], inp["width"])
    out = []
    for i, l in enumerate(arch["layers"]):
        t = l["type"]
        if t == "conv2d":
            c, h, w = shape
            assert c == l["in_channels"], f"layer {i}: in_channels {l['in_channels']} != {c}"
            (kh, kw), (sh, sw), (ph, pw) = l["kernel"], l["stride"], l["padding"]
            shape = (l["out_channels"], (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
        elif t == "maxpool2d":
            c, h, w = shape
            (kh, kw), (sh, sw), (ph, pw) = l["kernel"], l["stride"], l["padding"]
            shape = (c, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
        elif t == "global_avg_pool":
            shape = (shape[0], 1, 1)
        elif t == "flatten":
            shape = (int(np.prod(shape)),)
        elif t == "dense":
            assert len(shape) == 1 and shape[0] == l["in_features"], \
                f"layer {i}: in_features {l['in_features']} != {shape}"
            shape = (l["out_features"],)
        elif t in ("relu", "softmax"):
            pass
        else:
            raise ValueError(f"layer {i}: unknown type {t}")
        assert all(d > 0 for d in shape), f"layer {i}: empty output {shape}"
        out.append(shape)
    return out


def count_macs(arch: dict) -> int:
    shapes = infer_shapes(arch)
    macs = 0
    for l, s in zip(arch["layers"], shapes):
        if l["type"] == "conv2d":
            kh, kw = l["kernel"]
            macs += s[0] * s[1] * s[2] * l["in_channels"] * kh * kw
        elif l["type"] == "dense":
            macs += l["in_features"] * l["out_features"]
    return macs


def count_params(tensors: Dict[str, np.ndarray]) -> int:
    return int(sum(int(np.prod(t.shape)) for t in tensors.values()))


# --------------------------------------------------------------------------------------------
# the file writer
# --------------------------------------------------------------------------------------------

def round_tensors(tensors: Dict[str, np.ndarray], dtype: str) -> "OrderedDict[str, np.ndarray]":
    """The float32 values the core will see after loading a file stored as `dtype`."""
    assert dtype in _DTYPES, dtype
    out = OrderedDict()
    for k, v in tensors.items():
        v32 = np.asarray(v, dtype=np.float32)
        if dtype == "F16":
            v16 = v32.astype(np.float16)
            if not np.all(np.isfinite(v16)):
                raise ValueError(f"{k}: does not fit in F16")
            v32 = v16.astype(np.float32)
        out[k] = v32
    return out


def model_file_bytes(arch: dict, tensors: Dict[str, np.ndarray], dtype="F32",
                     extra_metadata: Optional[Dict[str, str]] = None) -> bytes:
    """Serialize. `dtype` is "F32", "F16", or a dict name -> dtype (mixed storage); int8 and int32
    arrays are stored as I8 and I32 whatever `dtype` says."""
    infer_shapes(arch)  # validate before writing
    meta = OrderedDict()
    meta["format"] = FORMAT_TAG
    meta["architecture"] = json.dumps(arch, separators=(",", ":"))
    for k, v in (extra_metadata or {}).items():
        assert k not in meta, k
        meta[k] = str(v)
    header: "OrderedDict[str, object]" = OrderedDict()
    header["__metadata__"] = meta
    blobs = []
    off = 0
    for name, t in tensors.items():
        if isinstance(t, np.ndarray) and t.dtype in _INT_DTYPES:
            raw = np.ascontiguousarray(t).astype(t.dtype.newbyteorder("<")).tobytes(order="C")
            header[name] = {"dtype": _INT_DTYPES[t.dtype], "shape": [int(d) for d in t.shape],
                            "data_offsets": [off, off + len(raw)]}
            blobs.append(raw)
            off += len(raw)
            continue
        dt = dtype[name] if isinstance(dtype, dict) else dtype
        t = np.ascontiguousarray(np.asarray(t, dtype=np.float32))
        if not np.all(np.isfinite(t)):
            raise ValueError(f"{name}: non-finite values")
        raw = t.astype(_DTYPES[dt]).tobytes(order="C")
        header[name] = {"dtype": dt, "shape": [int(d) for d in t.shape],
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)  # pad: data buffer starts 8-byte aligned
    return struct.pack("<Q", len(hjson)) + hjson + b"".join(blobs)


def write_model_file(path: str, arch: dict, tensors: Dict[str, np.ndarray], dtype="F32",
                     extra_metadata: Optional[Dict[str, str]] = None) -> int:
    data = model_file_bytes(arch, tensors, dtype, extra_metadata)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


# --------------------------------------------------------------------------------------------
# a PyTorch network rebuilt from (arch, tensors) -- used for golden values
# --------------------------------------------------------------------------------------------

class FileNet(nn.Module):
    """The network exactly as the core runs it: normalization, then the layer list.
    `forward` returns (logits, activations of gradcam_layer)."""

    def __init__(self, arch: dict, tensors: Dict[str, np.ndarray], dtype=torch.float64):
        super().__init__()
        self.arch = arch
        self.mean = float(arch["input"]["mean"])
        self.std = float(arch["input"]["std"])
        self.gradcam_layer = int(arch["gradcam_layer"])
        used = set()
        self.params = nn.ParameterDict()
        for l in arch["layers"]:
            if l["type"] in ("conv2d", "dense"):
                for s in ("weight", "bias"):
                    key = f"{l['name']}.{s}"
                    used.add(key)
                    self.params[key.replace(".", "__")] = nn.Parameter(
                        torch.from_numpy(np.asarray(tensors[key], dtype=np.float32)).to(dtype),
                        requires_grad=False)
        extra = set(tensors) - used
        assert not extra, f"unused tensors {extra}"
        self.dtype = dtype

    def p(self, name, s):
        return self.params[f"{name}__{s}"]

    def forward(self, x, keep_grad_at_cam=False):
        out, acts = self.activations(x, {self.gradcam_layer}, retain_grad=keep_grad_at_cam)
        return out, acts.get(self.gradcam_layer)

    def activations(self, x, keep, retain_grad=False):
        """(logits, {i: output of layer i for each index in `keep`}), gradients retained on those
        outputs if asked (x, or a parameter, must then require grad)."""
        x = (x.to(self.dtype) - self.mean) / self.std
        acts = {}
        for i, l in enumerate(self.arch["layers"]):
            t = l["type"]
            if t == "conv2d":
                x = F.conv2d(x, self.p(l["name"], "weight"), self.p(l["name"], "bias"),
                             stride=tuple(l["stride"]), padding=tuple(l["padding"]))
            elif t == "relu":
                x = F.relu(x)
            elif t == "maxpool2d":
                x = F.max_pool2d(x, tuple(l["kernel"]), tuple(l["stride"]), tuple(l["padding"]))
            elif t == "global_avg_pool":
                x = x.mean(dim=(2, 3), keepdim=True)
            elif t == "flatten":
                x = x.reshape(x.shape[0], -1)
            elif t == "dense":
                x = F.linear(x, self.p(l["name"], "weight"), self.p(l["name"], "bias"))
            elif t == "softmax":
                pass  # logits are the output before softmax
            if i in keep:
                if retain_grad:
                    x.retain_grad()
                acts[i] = x
        return x, acts


def load_file_net(path, dtype=torch.float32):
    """(architecture, FileNet) of a model file, read by the independent reader."""
    import check_model_file
    arch, tensors, _, _ = check_model_file.read_model(path)
    return arch, FileNet(arch, tensors, dtype=dtype).eval()


def gradcam(net: FileNet, x: torch.Tensor, cls: int,
            versus: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Autograd Grad-CAM for one input x (1,1,28,28) and class `cls` (against class `versus`:
    the score is then logit[cls] - logit[versus]).
    Returns (logits[10], map[H, W] normalized to [0,1])."""
    x = x.clone().to(net.dtype).requires_grad_(True)
    logits, A = net(x, keep_grad_at_cam=True)
    assert A.dim() == 4, "gradcam_layer must output C x H x W"
    net.zero_grad(set_to_none=True)
    score = logits[0, cls] - (logits[0, versus] if versus is not None else 0)
    score.backward()
    g = A.grad[0]  # C,H,W
    alpha = g.mean(dim=(1, 2))  # C
    cam = torch.relu((alpha[:, None, None] * A[0]).sum(0)).detach()
    m = cam.max()
    cam = cam / m if m > 0 else torch.zeros_like(cam)
    return logits[0].detach().cpu().numpy(), cam.cpu().numpy()


def heatmap_on_ink(cam: np.ndarray, image: np.ndarray) -> np.ndarray:
    """What front ends show (gradcam.h's ApplyToInput): the map bilinearly upsampled to the input
    grid (half-pixel centres, as F.interpolate with align_corners=False), times the input's ink,
    divided by its maximum."""
    size = int(round(math.sqrt(np.asarray(image).size)))
    up = F.interpolate(torch.from_numpy(np.asarray(cam, dtype=np.float64))[None, None],
                       size=(size, size), mode="bilinear", align_corners=False)[0, 0].numpy()
    heat = up * np.clip(np.asarray(image, dtype=np.float64).reshape(size, size), 0.0, 1.0)
    m = heat.max()
    return heat / m if m > 0 else np.zeros_like(heat)


# --------------------------------------------------------------------------------------------
# golden files
# --------------------------------------------------------------------------------------------

def _f(v: float) -> float:
    """Round to 9 significant digits (round-trips float32; shorter JSON)."""
    v = float(v)
    return float("%.9g" % v) if math.isfinite(v) else v


def golden_case(net: FileNet, name: str, image: np.ndarray, label: int,
                gradcam_class: Optional[int] = None) -> dict:
    """One case.  `image`: 28x28 (or 784) pixels in [0,1]; they are rounded to float32 first
    (what the core reads).  `gradcam_class` defaults to the predicted class."""
    img32 = np.asarray(image, dtype=np.float32).reshape(-1)
    inp = net.arch["input"]
    x = torch.from_numpy(img32.copy()).reshape(1, inp["channels"], inp["height"], inp["width"])
    logits, _ = net(x)
    logits = logits[0].detach().cpu().numpy()
    cls = int(np.argmax(logits)) if gradcam_class is None else int(gradcam_class)
    logits2, cam = gradcam(net, x, cls)
    assert np.array_equal(logits, logits2)
    # The class difference against the runner-up (the most likely other class): "why cls, not it".
    order = [int(c) for c in np.argsort(-logits) if int(c) != cls]
    versus = order[0]
    _, cam_vs = gradcam(net, x, cls, versus)

    def entry(m, **kw):
        return dict(kw, map=[_f(v) for v in m.reshape(-1)], height=int(m.shape[0]),
                    width=int(m.shape[1]),
                    heatmap=[_f(v) for v in heatmap_on_ink(m, img32).reshape(-1)])

    return {
        "name": name,
        "label": int(label),
        "input": [_f(v) for v in img32],
        "logits": [_f(v) for v in logits],
        "gradcam": entry(cam, **{"class": cls}),
        "gradcam_versus": entry(cam_vs, **{"class": cls, "versus": versus}),
    }


def write_golden(path: str, model_file_name: str, cases: List[dict],
                 extra: Optional[dict] = None) -> None:
    doc = OrderedDict()
    doc["model"] = model_file_name
    if extra:
        for k, v in extra.items():
            doc[k] = v
    doc["cases"] = cases
    with open(path, "w") as f:
        # one case per line keeps the file diffable and still small
        f.write("{\n")
        items = list(doc.items())
        for k, v in items[:-1]:
            f.write(f"  {json.dumps(k)}: {json.dumps(v)},\n")
        f.write('  "cases": [\n')
        for j, c in enumerate(cases):
            f.write("    " + json.dumps(c, separators=(",", ":")))
            f.write(",\n" if j + 1 < len(cases) else "\n")
        f.write("  ]\n}\n")
