"""Convert between the twin's state_dict and papscope's weights (safetensors).

papscope names its tensors as Keras does ("conv2d/kernel",
"separable_conv2d_3/depthwise_kernel", "batch_normalization_2/moving_mean",
"dense_1/bias") and lays them out as Keras does, NHWC-style:

  conv kernel       Keras [kh, kw, in, out]   PyTorch [out, in, kh, kw]
  depthwise kernel  Keras [3, 3, C, 1]        PyTorch [C, 1, 3, 3]
  pointwise kernel  Keras [1, 1, C, O]        PyTorch [O, C, 1, 1]
  dense kernel      Keras [in, out]           PyTorch [out, in]
  BN gamma, beta, moving_mean, moving_variance = weight, bias, running_mean, running_var

The same table is implemented in Go by papscope/torchimport
(`papscope import -format torch`); the tests hold the two together.

Command line:
  python3 -m papscope_torch.convert to-papscope STATE_DICT.safetensors OUT.safetensors [--input HxW]
  python3 -m papscope_torch.convert to-torch PAPSCOPE.safetensors OUT.safetensors
"""

import argparse
import json
import sys

import torch

from . import safetensors_io
from .model import CLASSES, NUM_BLOCKS

FORMAT = "papscope-xception-lite-v1"  # nn/weights.go formatName
PREPROCESSING = "RGB, pixel/255 in [0,1], alpha composited on white, whole image resized to the input size (no crop) with an antialiased triangle filter"


def preprocessing(crop=0):
    """The metadata's description of the preprocessing at crop (nn.PreprocessingWithCrop)."""
    if crop <= 0 or crop >= 1:
        return PREPROCESSING
    return (f"RGB, pixel/255 in [0,1], alpha composited on white, centre crop keeping {float(crop)!r} of each side, "
            "resized to the input size with an antialiased triangle filter")


def layers():
    """The layers with weights, in order: (torch module, Keras layer, kind, description)."""
    out = [
        ("conv1", "conv2d", "conv", "Conv2D 3x3/2 valid, 64 filters, ReLU"),
        ("bn1", "batch_normalization", "bn", "BatchNormalization of 64 channels"),
        ("sep1", "separable_conv2d", "sep", "SeparableConv2D 64->128, ReLU"),
    ]
    for i in range(NUM_BLOCKS):
        out += [
            (f"blocks.{i}.sep_a", f"separable_conv2d_{2 * i + 1}", "sep", f"block {i}: first SeparableConv2D 128->128, ReLU"),
            (f"blocks.{i}.bn_a", f"batch_normalization_{2 * i + 1}", "bn", f"block {i}: first BatchNormalization"),
            (f"blocks.{i}.sep_b", f"separable_conv2d_{2 * i + 2}", "sep", f"block {i}: second SeparableConv2D 128->128, ReLU"),
            (f"blocks.{i}.bn_b", f"batch_normalization_{2 * i + 2}", "bn", f"block {i}: second BatchNormalization"),
        ]
    out += [
        ("sep_last", f"separable_conv2d_{2 * NUM_BLOCKS + 1}", "sep", "SeparableConv2D 128->256, ReLU"),
        ("fc1", "dense", "dense", "Dense 256, ReLU"),
        ("fc2", "dense_1", "dense", "Dense 4 (logits; softmax)"),
    ]
    return out


# For each kind: (torch tensor suffix, Keras weight, torch->Keras permutation or None, trainable).
_TENSORS = {
    "conv": [("weight", "kernel", (2, 3, 1, 0), True), ("bias", "bias", None, True)],
    "sep": [
        ("depthwise.weight", "depthwise_kernel", (2, 3, 0, 1), True),
        ("pointwise.weight", "pointwise_kernel", (2, 3, 1, 0), True),
        ("pointwise.bias", "bias", None, True),
    ],
    "bn": [
        ("weight", "gamma", None, True),
        ("bias", "beta", None, True),
        ("running_mean", "moving_mean", None, False),
        ("running_var", "moving_variance", None, False),
    ],
    "dense": [("weight", "kernel", (1, 0), True), ("bias", "bias", None, True)],
}


def tensor_map():
    """Every tensor: list of (torch name, Keras name, torch->Keras permutation or None, trainable)."""
    return [
        (f"{mod}.{suffix}", f"{keras}/{kw}", perm, trainable)
        for mod, keras, kind, _ in layers()
        for suffix, kw, perm, trainable in _TENSORS[kind]
    ]


def _inverse(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


def torch_to_keras_tensor(t, perm, dtype=torch.float32):
    """A torch-layout tensor in Keras layout, contiguous on the CPU, as dtype (float32, papscope's weights;
    torch.float64 keeps a float64 gradient's digits)."""
    t = t.detach().to("cpu", dtype)
    return (t.permute(*perm) if perm else t).contiguous()


def keras_to_torch_tensor(t, perm):
    """A Keras-layout tensor in torch layout (contiguous float32)."""
    t = t.to(torch.float32)
    return (t.permute(*_inverse(perm)) if perm else t).contiguous()


def strip_prefix(state_dict):
    """Drop a "module." (DistributedDataParallel) or "_orig_mod." (torch.compile) prefix carried by every key."""
    for prefix in ("module.", "_orig_mod."):
        if state_dict and all(k.startswith(prefix) for k in state_dict):
            state_dict = {k[len(prefix) :]: v for k, v in state_dict.items()}
    return state_dict


_SHAPES = {}


def torch_shapes():
    """The twin's state_dict shapes, by name."""
    if not _SHAPES:
        from .model import PapscopeNet

        _SHAPES.update({k: tuple(v.shape) for k, v in PapscopeNet().state_dict().items()})
    return _SHAPES


def to_papscope(state_dict):
    """papscope tensors (Keras names and layouts) from the twin's state_dict; refuses anything else, naming the layer."""
    sd = strip_prefix(dict(state_dict))
    out, used = {}, set()
    desc = {mod: (keras, d) for mod, keras, _, d in layers()}
    shapes = torch_shapes()
    for tname, kname, perm, _ in tensor_map():
        mod = tname.rsplit(".", 2 if ".depthwise." in tname or ".pointwise." in tname else 1)[0]
        keras, d = desc[mod]
        if tname not in sd:
            raise ValueError(f"layer {mod} (papscope's {keras}: {d}): the state_dict has no tensor {tname!r}; the architecture differs")
        t = sd[tname]
        if tuple(t.shape) != shapes[tname]:
            raise ValueError(f"layer {mod} (papscope's {keras}: {d}): tensor {tname!r} has shape {list(t.shape)}, want {list(shapes[tname])}; the architecture differs")
        if not t.is_floating_point():
            raise ValueError(f"layer {mod} (papscope's {keras}: {d}): tensor {tname!r} has dtype {t.dtype}, want a floating-point type")
        out[kname] = torch_to_keras_tensor(t, perm)
        used.add(tname)
    for k in sd:
        if k not in used and not k.endswith("num_batches_tracked"):
            raise ValueError(f"tensor {k!r} is not part of papscope's network (module {k.rsplit('.', 1)[0]!r}); the architecture differs")
    return out


def from_papscope(tensors):
    """The twin's state_dict from papscope tensors (Keras names and layouts); out-of-distribution tensors are ignored."""
    sd = {}
    for tname, kname, perm, _ in tensor_map():
        if kname not in tensors:
            raise ValueError(f"papscope weights have no tensor {kname!r}")
        sd[tname] = keras_to_torch_tensor(tensors[kname], perm)
    for mod, _, kind, _ in layers():
        if kind == "bn":
            sd[f"{mod}.num_batches_tracked"] = torch.tensor(0, dtype=torch.int64)
    return sd


def papscope_metadata(input_hw, training_data="", source="", metrics=None, extra=None, crop=0):
    """Metadata for papscope weights, with the keys nn/weights.go reads; crop in (0, 1) is the centre crop
    preprocessing must apply (the key "crop", which papscope classify and the browser honour)."""
    md = dict(extra or {})
    md.update(
        {
            "format": FORMAT,
            "classes": json.dumps(list(CLASSES)),
            "input_shape": json.dumps([int(input_hw[0]), int(input_hw[1]), 3]),
            "preprocessing": preprocessing(crop),
        }
    )
    if 0 < crop < 1:
        md["crop"] = repr(float(crop))
    if training_data:
        md["training_data"] = training_data
    if source:
        md["source"] = source
    if metrics is not None:
        md["metrics"] = metrics if isinstance(metrics, str) else json.dumps(metrics)
    return md


def check_papscope_metadata(md):
    """Raise ValueError unless md describes papscope weights with its class order; return the input (H, W)."""
    if md.get("format") != FORMAT:
        raise ValueError(f"metadata format is {md.get('format')!r}, want {FORMAT!r}: not papscope weights")
    if json.loads(md.get("classes", "null")) != list(CLASSES):
        raise ValueError(f"classes {md.get('classes')} are not {list(CLASSES)}")
    h, w, c = json.loads(md["input_shape"])
    return int(h), int(w)


def save_papscope(path, model_or_state_dict, metadata):
    """Write papscope weights (Keras names and layouts) from the twin or its state_dict."""
    sd = model_or_state_dict.state_dict() if hasattr(model_or_state_dict, "state_dict") else model_or_state_dict
    safetensors_io.save(path, to_papscope(sd), metadata)


def load_papscope(path):
    """Read papscope weights; return (the twin's state_dict, metadata)."""
    tensors, md = safetensors_io.load(path)
    check_papscope_metadata(md)
    return from_papscope(tensors), md


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m papscope_torch.convert", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("to-papscope", help="a twin state_dict (safetensors) to papscope weights")
    a.add_argument("src")
    a.add_argument("dst")
    a.add_argument("--input", default="", help="input size HxW the weights were trained at (default: the state_dict's metadata, else 299x299)")
    b = sub.add_parser("to-torch", help="papscope weights to a twin state_dict (safetensors)")
    b.add_argument("src")
    b.add_argument("dst")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "to-papscope":
            sd, md = safetensors_io.load(args.src)
            hw = (299, 299)
            if "input_shape" in md:
                hw = tuple(json.loads(md["input_shape"])[:2])
            if args.input:
                hw = tuple(int(v) for v in args.input.lower().split("x"))
            keep = {k: v for k, v in md.items() if k not in ("format", "classes", "input_shape", "preprocessing")}
            safetensors_io.save(args.dst, to_papscope(sd), papscope_metadata(hw, extra=keep))
        else:
            sd, md = load_papscope(args.src)
            md = {k: v for k, v in md.items() if k != "format"}
            md["format"] = "pt"
            safetensors_io.save(args.dst, sd, md)
    except (OSError, ValueError) as e:
        print(f"papscope_torch.convert: {args.src}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
