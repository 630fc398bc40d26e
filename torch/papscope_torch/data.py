"""papscope's data conventions in PyTorch: class folders, slides from manifest.csv, a split by slide, papscope's preprocessing.

Layout (as `papscope train` reads it): DIR/HSIL, DIR/LSIL, DIR/NILM, DIR/SCC
with .jpg/.jpeg/.png/.bmp/.tif/.tiff images; slides come from DIR/manifest.csv
(columns file, slide; ../shared/data/lbc has one) or from a groups CSV
(file and a slide/patient/group column). Without either, each image is its
own group and the split is by image, which the metadata then says.
"""

import csv
import io
import math
import os
import random

import torch

from .model import CLASSES

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
GROUP_COLUMNS = ("slide", "patient", "group", "case")


def scan(root):
    """Every image under root's class folders: list of (relative path with '/', class index), sorted."""
    items = []
    for c, name in enumerate(CLASSES):
        d = os.path.join(root, name)
        if not os.path.isdir(d):
            continue
        for dirpath, _, files in os.walk(d):
            for f in files:
                if f.lower().endswith(EXTENSIONS) and not f.startswith("."):
                    rel = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
                    items.append((rel, c))
    if not items:
        raise ValueError(f"{root}: no images in class folders {', '.join(CLASSES)}")
    return sorted(items)


def read_groups(path):
    """A CSV of file -> group (column file, and slide, patient, group or case): dict of relative path -> group id."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: no rows")
    cols = {c.lower(): c for c in rows[0]}
    if "file" not in cols:
        raise ValueError(f"{path}: no 'file' column (columns: {', '.join(rows[0])})")
    col = next((cols[c] for c in GROUP_COLUMNS if c in cols), None)
    if col is None:
        raise ValueError(f"{path}: no slide column (one of {', '.join(GROUP_COLUMNS)})")
    return {r[cols["file"]].replace("\\", "/"): r[col] for r in rows}, col


def assign_groups(items, groups):
    """The group of each item; a file the CSV does not list is an error naming it."""
    out = []
    for rel, c in items:
        g = groups.get(rel)
        if g is None:
            raise ValueError(f"{rel} is not in the slide CSV: every image needs its slide so no slide straddles two splits")
        out.append(g)
    return out


def split_by_group(items, item_groups, fractions=(0.7, 0.15, 0.15), seed=1):
    """Split item indices into (train, val, test), whole groups at a time, stratified by class.

    Per class, its groups are shuffled (seeded) and dealt out so that validation
    and test each get round(fraction * groups) of them, at least one when the
    class has three groups or more; a group that holds several classes goes
    where its majority class puts it.
    """
    by_group = {}
    for i, (rel, c) in enumerate(items):
        by_group.setdefault(item_groups[i], []).append(i)
    majority = {}
    for g, idx in by_group.items():
        counts = [0] * len(CLASSES)
        for i in idx:
            counts[items[i][1]] += 1
        majority[g] = max(range(len(CLASSES)), key=lambda c: (counts[c], -c))
    rng = random.Random(seed)
    where = {}
    for c in range(len(CLASSES)):
        gs = sorted(g for g in by_group if majority[g] == c)
        rng.shuffle(gs)
        n = len(gs)
        n_test = max(1, round(fractions[2] * n)) if n >= 3 and fractions[2] > 0 else 0
        n_val = max(1, round(fractions[1] * n)) if n >= 3 and fractions[1] > 0 else 0
        for k, g in enumerate(gs):
            where[g] = 2 if k < n_test else 1 if k < n_test + n_val else 0
    splits = ([], [], [])
    for g, idx in by_group.items():
        splits[where[g]].extend(idx)
    return tuple(sorted(s) for s in splits)


def class_weights(labels):
    """Inverse class frequency, normalised to mean 1 over the classes present (papscope train's class weights)."""
    counts = [0] * len(CLASSES)
    for y in labels:
        counts[y] += 1
    w = [1.0 / k if k else 0.0 for k in counts]
    present = sum(1 for k in counts if k)
    s = sum(w)
    return [x * present / s for x in w]


def crop_box(width, height, crop):
    """The centred box (left, top, right, bottom) that preprocessing keeps at crop (nn.CropRect):
    round(crop·side) pixels on each axis (halves away from zero, as Go's math.Round), at least one,
    offset by half the rest rounded down. Crop 0 or 1 keeps the whole image."""
    if crop <= 0 or crop >= 1:
        return (0, 0, width, height)

    def keep(side):
        x = side * crop
        return max(1, int(math.floor(x)) + (1 if x - math.floor(x) >= 0.5 else 0))

    w, h = keep(width), keep(height)
    x0, y0 = (width - w) // 2, (height - h) // 2
    return (x0, y0, x0 + w, y0 + h)


def load_image(path, hw, jpeg_quality=0, crop=0):
    """papscope's preprocessing: RGB in [0,1], alpha composited on white, the image (its centred crop share of
    each side when crop is in (0, 1), as weights with metadata crop ask) resized to hw=(H, W) with an antialiased
    triangle filter (Pillow's bilinear, in float32 per channel). Returns a float32 tensor [3, H, W].

    jpeg_quality > 0 first re-encodes the image as a JPEG at that quality (the same for every class).
    """
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        if jpeg_quality:
            buf = io.BytesIO()
            im.convert("RGB").save(buf, format="JPEG", quality=int(jpeg_quality))
            buf.seek(0)
            im = Image.open(buf)
            im.load()
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, rgba)
        im = im.convert("RGB")
        if not 0 <= crop <= 1:
            raise ValueError(f"crop {crop}: want the share of each side kept, in (0, 1], or 0 for the whole image")
        box = crop_box(im.width, im.height, crop)
        if box != (0, 0, im.width, im.height):
            im = im.crop(box)
        h, w = hw
        planes = []
        for band in im.split():
            f = band.convert("F")
            if f.size != (w, h):
                f = f.resize((w, h), Image.BILINEAR)
            planes.append(torch.frombuffer(bytearray(f.tobytes()), dtype=torch.float32).reshape(h, w))
    return torch.stack(planes) / 255.0


def augment(x, generator):
    """papscope train's default augmentation of a [3, H, W] image: random flips, quarter turns (half turns when not square),
    brightness ±0.05, contrast 1±0.1 about the image mean, per-channel gain 1±0.05."""

    def u(amp):
        return (torch.rand((), generator=generator).item() * 2 - 1) * amp

    if torch.rand((), generator=generator).item() < 0.5:
        x = x.flip(2)
    if torch.rand((), generator=generator).item() < 0.5:
        x = x.flip(1)
    turns = int(torch.randint(4, (), generator=generator).item())
    if x.shape[1] != x.shape[2]:
        turns = 2 * (turns % 2)
    if turns:
        x = torch.rot90(x, turns, (1, 2))
    b, c = u(0.05), 1 + u(0.1)
    gain = torch.tensor([1 + u(0.05) for _ in range(3)]).view(3, 1, 1)
    x = (x - x.mean()) * c + x.mean() + b
    return (x * gain).clamp_(0, 1)


class ImageSet(torch.utils.data.Dataset):
    """Images of a dataset folder at one input size: (tensor [3, H, W], class index)."""

    def __init__(self, root, items, hw, train=False, seed=1, jpeg_quality=0, crop=0):
        self.root, self.items, self.hw, self.train, self.seed, self.jpeg_quality, self.crop = root, items, hw, train, seed, jpeg_quality, crop
        self.epoch = 0

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        rel, c = self.items[i]
        x = load_image(os.path.join(self.root, rel), self.hw, self.jpeg_quality, self.crop)
        if self.train:
            g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) * 1_000_033 + i)
            x = augment(x, g)
        return x, c


def metrics(probs, labels):
    """Held-out metrics with the keys papscope's metrics.Report writes (per_class by name, confusion rows = true)."""
    n, k = len(labels), len(CLASSES)
    pred = [max(range(k), key=lambda j: p[j]) for p in probs]
    conf = [[0] * k for _ in range(k)]
    for y, p in zip(labels, pred):
        conf[y][p] += 1
    per, recalls, f1s, aucs = {}, [], [], []
    for c in range(k):
        tp = conf[c][c]
        support = sum(conf[c])
        predicted = sum(conf[r][c] for r in range(k))
        prec = tp / predicted if predicted else float("nan")
        rec = tp / support if support else float("nan")
        f1 = 2 * prec * rec / (prec + rec) if predicted and support and prec + rec > 0 else (0.0 if support else float("nan"))
        auc = _auc([p[c] for p in probs], [y == c for y in labels])
        per[CLASSES[c]] = {"precision": _num(prec), "recall": _num(rec), "f1": _num(f1), "auc": _num(auc), "support": support}
        if support:
            recalls.append(rec)
            f1s.append(f1)
        if not math.isnan(auc):
            aucs.append(auc)
    ece, bins = 0.0, 15
    for b in range(bins):
        sel = [(max(p), pr == y) for p, pr, y in zip(probs, pred, labels) if min(max(math.ceil(max(p) * bins) - 1, 0), bins - 1) == b]
        if sel:
            ece += len(sel) / n * abs(sum(s[0] for s in sel) / len(sel) - sum(s[1] for s in sel) / len(sel))
    logloss = -sum(math.log(max(p[y], 1e-15)) for p, y in zip(probs, labels)) / n if n else float("nan")
    return {
        "n": n,
        "classes": list(CLASSES),
        "accuracy": _num(sum(p == y for p, y in zip(pred, labels)) / n if n else float("nan")),
        "balanced_accuracy": _num(sum(recalls) / len(recalls) if recalls else float("nan")),
        "macro_f1": _num(sum(f1s) / len(f1s) if f1s else float("nan")),
        "macro_auc": _num(sum(aucs) / len(aucs) if aucs else float("nan")),
        "ece": _num(ece),
        "log_loss": _num(logloss),
        "per_class": per,
        "confusion": conf,
        "confusion_axes": {"rows": "true", "columns": "predicted"},
        "ood_auroc": None,
        "ood": None,
    }


def _num(x):
    return None if x is None or math.isnan(x) else x


def _auc(scores, positive):
    """One-vs-rest ROC AUC by the rank statistic (ties count half); NaN without both classes."""
    pos = [s for s, t in zip(scores, positive) if t]
    neg = [s for s, t in zip(scores, positive) if not t]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))
