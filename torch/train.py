#!/usr/bin/env python3
"""Train papscope's network with PyTorch on one or many GPUs (or CPUs), and write papscope weights.

One process per GPU (or a few on a CPU machine), launched by torchrun:

  torchrun --standalone --nproc_per_node=NGPU torch/train.py --data ../shared/data/lbc --out run/
  torchrun --nnodes=2 --node_rank=R --rdzv_backend=c10d --rdzv_endpoint=HOST:29400 --nproc_per_node=8 torch/train.py ...
  papscope import -format torch -o weights.safetensors run/model.safetensors   # or use run/papscope.safetensors as is

DistributedDataParallel over NCCL on GPUs, gloo on CPUs; mixed precision on
CUDA (bfloat16 where the GPU has it, else float16 with a gradient scaler).
The data conventions are papscope train's: class folders HSIL/ LSIL/ NILM/
SCC/, slides from DIR/manifest.csv (or --groups CSV), a seeded split by slide
stratified by class (no slide in two splits), class weights by inverse
frequency, Keras's loss reduction (sum of w[y]*CE over the batch / N), Adam
(Keras's eps 1e-7), papscope's preprocessing and augmentation, papscope train's treatment of
the data's shortcuts (every image re-encoded at JPEG quality 75 and its
centre half kept, every class alike: --jpeg-quality, --crop; the crop is
recorded in the weights so that papscope crops alike), batch-norm
statistics recalibrated on training images after every epoch, the best epoch
by validation balanced accuracy, early stopping. Checkpoints after every epoch
(OUT/checkpoint.safetensors, no pickle; --resume continues from it).

Writes, in OUT/: model.safetensors (the best epoch's state_dict, with
papscope's metadata), papscope.safetensors (the same weights in papscope's
format: `papscope classify -weights OUT/papscope.safetensors`) and checkpoint.safetensors.
"""

import argparse
import contextlib
import json
import math
import os
import random
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from papscope_torch import convert, data, safetensors_io  # noqa: E402
from papscope_torch.model import CLASSES, KerasBatchNorm2d, PapscopeNet  # noqa: E402

MIN_LOSS_IMPROVEMENT = 1e-4  # papscope train's: a lower validation loss counts only beyond this


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="dataset folder with HSIL/ LSIL/ NILM/ SCC/ (and manifest.csv)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--groups", default="", help="CSV of file -> slide (default: DATA/manifest.csv when present)")
    ap.add_argument("--size", default="128", help="input size, N or WxH (papscope's convention)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16, help="images per step over all processes (divided among them)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--split", default="0.7,0.15,0.15", help="train,validation,test fractions (by slide)")
    ap.add_argument("--patience", type=int, default=5, help="stop after this many epochs without a better validation score (0: never)")
    ap.add_argument("--recalibrate", type=int, default=512, help="training images that reset the BN statistics after every epoch (0: keep the moving averages)")
    ap.add_argument("--steps-per-epoch", type=int, default=0, help="cap on steps per epoch (0: the whole training split)")
    ap.add_argument("--workers", type=int, default=2, help="data-loading processes per training process")
    ap.add_argument("--amp", choices=("auto", "off", "fp16", "bf16"), default="auto", help="mixed precision on CUDA (auto: bf16 where supported, else fp16); off on CPUs")
    ap.add_argument("--jpeg-quality", type=int, default=75, help="re-encode every image as JPEG at this quality before use, whatever its class (0: use the files as they are); papscope train's default")
    ap.add_argument("--crop", type=float, default=0.5, help="keep this share of each side, centred, every class alike; recorded in the weights so papscope crops alike at inference (0 or 1: whole image); papscope train's default")
    ap.add_argument("--no-augment", action="store_true", help="train without flips, turns and colour jitter")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    args = ap.parse_args(argv)
    w, _, h = args.size.lower().partition("x")
    args.hw = (int(h or w), int(w))
    if min(args.hw) < 7:
        ap.error("--size: the network needs at least 7x7")
    if not 0 <= args.jpeg_quality <= 100:
        ap.error("--jpeg-quality must be 0-100")
    if not 0 <= args.crop <= 1:
        ap.error("--crop: want the share of each side kept, in (0, 1], or 0 for the whole image")
    args.fractions = tuple(float(f) for f in args.split.split(","))
    if len(args.fractions) != 3 or abs(sum(args.fractions) - 1) > 1e-6:
        ap.error("--split: want three fractions summing to 1")
    return args


class Dist:
    """The process group, or a single process when not launched by torchrun."""

    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(self.world)))
        if torch.cuda.is_available():
            self.device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(self.device)
            self.backend = "nccl"
        else:
            self.device = torch.device("cpu")
            self.backend = "gloo"
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
        if self.world > 1:
            dist.init_process_group(backend=self.backend)

    def log(self, msg):
        if self.rank == 0:
            print(msg, flush=True)

    def all_sum(self, t):
        if self.world > 1:
            dist.all_reduce(t)
        return t

    def gather(self, obj):
        if self.world == 1:
            return [obj]
        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def barrier(self):
        if self.world > 1:
            dist.barrier()

    def close(self):
        """End the run once every collective is done (after a barrier) and the outputs are written.

        On gloo this ends the process without running destructors: PyTorch's ProcessGroupGloo destructor
        (reached through destroy_process_group or DDP's reducer) joins its worker threads while holding the
        GIL, and a worker dropping the last reference to a tensor that has a Python object waits for the GIL,
        so the exit deadlocks now and then (pytorch/pytorch#56297; the destructor releases the GIL since
        pytorch/pytorch#154976, 2025). Seen here with Debian's PyTorch 1.13: one rank exited, the other hung
        in ~ProcessGroupGloo, and torchrun waited for ever.
        """
        if self.world == 1:
            return
        if self.backend == "gloo":
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        dist.destroy_process_group()


def amp_setup(mode, device):
    """(autocast context factory, gradient scaler or None, description)."""
    if device.type != "cuda" or mode == "off":
        return contextlib.nullcontext, None, "off"
    if mode == "auto":
        mode = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    dtype = torch.bfloat16 if mode == "bf16" else torch.float16
    scaler = None
    if mode == "fp16":
        scaler = torch.amp.GradScaler("cuda") if hasattr(torch.amp, "GradScaler") else torch.cuda.amp.GradScaler()
    return (lambda: torch.autocast(device_type="cuda", dtype=dtype)), scaler, mode


def save_checkpoint(path, model, opt, scaler, state, args):
    """The run's state as safetensors (no pickle: loading it runs no code): the weights, the best epoch's
    weights, Adam's moments, and as JSON metadata the epoch counters, history, scaler and arguments."""
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"best/{k}": v for k, v in (state["best_state"] or {}).items()})
    osd = opt.state_dict()
    plain = {}
    for idx, st in osd["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"optim/{idx}/{k}"] = v
            else:
                plain.setdefault(str(idx), {})[k] = v
    meta = {k: v for k, v in state.items() if k != "best_state"}
    md = {
        "format": "papscope-torch-checkpoint-v1",
        "state": json.dumps(meta),
        "optimizer": json.dumps({"param_groups": osd["param_groups"], "plain": plain}),
        "scaler": json.dumps(scaler.state_dict() if scaler else None),
        "args": json.dumps({k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool))}),
    }
    safetensors_io.save(path, tensors, md)


def load_checkpoint(path, model, opt, scaler, device):
    """Restore what save_checkpoint saved; returns the run's state."""
    tensors, md = safetensors_io.load(path)
    if md.get("format") != "papscope-torch-checkpoint-v1":
        raise SystemExit(f"train.py: {path} is not a train.py checkpoint")
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model/")})
    o = json.loads(md["optimizer"])
    st = {}
    for k, v in tensors.items():
        if k.startswith("optim/"):
            _, idx, key = k.split("/", 2)
            st.setdefault(int(idx), {})[key] = v.to(device)
    for idx, kv in o["plain"].items():
        st.setdefault(int(idx), {}).update(kv)
    opt.load_state_dict({"state": st, "param_groups": o["param_groups"]})
    sc = json.loads(md["scaler"])
    if scaler is not None and sc:
        scaler.load_state_dict(sc)
    state = json.loads(md["state"])
    best = {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("best/")}
    state["best_state"] = best or None
    return state


def batchnorms(model):
    return [m for m in model.modules() if isinstance(m, KerasBatchNorm2d)]


@torch.no_grad()
def recalibrate(model, dataset, indices, per_batch, ctx, dist_):
    """Set every BN's moving statistics to its input's population mean and variance over the images
    (papscope's Net.Recalibrate): each process runs its share in training mode, chunk by chunk, and the
    chunks' statistics are combined exactly over all processes. Images past the last whole chunk are left out."""
    bns = batchnorms(model)
    for bn in bns:
        bn.collect = []
    mine = indices[dist_.rank :: dist_.world]
    mine = mine[: len(mine) // per_batch * per_batch] or mine
    model.train()
    try:
        for k in range(0, len(mine), per_batch):
            x = torch.stack([dataset[i][0] for i in mine[k : k + per_batch]]).to(dist_.device)
            with ctx():
                model(x)
        for bn in bns:
            s = torch.zeros(2 * bn.num_features + 1, dtype=torch.float64, device=dist_.device)
            for mean, var in bn.collect:
                s[: bn.num_features] += mean.double()
                s[bn.num_features : -1] += (var + mean * mean).double()
                s[-1] += 1
            dist_.all_sum(s)
            mean = s[: bn.num_features] / s[-1]
            bn.running_mean.copy_(mean)
            bn.running_var.copy_((s[bn.num_features : -1] / s[-1] - mean * mean).clamp_(min=0))
    finally:
        for bn in bns:
            bn.collect = None


@torch.no_grad()
def predict(model, dataset, indices, per_batch, ctx, dist_):
    """Softmax probabilities and labels of the images, in order, gathered from every process."""
    model.eval()
    mine = list(enumerate(indices))[dist_.rank :: dist_.world]
    rows = []
    for k in range(0, len(mine), per_batch):
        chunk = mine[k : k + per_batch]
        x = torch.stack([dataset[i][0] for _, i in chunk]).to(dist_.device)
        with ctx():
            logits = model(x).float()
        probs = torch.softmax(logits.double(), dim=1).cpu().tolist()
        rows += [(pos, p, dataset.items[i][1]) for (pos, i), p in zip(chunk, probs)]
    rows = sorted(r for part in dist_.gather(rows) for r in part)
    return [r[1] for r in rows], [r[2] for r in rows]


def evaluate(probs, labels):
    """Validation figures papscope train records: mean unweighted CE, accuracy, balanced accuracy."""
    if not labels:
        return {"val_n": 0, "val_loss": 0.0, "val_accuracy": 0.0, "val_balanced_accuracy": 0.0}
    m = data.metrics(probs, labels)
    return {"val_n": len(labels), "val_loss": m["log_loss"], "val_accuracy": m["accuracy"], "val_balanced_accuracy": m["balanced_accuracy"] or 0.0}


def main(argv=None):
    args = parse_args(argv)
    d = Dist()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    ctx, scaler, amp = amp_setup(args.amp, d.device)
    if args.batch % d.world:
        raise SystemExit(f"train.py: --batch {args.batch} is not divisible among {d.world} processes")
    per = args.batch // d.world

    items = data.scan(args.data)
    groups_csv = args.groups or (os.path.join(args.data, "manifest.csv") if os.path.exists(os.path.join(args.data, "manifest.csv")) else "")
    if groups_csv:
        groups, column = data.read_groups(groups_csv)
        item_groups = data.assign_groups(items, groups)
        grouping = f"stratified, grouped by {column} from {groups_csv}"
    else:
        item_groups = [rel for rel, _ in items]
        grouping = "stratified by class, by image (no slide CSV: give --groups or DATA/manifest.csv)"
        d.log(f"train.py: warning: {args.data} has no manifest.csv and no --groups was given: the split is by image, not by slide")
    tr, va, te = data.split_by_group(items, item_groups, args.fractions, args.seed)
    labels = [c for _, c in items]
    counts = ", ".join(f"{n} {sum(1 for y in labels if y == c)}" for c, n in enumerate(CLASSES))
    cw = data.class_weights([labels[i] for i in tr])
    slides = {name: sorted({item_groups[i] for i in idx}) for name, idx in (("train", tr), ("validation", va), ("test", te))}
    d.log(f"data {args.data}: {len(items)} images ({counts}); train {len(tr)}, validation {len(va)}, test {len(te)} ({grouping}, seed {args.seed})")
    d.log(f"every class alike: {f'JPEG quality {args.jpeg_quality}' if args.jpeg_quality else 'files as they are'}, "
          f"{f'centre {args.crop:g} of each side' if 0 < args.crop < 1 else 'whole image'}")
    if len(tr) < args.batch:
        raise SystemExit(f"train.py: {len(tr)} training images, fewer than one batch of {args.batch}")

    train_items = [items[i] for i in tr]
    train_set = data.ImageSet(args.data, train_items, args.hw, train=not args.no_augment, seed=args.seed, jpeg_quality=args.jpeg_quality, crop=args.crop)
    plain = data.ImageSet(args.data, items, args.hw, jpeg_quality=args.jpeg_quality, crop=args.crop)
    sampler = torch.utils.data.distributed.DistributedSampler(train_set, num_replicas=d.world, rank=d.rank, shuffle=True, seed=args.seed, drop_last=True)
    loader = torch.utils.data.DataLoader(train_set, batch_size=per, sampler=sampler, drop_last=True, num_workers=args.workers,
                                         persistent_workers=args.workers > 0, pin_memory=d.device.type == "cuda")
    steps = len(loader) if not args.steps_per_epoch else min(len(loader), args.steps_per_epoch)
    calib = sorted(random.Random(args.seed ^ 0x5EED).sample(tr, min(args.recalibrate, len(tr)))) if args.recalibrate else []

    model = PapscopeNet().to(d.device)
    if d.device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-7)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.safetensors")
    state = {"epoch": 0, "history": [], "best_epoch": 0, "best_balanced": -1.0, "best_loss": math.inf, "stale": 0, "best_state": None}
    if args.resume:
        state = load_checkpoint(ckpt_path, model, opt, scaler, d.device)
        d.log(f"resumed from {ckpt_path} after epoch {state['epoch']}")
    else:
        for bn in batchnorms(model):
            bn.warm_start = True
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[d.local_rank] if d.device.type == "cuda" else None) if d.world > 1 else model
    weights = torch.tensor(cw, dtype=torch.float32, device=d.device)
    d.log(f"training at {args.hw[1]}x{args.hw[0]}, batch {args.batch} over {d.world} process{'es' if d.world > 1 else ''} ({d.backend}, {d.device.type}, AMP {amp}), "
          f"Adam lr {args.lr}, up to {args.epochs} epochs, {steps} steps each, class weights {[round(w, 4) for w in cw]} (checkpoint {ckpt_path})")

    for epoch in range(state["epoch"] + 1, args.epochs + 1):
        sampler.set_epoch(epoch)
        train_set.epoch = epoch
        ddp.train()
        t0, seen, loss_sum, correct = time.time(), 0, 0.0, 0
        for step, (x, y) in enumerate(loader, 1):
            if step > steps:
                break
            x, y = x.to(d.device, non_blocking=True), y.to(d.device, non_blocking=True)
            if d.device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            with ctx():
                logits = ddp(x)
            ce = F.cross_entropy(logits.float(), y, reduction="none")
            loss = (weights[y] * ce).sum() / y.shape[0]  # Keras class_weight reduction; DDP averages over processes
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            stats = d.all_sum(torch.tensor([loss.item() * y.shape[0], (logits.argmax(1) == y).sum().item(), y.shape[0]], dtype=torch.float64))
            loss_sum, correct, seen = loss_sum + stats[0].item(), correct + int(stats[1].item()), seen + int(stats[2].item())
            d.log(f"epoch {epoch}/{args.epochs} step {step}/{steps} loss {stats[0].item() / stats[2].item():.4f}")
        train_s = time.time() - t0
        if calib:
            recalibrate(model, plain, calib, per, ctx, d)
        probs, vlabels = predict(model, plain, va, per, ctx, d)
        ev = evaluate(probs, vlabels)
        e = {"epoch": epoch, "loss": loss_sum / max(seen, 1), "accuracy": correct / max(seen, 1), **ev,
             "images_per_second": seen / train_s if train_s > 0 else 0.0, "seconds": time.time() - t0, "best": False}
        better = state["best_epoch"] == 0 or ev["val_balanced_accuracy"] > state["best_balanced"] or (
            ev["val_balanced_accuracy"] == state["best_balanced"] and ev["val_loss"] < state["best_loss"] - MIN_LOSS_IMPROVEMENT)
        if better:
            e["best"] = True
            state.update(best_epoch=epoch, best_balanced=ev["val_balanced_accuracy"], best_loss=ev["val_loss"], stale=0,
                         best_state={k: v.detach().clone() for k, v in model.state_dict().items()})
        else:
            state["stale"] += 1
        state["history"].append(e)
        state["epoch"] = epoch
        d.log(f"epoch {epoch}/{args.epochs}  loss {e['loss']:.4f} acc {100 * e['accuracy']:5.1f}%  val loss {ev['val_loss']:.4f} "
              f"acc {100 * ev['val_accuracy']:5.1f}% bal {100 * ev['val_balanced_accuracy']:5.1f}%  {e['images_per_second']:.1f} img/s{'  *best*' if better else ''}")
        if d.rank == 0:
            save_checkpoint(ckpt_path, model, opt, scaler, state, args)
        d.barrier()
        if args.patience and state["stale"] >= args.patience:
            d.log(f"stopping: {args.patience} epochs without a better validation score")
            break

    model.load_state_dict(state["best_state"])
    probs, tlabels = predict(model, plain, te, per, ctx, d)
    if d.rank == 0:
        write_outputs(args, d, amp, model, state, probs, tlabels, items, tr, va, te, counts, grouping, slides, cw)
    d.barrier()
    d.close()


def write_outputs(args, d, amp, model, state, probs, tlabels, items, tr, va, te, counts, grouping, slides, cw):
    """model.safetensors (state_dict) and papscope.safetensors, both with papscope train's kinds of metadata."""
    h, w = args.hw
    augmentation = "no augmentation" if args.no_augment else "augmented with flips, quarter turns and brightness/contrast/colour jitter"
    treatment = []
    if args.jpeg_quality:
        treatment.append(f"every image re-encoded as JPEG quality {args.jpeg_quality}")
    if 0 < args.crop < 1:
        treatment.append(f"the centre {args.crop:g} of each side kept (recorded as crop: inference crops alike)")
    shortcut = ", ".join(treatment) + ", all classes alike" if treatment else "none"
    training_data = (f"{args.data}: {len(items)} images ({counts}); split train {len(tr)} / validation {len(va)} / test {len(te)}, "
                     f"{grouping}, seed {args.seed}; trained {len(state['history'])} epochs at {w}x{h}, batch {args.batch}, Adam lr {args.lr}, "
                     f"{augmentation}; best epoch {state['best_epoch']} by validation balanced accuracy")
    extra = {
        "training_history": json.dumps(state["history"]),
        "split": json.dumps({"by": grouping, "fractions": list(args.fractions), "seed": args.seed, "class_weights": cw,
                             "validation_groups": slides["validation"], "test_groups": slides["test"], "train_groups": len(slides["train"])}),
        "shortcut_treatment": shortcut,
    }
    if args.jpeg_quality:
        extra["jpeg_quality"] = str(args.jpeg_quality)  # shortcut.JPEGQualityKey, as papscope train records it
    metrics = None
    if tlabels:
        metrics = data.metrics(probs, tlabels)
        bal = "n/a" if metrics["balanced_accuracy"] is None else f"{metrics['balanced_accuracy']:.4f}"
        d.log(f"held-out test split ({len(tlabels)} images, groups {', '.join(slides['test'])}): accuracy {metrics['accuracy']:.4f}, balanced {bal}")
    else:
        d.log("train.py: warning: the test split is empty: no held-out metrics in the weights")
    source = (f"papscope torch/train.py (PyTorch {torch.__version__}, {f'DistributedDataParallel over {d.world} processes' if d.world > 1 else 'one process'}, "
              f"{d.backend} on {d.device.type}, AMP {amp})")
    md = convert.papscope_metadata(args.hw, training_data=training_data, source=source, metrics=metrics, extra=extra, crop=args.crop)
    convert.save_papscope(os.path.join(args.out, "papscope.safetensors"), model, md)
    sd_md = dict(md, format="pt")
    safetensors_io.save(os.path.join(args.out, "model.safetensors"), {k: v.detach().cpu() for k, v in model.state_dict().items()}, sd_md)
    d.log(f"wrote {os.path.join(args.out, 'model.safetensors')} (state_dict) and {os.path.join(args.out, 'papscope.safetensors')} "
          f"(papscope weights, input {w}x{h}, best epoch {state['best_epoch']})")


if __name__ == "__main__":
    main()
