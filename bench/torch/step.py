#!/usr/bin/env python3
"""The PyTorch side of `make bench-train`: one training step of papscope's network in PyTorch (the twin in torch/).

  /usr/bin/python3 bench/torch/step.py --weights INIT.safetensors --batch BATCH.safetensors \
      --threads N --steps S --grads OUT.safetensors --grads64 OUT64.safetensors

INIT: papscope weights (Keras names and layouts, every parameter and the BN moving statistics).
BATCH: "images" F32 [N, H, W, 3] (RGB in [0,1]), "labels" F32 [N] (class indices), "class_weights" F32 [4].

The loss is papscope's trainer's: sum_i w[y_i] * CE_i / N (softmax cross-entropy, Keras's class_weight
reduction), with batch norm in training mode normalising by the batch's mean and biased variance.

1. One forward and backward from INIT; OUT gets the gradient of every trainable parameter under papscope's
   names and in Keras layouts (conv [kh,kw,in,out], depthwise [3,3,C,1], pointwise [1,1,C,O], dense [in,out]),
   with metadata {"loss": "<float>"}, for the Go side to compare name by name. OUT64 gets the same computed in
   float64 (F64 tensors): float32 rounding alone moves this network's gradients by about 1e-3 relative, so the
   exact comparison is made in float64 on both sides.
2. Then S Adam steps (lr 1e-3, betas 0.9/0.999, eps 1e-7 as Keras) after 2 warm-up steps, timed one by one, on
   N intra-op and N inter-op threads; prints one JSON line on stdout: {"images_per_s", "seconds_per_step"
   (medians over the steps), "threads", "batch", "input": [H, W], "torch", "memory_format"}.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "torch"))
from papscope_torch import convert, safetensors_io  # noqa: E402
from papscope_torch.model import NUM_CLASSES, PapscopeNet  # noqa: E402

# Channels-last measured faster than contiguous NCHW here (Debian's PyTorch CPU, 2 threads, batch 16 at
# 128x128), so it is the default (--memory-format contiguous measures the other).
DEFAULT_MEMORY_FORMAT = "channels_last"


def loss_fn(model, x, y, w):
    """papscope's training loss: sum_i w[y_i] * CE_i / N."""
    logits = model(x)
    ce = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    return (w[y] * ce).sum() / y.shape[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--grads", required=True)
    ap.add_argument("--grads64", required=True)
    ap.add_argument("--memory-format", choices=("contiguous", "channels_last"), default=DEFAULT_MEMORY_FORMAT, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.threads < 1 or args.steps < 1:
        ap.error("--threads and --steps must be at least 1")
    torch.set_num_interop_threads(args.threads)  # before any parallel work, or PyTorch refuses
    torch.set_num_threads(args.threads)

    sd, _ = convert.load_papscope(args.weights)
    batch, _ = safetensors_io.load(args.batch)
    for name, shape in (("images", 4), ("labels", 1), ("class_weights", 1)):
        if name not in batch or batch[name].dim() != shape or batch[name].dtype != torch.float32:
            raise SystemExit(f"step.py: {args.batch}: want F32 tensor {name!r} of rank {shape}")
    images = batch["images"]
    n, h, w, c = images.shape
    labels = batch["labels"].round().long()
    cw = batch["class_weights"]
    if c != 3 or labels.shape[0] != n or cw.shape[0] != NUM_CLASSES or labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise SystemExit(f"step.py: {args.batch}: want images [N,H,W,3], labels [N] in 0..3 and class_weights [4]")
    fmt = torch.channels_last if args.memory_format == "channels_last" else torch.contiguous_format
    x = images.permute(0, 3, 1, 2).contiguous(memory_format=fmt)

    model64 = PapscopeNet()
    model64.load_state_dict(sd, strict=True)
    model64 = model64.double()
    model64.train()
    loss64 = loss_fn(model64, x.double(), labels, cw.double())
    loss64.backward()
    params64 = dict(model64.named_parameters())
    grads64 = {kname: convert.torch_to_keras_tensor(params64[tname].grad, perm, dtype=torch.float64) for tname, kname, perm, trainable in convert.tensor_map() if trainable}
    safetensors_io.save(args.grads64, grads64, {"loss": repr(loss64.item())})
    del model64, params64, grads64

    model = PapscopeNet()
    model.load_state_dict(sd, strict=True)
    model = model.to(memory_format=fmt)
    model.train()

    loss = loss_fn(model, x, labels, cw)
    loss.backward()
    params = dict(model.named_parameters())
    grads = {kname: convert.torch_to_keras_tensor(params[tname].grad, perm) for tname, kname, perm, trainable in convert.tensor_map() if trainable}
    safetensors_io.save(args.grads, grads, {"loss": repr(loss.item())})

    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model, x, labels, cw).backward()
        opt.step()

    for _ in range(2):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    s = statistics.median(times)
    print(json.dumps({"images_per_s": n / s, "seconds_per_step": s, "threads": args.threads, "batch": n, "input": [h, w],
                      "torch": torch.__version__, "memory_format": args.memory_format}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
