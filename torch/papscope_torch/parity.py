"""The Python half of the parity test (torchimport/parity_test.go): run the twin on the Go test's inputs, both converter directions.

  python3 -m papscope_torch.parity --papscope W.safetensors --inputs X.safetensors --out DIR [--seed S]

X holds tensors "images.NAME", F32 [N, H, W, 3] in [0,1] (NHWC, as papscope feeds nn).
Writes into DIR:
  from_papscope.safetensors  "probs.NAME", "logits.NAME": the twin with W loaded through convert.from_papscope
  twin.safetensors           a seeded twin's state_dict (batch norm and biases far from their initial values)
  twin_papscope.safetensors  the same weights through convert.to_papscope
  twin_probs.safetensors     "probs.NAME", "logits.NAME" of that twin
"""

import argparse
import json
import os

import torch

from . import convert, safetensors_io
from .model import PapscopeNet


def randomized_twin(seed):
    """A twin with Glorot kernels and batch norm, biases and statistics far from the identity, as a trained network has."""
    torch.manual_seed(seed)  # the kernels' Glorot draws
    g = torch.Generator().manual_seed(seed)
    m = PapscopeNet()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("bias"):
                p.copy_((torch.rand(p.shape, generator=g) - 0.5) * 0.2)
            elif p.dim() == 1:  # BN gamma
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif name.startswith("fc"):
                p.mul_(5)  # logits spread over several units, so probabilities are far from uniform
        for name, b in m.named_buffers():
            if name.endswith("running_mean"):
                b.copy_((torch.rand(b.shape, generator=g) - 0.5) * 0.4)
            elif name.endswith("running_var"):
                b.copy_(0.3 + torch.rand(b.shape, generator=g))
            elif name.endswith("num_batches_tracked"):
                b.fill_(7)
    return m.eval()


def run(model, images):
    """Probabilities and logits of the twin in inference mode for NHWC images."""
    with torch.no_grad():
        logits = model(images.permute(0, 3, 1, 2).contiguous())
    return torch.softmax(logits.double(), dim=1).float(), logits


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--papscope", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    inputs, _ = safetensors_io.load(args.inputs)
    images = {k[len("images.") :]: v for k, v in inputs.items() if k.startswith("images.")}

    sd, md = convert.load_papscope(args.papscope)
    a = PapscopeNet()
    a.load_state_dict(sd, strict=True)
    a.eval()
    out = {}
    for name, x in images.items():
        out[f"probs.{name}"], out[f"logits.{name}"] = run(a, x)
    safetensors_io.save(os.path.join(args.out, "from_papscope.safetensors"), out)

    b = randomized_twin(args.seed)
    safetensors_io.save(os.path.join(args.out, "twin.safetensors"), b.state_dict(), {"format": "pt", "source": "papscope_torch.parity"})
    h, w = next(iter(images.values())).shape[1:3]
    convert.save_papscope(os.path.join(args.out, "twin_papscope.safetensors"), b, convert.papscope_metadata((h, w), source="papscope_torch.parity"))
    out = {}
    for name, x in images.items():
        out[f"probs.{name}"], out[f"logits.{name}"] = run(b, x)
    safetensors_io.save(os.path.join(args.out, "twin_probs.safetensors"), out, {"names": json.dumps(sorted(images))})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
