#!/usr/bin/env python3
"""Trains the demo models from scratch on scenes written by scripts/demo/export-scenes.ts, and exports them as ONNX.

A development tool (README "Demo"), never needed at run time. Needs PyTorch (Debian's python3-torch 1.13 on CPU is
enough) and python3-onnx; a CUDA device is used when there is one.

  python3 scripts/demo/train.py segment  <data> <work> [--steps N]   # YOLOv8-seg; also gives the detector
  python3 scripts/demo/train.py classify <data> <work> [--steps N]   # YOLOv8-cls
  python3 scripts/demo/train.py export   <work> <out>                # ONNX files + their training record

The network keeps YOLOv8's structure (Conv-BN-SiLU, C2f, SPPF, PAN neck, decoupled head with DFL box
regression, Proto for masks, the Classify head) with its own width and depth multipliers, and the loss is
YOLOv8's (task-aligned assignment, BCE classes, CIoU + DFL boxes, per-instance BCE masks cropped to boxes).
The detector is the segmentation model without its mask branch: one YOLOv8-seg network is a YOLOv8 detector
plus prototypes and mask coefficients, so one training run makes both. Checkpoints are written every
--checkpoint-every steps into <work>; rerunning the same command resumes from the last one.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REG_MAX = 16
STRIDES = (8, 16, 32)
MASKS = 32
# YOLOv8 loss gains (Ultralytics defaults: box 7.5, cls 0.5, dfl 1.5; masks weighted as boxes). The class gain is a
# setting (--cls-gain): at 0.5 the detector put a second box of another class on shapes it had found (README "Demo").
GAIN_BOX, GAIN_DFL, GAIN_MASK = 7.5, 1.5, 7.5


# ---------------------------------------------------------------- network (YOLOv8's modules)

class Conv(nn.Module):
    """Conv2d, BatchNorm, SiLU."""

    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut):
        super().__init__()
        self.cv1, self.cv2, self.add = Conv(c, c, 3), Conv(c, c, 3), shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n, shortcut):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c)
        self.cv2 = Conv((2 + n) * self.c, c2)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).split((self.c, self.c), 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2):
        super().__init__()
        c = c1 // 2
        self.cv1, self.cv2, self.m = Conv(c1, c), Conv(4 * c, c2), nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.m(y[-1]))
        return self.cv2(torch.cat(y, 1))


def channels(width):
    return [max(8, int(c * width)) for c in (64, 128, 256, 512, 1024)]


def depths(depth):
    return [max(round(n * depth), 1) for n in (3, 6, 6, 3)]


class Backbone(nn.Module):
    """YOLOv8 layers 0-8: stem, then four stages of a stride-2 Conv and a C2f."""

    def __init__(self, width, depth):
        super().__init__()
        c, d = channels(width), depths(depth)
        self.stem = Conv(3, c[0], 3, 2)
        self.stages = nn.ModuleList(
            nn.Sequential(Conv(c[i], c[i + 1], 3, 2), C2f(c[i + 1], c[i + 1], d[i], True)) for i in range(4))

    def forward(self, x):
        x = self.stem(x)
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out  # P2, P3, P4, P5


class SegmentationModel(nn.Module):
    """YOLOv8-seg: backbone, SPPF, PAN neck, Detect head (boxes by DFL, classes) plus Proto and mask coefficients."""

    def __init__(self, num_classes, width, depth):
        super().__init__()
        c, d = channels(width), depths(depth)
        self.num_classes = num_classes
        self.backbone = Backbone(width, depth)
        self.sppf = SPPF(c[4], c[4])
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.top_down4 = C2f(c[4] + c[3], c[3], d[3], False)
        self.top_down3 = C2f(c[3] + c[2], c[2], d[3], False)
        self.down3 = Conv(c[2], c[2], 3, 2)
        self.bottom_up4 = C2f(c[2] + c[3], c[3], d[3], False)
        self.down4 = Conv(c[3], c[3], 3, 2)
        self.bottom_up5 = C2f(c[3] + c[4], c[4], d[3], False)
        levels = (c[2], c[3], c[4])
        # Ultralytics' head widths, except the box branch: max(16, c3 / 4, 64) would make it the costliest layer of a
        # model this narrow, so it takes max(16, c3 / 4, 32).
        c_box, c_cls, c_mask = max(16, c[2] // 4, 32), max(c[2], num_classes), max(c[2] // 4, MASKS)
        self.box = nn.ModuleList(nn.Sequential(Conv(x, c_box, 3), Conv(c_box, c_box, 3), nn.Conv2d(c_box, 4 * REG_MAX, 1)) for x in levels)
        self.cls = nn.ModuleList(nn.Sequential(Conv(x, c_cls, 3), Conv(c_cls, c_cls, 3), nn.Conv2d(c_cls, num_classes, 1)) for x in levels)
        self.coef = nn.ModuleList(nn.Sequential(Conv(x, c_mask, 3), Conv(c_mask, c_mask, 3), nn.Conv2d(c_mask, MASKS, 1)) for x in levels)
        hidden = c[2] // 2  # Ultralytics: 256 x width; half of that here, for the same reason.
        self.proto = nn.Sequential(Conv(c[2], hidden, 3), nn.ConvTranspose2d(hidden, hidden, 2, 2, 0, bias=True), Conv(hidden, hidden, 3), Conv(hidden, MASKS))

    def init_biases(self, input_size):
        # Ultralytics' Detect.bias_init: boxes start at 1, classes at about 5 objects per image.
        for box, cls, stride in zip(self.box, self.cls, STRIDES):
            box[-1].bias.data[:] = 1.0
            cls[-1].bias.data[:] = math.log(5 / self.num_classes / (input_size / stride) ** 2)

    def forward(self, x):
        _, p3, p4, p5 = self.backbone(x)
        p5 = self.sppf(p5)
        t4 = self.top_down4(torch.cat([self.up(p5), p4], 1))
        o3 = self.top_down3(torch.cat([self.up(t4), p3], 1))
        o4 = self.bottom_up4(torch.cat([self.down3(o3), t4], 1))
        o5 = self.bottom_up5(torch.cat([self.down4(o4), p5], 1))
        feats = (o3, o4, o5)
        flat = lambda heads: torch.cat([h(f).flatten(2) for h, f in zip(heads, feats)], 2)
        # Per anchor (levels P3, P4, P5 in order, rows then columns): DFL logits, class logits, mask coefficients.
        return flat(self.box), flat(self.cls), flat(self.coef), self.proto(o3)


class ClassificationModel(nn.Module):
    """YOLOv8-cls: backbone, then Classify (1x1 Conv, global average pool, Linear)."""

    def __init__(self, num_classes, width, depth, hidden):
        super().__init__()
        self.backbone = Backbone(width, depth)
        self.conv = Conv(channels(width)[4], hidden)
        self.linear = nn.Linear(hidden, num_classes)

    def forward(self, x):
        return self.linear(self.conv(self.backbone(x)[-1]).mean((2, 3)))


# ---------------------------------------------------------------- YOLOv8 loss

def anchor_grid(input_size, device):
    points, strides = [], []
    for s in STRIDES:
        n = input_size // s
        ys, xs = torch.meshgrid(torch.arange(n, device=device) + 0.5, torch.arange(n, device=device) + 0.5, indexing="ij")
        points.append(torch.stack([xs.flatten(), ys.flatten()], 1))
        strides.append(torch.full((n * n, 1), float(s), device=device))
    return torch.cat(points), torch.cat(strides)


def dfl_expectation(dist):
    """(..., 4 * REG_MAX) logits -> (..., 4) distances: the expectation of each side's softmax over bins 0..15."""
    bins = torch.arange(REG_MAX, dtype=dist.dtype, device=dist.device)
    return (dist.view(*dist.shape[:-1], 4, REG_MAX).softmax(-1) * bins).sum(-1)


def ciou(a, b, eps=1e-7):
    """Complete IoU of xyxy boxes, broadcast."""
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = a.unbind(-1), b.unbind(-1)
    w1, h1, w2, h2 = ax2 - ax1, ay2 - ay1 + eps, bx2 - bx1, by2 - by1 + eps
    inter = (torch.min(ax2, bx2) - torch.max(ax1, bx1)).clamp(0) * (torch.min(ay2, by2) - torch.max(ay1, by1)).clamp(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw, ch = torch.max(ax2, bx2) - torch.min(ax1, bx1), torch.max(ay2, by2) - torch.min(ay1, by1)
    c2 = cw ** 2 + ch ** 2 + eps
    rho2 = ((bx1 + bx2 - ax1 - ax2) ** 2 + (by1 + by2 - ay1 - ay2) ** 2) / 4
    v = (4 / math.pi ** 2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


@torch.no_grad()
def assign(scores, boxes, points, gt_labels, gt_boxes, gt_valid, topk=10, alpha=0.5, beta=6.0, eps=1e-9):
    """YOLOv8's task-aligned assigner. scores (b,A,C) probabilities, boxes (b,A,4) and gt_boxes (b,n,4) xyxy pixels, points (A,2) pixels.
    Returns target boxes (b,A,4), target scores (b,A,C), foreground mask (b,A) and the gt index of each anchor (b,A)."""
    b, a, c = scores.shape
    n = gt_boxes.shape[1]
    if n == 0:
        return torch.zeros_like(boxes), torch.zeros_like(scores), torch.zeros(b, a, dtype=torch.bool, device=scores.device), torch.zeros(b, a, dtype=torch.long, device=scores.device)
    lt = points[None, None] - gt_boxes[:, :, None, :2]
    rb = gt_boxes[:, :, None, 2:] - points[None, None]
    inside = torch.cat([lt, rb], -1).amin(-1).gt(eps) & gt_valid[:, :, None]  # b,n,A
    labels = gt_labels.clamp(0)
    class_scores = scores.gather(2, labels[:, None, :].expand(b, a, n)).permute(0, 2, 1)  # b,n,A
    overlaps = ciou(gt_boxes[:, :, None, :], boxes[:, None, :, :]).clamp(0) * inside
    align = class_scores.pow(alpha) * overlaps.pow(beta) * inside
    top = torch.zeros_like(align).scatter_(-1, align.topk(min(topk, a), dim=-1).indices, 1.0)
    positive = top * inside  # b,n,A
    # An anchor claimed by several objects goes to the one it overlaps most.
    claimed = positive.sum(1)
    if (claimed > 1).any():
        best = torch.zeros_like(positive).scatter_(1, overlaps.argmax(1, keepdim=True), 1.0)
        positive = torch.where((claimed > 1)[:, None, :], best, positive)
    foreground = positive.sum(1) > 0
    gt_index = positive.argmax(1)  # b,A
    flat = gt_index + torch.arange(b, device=scores.device)[:, None] * n
    target_labels = labels.flatten()[flat]
    target_boxes = gt_boxes.reshape(-1, 4)[flat]
    target_scores = F.one_hot(target_labels, c).float() * foreground[..., None]
    align = align * positive
    norm = (align * (overlaps * positive).amax(-1, keepdim=True) / (align.amax(-1, keepdim=True) + eps)).amax(1)  # b,A
    return target_boxes, target_scores * norm[..., None], foreground, gt_index


def crop_mask(masks, boxes):
    """Zeroes mask values outside each (x1, y1, x2, y2) box, in mask pixels."""
    _, h, w = masks.shape
    x1, y1, x2, y2 = boxes[:, :, None].unbind(1)
    cols = torch.arange(w, device=masks.device, dtype=boxes.dtype)[None, None, :]
    rows = torch.arange(h, device=masks.device, dtype=boxes.dtype)[None, :, None]
    return masks * ((cols >= x1[..., None]) * (cols < x2[..., None]) * (rows >= y1[..., None]) * (rows < y2[..., None]))


def segmentation_loss(model_out, batch, input_size, points, strides, cls_gain):
    box_logits, cls_logits, coefs, protos = model_out
    box_logits, cls_logits, coefs = box_logits.permute(0, 2, 1), cls_logits.permute(0, 2, 1), coefs.permute(0, 2, 1)
    gt_labels, gt_boxes, gt_valid, masks = batch["labels"], batch["boxes"], batch["valid"], batch["masks"]
    grid_points = points / strides
    distances = dfl_expectation(box_logits)  # b,A,4 in grid cells
    pred_boxes = torch.cat([grid_points - distances[..., :2], grid_points + distances[..., 2:]], -1)
    target_boxes, target_scores, fg, gt_index = assign(cls_logits.detach().sigmoid(), (pred_boxes.detach() * strides), points, gt_labels, gt_boxes, gt_valid)
    score_sum = target_scores.sum().clamp(min=1)
    loss_cls = F.binary_cross_entropy_with_logits(cls_logits, target_scores, reduction="sum") / score_sum
    loss_box = loss_dfl = loss_mask = torch.zeros((), device=box_logits.device)
    if fg.any():
        weight = target_scores.sum(-1)[fg][:, None]
        grid_targets = target_boxes / strides
        loss_box = ((1 - ciou(pred_boxes[fg], grid_targets[fg]))[:, None] * weight).sum() / score_sum
        gp = grid_points.expand_as(pred_boxes[..., :2])
        sides = torch.cat([gp - grid_targets[..., :2], grid_targets[..., 2:] - gp], -1)[fg].clamp(0, REG_MAX - 1 - 0.01)
        left = sides.long()
        weight_left = left + 1 - sides
        logits = box_logits[fg].view(-1, REG_MAX)
        dfl = (F.cross_entropy(logits, left.view(-1), reduction="none").view(left.shape) * weight_left
               + F.cross_entropy(logits, (left + 1).view(-1), reduction="none").view(left.shape) * (1 - weight_left)).mean(-1, keepdim=True)
        loss_dfl = (dfl * weight).sum() / score_sum
        mh, mw = protos.shape[2:]
        total = torch.zeros((), device=box_logits.device)
        for i in range(fg.shape[0]):
            if not fg[i].any():
                continue
            index = gt_index[i][fg[i]]
            gt_masks = (masks[i][None] == (index + 1)[:, None, None]).float()
            boxes = target_boxes[i][fg[i]]
            scaled = boxes * torch.tensor([mw / input_size, mh / input_size, mw / input_size, mh / input_size], device=boxes.device)
            area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / input_size ** 2).clamp(min=1e-6)
            predicted = (coefs[i][fg[i]] @ protos[i].view(MASKS, -1)).view(-1, mh, mw)
            bce = F.binary_cross_entropy_with_logits(predicted, gt_masks, reduction="none")
            total = total + (crop_mask(bce, scaled).mean((1, 2)) / area).sum()
        loss_mask = total / fg.sum()
    parts = {"box": GAIN_BOX * loss_box, "cls": cls_gain * loss_cls, "dfl": GAIN_DFL * loss_dfl, "mask": GAIN_MASK * loss_mask}
    return sum(parts.values()), {k: float(v) for k, v in parts.items()}


# ---------------------------------------------------------------- data

def dihedral(images, flips, axes):
    """Applies one of the 8 symmetries of the square to an (..., H, W) tensor: transpose, then flips."""
    if flips[0]:
        images = images.transpose(-1, -2)
    if flips[1]:
        images = images.flip(axes[0])
    if flips[2]:
        images = images.flip(axes[1])
    return images


def dihedral_boxes(boxes, flips, size):
    """The same symmetry for xyxy boxes in a size x size image."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    if flips[0]:
        x1, y1, x2, y2 = y1, x1, y2, x2
    if flips[1]:
        y1, y2 = size - y2, size - y1
    if flips[2]:
        x1, x2 = size - x2, size - x1
    return torch.stack([x1, y1, x2, y2], -1)


class DetectionData:
    def __init__(self, root):
        meta = json.load(open(os.path.join(root, "labels.json")))
        self.size, self.mask_size, self.scenes = meta["size"], meta["maskSize"], meta["scenes"]
        n = len(self.scenes)
        self.images = np.memmap(os.path.join(root, "images.u8"), np.uint8, "r", shape=(n, self.size, self.size, 3))
        self.masks = np.memmap(os.path.join(root, "masks.u8"), np.uint8, "r", shape=(n, self.mask_size, self.mask_size))

    def batch(self, indices, rng, device):
        """Images (b,3,S,S) in [0,1], padded labels and xyxy pixel boxes, owner masks; each scene under a random symmetry."""
        images, masks, labels, boxes = [], [], [], []
        for i in indices:
            flips = rng.integers(0, 2, 3).tolist()
            image = torch.from_numpy(np.array(self.images[i])).permute(2, 0, 1)
            images.append(dihedral(image, flips, (1, 2)))
            masks.append(dihedral(torch.from_numpy(np.array(self.masks[i])), flips, (0, 1)))
            instances = torch.tensor(self.scenes[i]["instances"], dtype=torch.float32).view(-1, 5)
            labels.append(instances[:, 0].long())
            boxes.append(dihedral_boxes(instances[:, 1:] * self.size, flips, self.size))
        n = max(1, max(len(l) for l in labels))
        gt_labels = torch.full((len(indices), n), -1, dtype=torch.long)
        gt_boxes = torch.zeros(len(indices), n, 4)
        for k, (l, b) in enumerate(zip(labels, boxes)):
            gt_labels[k, :len(l)] = l
            gt_boxes[k, :len(l)] = b
        return {
            "images": (torch.stack(images).float() / 255).to(device),
            "labels": gt_labels.to(device),
            "boxes": gt_boxes.to(device),
            "valid": (gt_labels >= 0).to(device),
            "masks": torch.stack(masks).long().to(device),
        }


class ClassificationData:
    def __init__(self, root):
        meta = json.load(open(os.path.join(root, "labels.json")))
        self.size, self.labels = meta["size"], torch.tensor(meta["classIds"])
        self.images = np.memmap(os.path.join(root, "images.u8"), np.uint8, "r", shape=(len(self.labels), self.size, self.size, 3))

    def batch(self, indices, rng, device):
        """Images normalised as the server does for YOLOv8-cls ((x / 255 - 0.5) / 0.5), each under a random symmetry."""
        images = [dihedral(torch.from_numpy(np.array(self.images[i])).permute(2, 0, 1), rng.integers(0, 2, 3).tolist(), (1, 2)) for i in indices]
        return {"images": ((torch.stack(images).float() / 255 - 0.5) / 0.5).to(device), "labels": self.labels[indices].to(device)}


# ---------------------------------------------------------------- training

class Ema:
    """Exponential moving average of the weights (as Ultralytics' ModelEMA), ramping up over the first steps."""

    def __init__(self, model):
        import copy
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model, step):
        decay = min(0.999, (1 + step) / (10 + step))
        for e, m in zip(self.model.state_dict().values(), model.state_dict().values()):
            if e.dtype.is_floating_point:
                e.mul_(decay).add_(m.detach(), alpha=1 - decay)
            else:
                e.copy_(m)


def learning_rate(step, base, warmup, cycle):
    """Linear warmup, then cosine cycles of `cycle` steps (warm restarts), each from half the previous one's peak down to 2% of it."""
    if step < warmup:
        return base * (step + 1) / warmup
    index, within = divmod(step, cycle)
    start = warmup if index == 0 else 0
    progress = (within - start) / max(1, cycle - start)
    return base * 0.5 ** index * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(task, data_dir, work, args):
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    os.makedirs(work, exist_ok=True)
    if task == "segment":
        data = DetectionData(os.path.join(data_dir, "detect"))
        model = SegmentationModel(5, args.width, args.depth)
        model.init_biases(data.size)
        points, strides = anchor_grid(data.size, device)
        points = points * strides
        count = len(data.scenes)
    else:
        data = ClassificationData(os.path.join(data_dir, "classify"))
        model = ClassificationModel(5, args.width, args.depth, args.hidden)
        count = len(data.labels)
    model.to(device)
    ema = Ema(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    checkpoint_path = os.path.join(work, f"{task}.pt")
    step, seconds, log = 0, 0.0, []
    if os.path.exists(checkpoint_path):
        state = torch.load(checkpoint_path, map_location=device)
        model.load_state_dict(state["model"])
        ema.model.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        step, seconds, log = state["step"], state["seconds"], state["log"]
        print(f"resuming {task} at step {step} ({seconds / 60:.1f} min trained)", flush=True)
    config = {"task": task, "width": args.width, "depth": args.depth, "hidden": args.hidden, "input_size": data.size, "batch": args.batch,
              "steps": args.steps, "cycle": args.cycle, "warmup": args.warmup, "lr": args.lr, "weight_decay": args.weight_decay, "seed": args.seed, "scenes": count}
    if task == "segment":
        config["cls_gain"] = args.cls_gain

    def save():
        state = {"model": model.state_dict(), "ema": ema.model.state_dict(), "optimizer": optimizer.state_dict(),
                 "step": step, "seconds": seconds, "log": log, "config": config}
        torch.save(state, checkpoint_path + ".tmp")
        os.replace(checkpoint_path + ".tmp", checkpoint_path)

    model.train()
    running = {}
    started = time.time()
    while step < args.steps:
        # The batch order is a function of the seed and the step, so a resumed run sees what an uninterrupted one would.
        rng = np.random.default_rng([args.seed, step])
        batch = data.batch(rng.integers(0, count, args.batch), rng, device)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args.lr, args.warmup, args.cycle)
        if task == "segment":
            loss, parts = segmentation_loss(model(batch["images"]), batch, data.size, points, strides, args.cls_gain)
        else:
            loss = F.cross_entropy(model(batch["images"]), batch["labels"], label_smoothing=0.05)
            parts = {"ce": float(loss)}
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        step += 1
        ema.update(model, step)
        for k, v in parts.items():
            running[k] = running.get(k, 0.0) + v
        if step % args.log_every == 0 or step == args.steps:
            now = time.time()
            seconds += now - started
            started = now
            mean = {k: round(v / args.log_every, 4) for k, v in running.items()}
            running = {}
            log.append({"step": step, "minutes": round(seconds / 60, 2), **mean})
            print(json.dumps(log[-1]), flush=True)
        if step % args.checkpoint_every == 0 or step == args.steps:
            save()
    print(f"{task}: {step} steps in {seconds / 60:.1f} min", flush=True)


# ---------------------------------------------------------------- export

def fuse(module):
    """Folds every BatchNorm into the convolution before it, as Ultralytics' export does."""
    for child in module.modules():
        if isinstance(child, Conv) and not isinstance(child.bn, nn.Identity):
            conv, bn = child.conv, child.bn
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
            fused.weight.data = conv.weight.data * scale[:, None, None, None]
            fused.bias.data = bn.bias.data - bn.running_mean * scale
            child.conv, child.bn = fused, nn.Identity()
    return module


class DetectionExport(nn.Module):
    """The Ultralytics export contract: output0 (b, 4 + C [+ 32], A) = cx, cy, w, h in input pixels, sigmoid class scores
    [, mask coefficients]; for segmentation output1 = prototypes (b, 32, S/4, S/4)."""

    def __init__(self, model, input_size, with_masks):
        super().__init__()
        self.model, self.with_masks = model, with_masks
        points, strides = anchor_grid(input_size, "cpu")
        self.register_buffer("points", points.T[None])  # 1,2,A in grid cells
        self.register_buffer("strides", strides.T[None])  # 1,1,A
        self.register_buffer("bins", torch.arange(REG_MAX, dtype=torch.float32).view(1, REG_MAX, 1, 1))

    def forward(self, images):
        box, cls, coef, protos = self.model(images)
        b, _, a = box.shape
        distances = (box.view(b, 4, REG_MAX, a).transpose(2, 1).softmax(1) * self.bins).sum(1)  # b,4,A
        top_left = self.points - distances[:, :2]
        bottom_right = self.points + distances[:, 2:]
        xywh = torch.cat([(top_left + bottom_right) / 2, bottom_right - top_left], 1) * self.strides
        out = torch.cat([xywh, cls.sigmoid()], 1)
        if self.with_masks:
            return torch.cat([out, coef], 1), protos
        return out


class ClassificationExport(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images):
        return self.model(images).softmax(1)


def python_names(names):
    return "{" + ", ".join(f"{i}: {name!r}" for i, name in enumerate(names)) + "}"


def export(work, out):
    import onnx
    os.makedirs(out, exist_ok=True)
    names = ["circle", "square", "triangle", "hex-nut", "blob"]
    record = {}
    for task, file_task, files in (("segment", "segment", ("detect", "segment")), ("classify", "classify", ("classify",))):
        state = torch.load(os.path.join(work, f"{task}.pt"), map_location="cpu")
        config = state["config"]
        size = config["input_size"]
        if task == "segment":
            model = SegmentationModel(5, config["width"], config["depth"])
        else:
            model = ClassificationModel(5, config["width"], config["depth"], config["hidden"])
        model.load_state_dict(state["ema"])
        model = fuse(model.eval())
        for kind in files:
            if kind == "classify":
                wrapper, outputs = ClassificationExport(model), ["output0"]
            else:
                wrapper, outputs = DetectionExport(model, size, kind == "segment"), (["output0", "output1"] if kind == "segment" else ["output0"])
            path = os.path.join(out, f"{kind}.onnx")
            dynamic = {"images": {0: "batch"}, **{name: {0: "batch"} for name in outputs}}
            torch.onnx.export(wrapper.eval(), torch.zeros(1, 3, size, size), path, opset_version=17, input_names=["images"],
                              output_names=outputs, dynamic_axes=dynamic, do_constant_folding=True)
            graph = onnx.load(path)
            metadata = {"description": f"bun-inference-server demo {kind} model, trained from scratch on generated scenes (scripts/demo/train.py)",
                        "author": "bun-inference-server", "task": kind, "stride": "32", "batch": "1",
                        "imgsz": f"[{size}, {size}]", "names": python_names(names)}
            for key, value in metadata.items():
                graph.metadata_props.add(key=key, value=value)
            onnx.checker.check_model(graph)
            onnx.save(graph, path)
            print(f"wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB)", flush=True)
        record[task] = {"config": config, "steps": state["step"], "minutes": round(state["seconds"] / 60, 1), "final_log": state["log"][-1] if state["log"] else None,
                        "files": {f"{kind}.onnx": file_digest(os.path.join(out, f"{kind}.onnx")) for kind in files}}
    write_manifest(os.path.join(out, "MANIFEST"), record)


def file_digest(path):
    import hashlib
    with open(path, "rb") as f:
        return {"bytes": os.path.getsize(path), "sha256": hashlib.sha256(f.read()).hexdigest()}


def write_manifest(path, record):
    """How the committed demo models were made: the commands, each run's settings and length, and the files' digests.
    The quality measured through the server (bun run demo-eval) is added below the line it leaves for it."""
    lines = ["Demo models of bun-inference-server, trained from scratch by scripts/demo/train.py on scenes from scripts/demo/scenes.ts",
             "(README \"Demo\"). Reproduce:",
             "  bun run demo-scenes DATA",
             "  python3 scripts/demo/train.py segment DATA WORK && python3 scripts/demo/train.py classify DATA WORK",
             "  python3 scripts/demo/train.py export WORK src/demo/models", ""]
    for task, entry in record.items():
        lines.append(f"{task}: {entry['steps']} steps in {entry['minutes']} min of training")
        lines.append("  settings: " + json.dumps(entry["config"], sort_keys=True))
        if entry["final_log"]:
            lines.append("  last losses: " + json.dumps(entry["final_log"], sort_keys=True))
        for name, digest in entry["files"].items():
            lines.append(f"  {name}: {digest['bytes']} bytes, sha256 {digest['sha256']}")
        lines.append("")
    lines.append("Quality through the server (bun run demo-eval, 200 held-out scenes):")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["segment", "classify", "export"])
    parser.add_argument("source", help="scene directory (export-scenes.ts output), or for export the work directory")
    parser.add_argument("target", help="work directory for checkpoints, or for export the output directory")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--cycle", type=int, default=None, help="steps per cosine cycle of the learning rate (default: all of them)")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--width", type=float, default=None)
    parser.add_argument("--depth", type=float, default=0.33)
    parser.add_argument("--hidden", type=int, default=256, help="Classify head width (Ultralytics: 1280)")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--cls-gain", type=float, default=1.0, help="weight of the detector's class loss (Ultralytics: 0.5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    args = parser.parse_args()
    if args.command == "export":
        export(args.source, args.target)
        return
    defaults = {"segment": {"steps": 9000, "cycle": 3000, "batch": 8, "width": 0.125, "lr": 2e-3, "warmup": 150},
                "classify": {"steps": 1500, "batch": 32, "width": 0.125, "lr": 2e-3, "warmup": 200}}
    for key, value in defaults[args.command].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.cycle is None:
        args.cycle = args.steps
    train(args.command, args.source, args.target, args)


if __name__ == "__main__":
    main()
