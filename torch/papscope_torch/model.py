"""papscope's network as a PyTorch module, with Keras semantics.

The architecture is docs/DESIGN.md's table (and nn/arch.go's): conv2d 3x3/2
valid 64 + ReLU -> batch norm -> separable conv 128 + ReLU -> max-pool 3x3/2
valid -> 8 residual blocks (separable conv 128 + ReLU -> BN -> separable conv
128 + ReLU -> BN -> add the block's input) -> separable conv 256 + ReLU ->
global average pool -> dense 256 + ReLU -> dense 4 (logits; softmax outside).
402,756 parameters counted as Keras counts them (BN moving statistics
included, num_batches_tracked not).

Keras semantics that PyTorch does not have by default:
- padding: Keras 'same' for a 3x3 kernel at stride 1 pads one pixel on every
  side (padding=1 here); 'valid' pads nothing. conv1 and the max-pool are
  'valid', so odd input sizes lose the last row/column exactly as in Keras.
- batch norm: eps 1e-3; momentum 0.99 in Keras is 0.01 in PyTorch terms
  (running = 0.99*running + 0.01*batch); Keras 3 normalises with the batch's
  biased variance and also moves the running variance towards the biased
  variance, where torch.nn.BatchNorm2d uses the unbiased one for the running
  statistic. KerasBatchNorm2d does it Keras's way.
- activation order: Keras applies a layer's activation inside the layer, so
  every conv is followed by its ReLU *before* the batch norm.
The network is NCHW, as PyTorch convolutions are; papscope and Keras are NHWC.
convert.py maps tensors between the two.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 4
CLASSES = ("HSIL", "LSIL", "NILM", "SCC")
NUM_BLOCKS = 8
BN_EPSILON = 1e-3
BN_MOMENTUM = 0.01  # PyTorch terms: Keras's momentum 0.99
DEFAULT_INPUT = 299
MIN_INPUT = 7


class KerasBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d with Keras's defaults and Keras's moving variance (the batch's biased variance).

    Same parameters, buffers and state_dict names as torch.nn.BatchNorm2d.
    Training normalises with the batch's mean and biased variance (as
    BatchNorm2d does) and then sets running = (1-momentum)*running +
    momentum*batch with the biased variance. While `collect` is a list,
    training-mode calls append (mean, biased variance) to it instead of
    updating the running statistics (used by recalibration).
    """

    def __init__(self, channels):
        super().__init__(channels, eps=BN_EPSILON, momentum=BN_MOMENTUM)
        self.collect = None
        self.warm_start = False  # the next update sets the statistics outright (papscope's WarmStartMoving)

    def forward(self, x):
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        with torch.no_grad():
            xf = x.detach().float()
            mean = xf.mean(dim=(0, 2, 3))
            var = (xf - mean[None, :, None, None]).square().mean(dim=(0, 2, 3))
            if self.collect is not None:
                self.collect.append((mean, var))
            else:
                m = self.momentum
                if self.warm_start:
                    m, self.warm_start = 1.0, False
                self.running_mean.mul_(1 - m).add_(mean, alpha=m)
                self.running_var.mul_(1 - m).add_(var, alpha=m)
                self.num_batches_tracked.add_(1)
        return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


class SeparableConv2d(nn.Module):
    """Keras SeparableConv2D 3x3 'same', depth multiplier 1: depthwise (no bias), then pointwise with bias."""

    def __init__(self, cin, cout):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class Block(nn.Module):
    """Residual block: sepconv 128 + ReLU -> BN -> sepconv 128 + ReLU -> BN -> add the input."""

    def __init__(self, c=128):
        super().__init__()
        self.sep_a = SeparableConv2d(c, c)
        self.bn_a = KerasBatchNorm2d(c)
        self.sep_b = SeparableConv2d(c, c)
        self.bn_b = KerasBatchNorm2d(c)

    def forward(self, x):
        y = self.bn_a(F.relu(self.sep_a(x)))
        y = self.bn_b(F.relu(self.sep_b(y)))
        return x + y


class PapscopeNet(nn.Module):
    """papscope's lightweight Xception; forward(x) takes NCHW RGB in [0,1] and returns logits [N, 4]."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=0, bias=True)
        self.bn1 = KerasBatchNorm2d(64)
        self.sep1 = SeparableConv2d(64, 128)
        self.pool = nn.MaxPool2d(3, stride=2, padding=0)
        self.blocks = nn.ModuleList(Block(128) for _ in range(NUM_BLOCKS))
        self.sep_last = SeparableConv2d(128, 256)
        self.fc1 = nn.Linear(256, 256)
        self.fc2 = nn.Linear(256, NUM_CLASSES)
        keras_init(self)

    def features(self, x):
        """The last feature map (N, 256, h, w), Grad-CAM's input."""
        if x.shape[-1] < MIN_INPUT or x.shape[-2] < MIN_INPUT:
            raise ValueError(f"input {x.shape[-1]}x{x.shape[-2]} is too small: the network needs at least {MIN_INPUT}x{MIN_INPUT}")
        x = self.bn1(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.sep1(x)))
        for b in self.blocks:
            x = b(x)
        return F.relu(self.sep_last(x))

    def pooled(self, x):
        """The 256-vector after global average pooling."""
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x):
        h = F.relu(self.fc1(self.pooled(x)))
        return self.fc2(h)


def keras_init(model, generator=None):
    """Initialise as Keras does a new model: Glorot-uniform kernels, zero biases, identity batch norm."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                w = m.weight
                if isinstance(m, nn.Linear):
                    fan_in, fan_out = w.shape[1], w.shape[0]
                else:
                    rf = w.shape[2] * w.shape[3]
                    if m.groups > 1:  # Keras's depthwise kernel is [3, 3, C, 1]
                        fan_in, fan_out = m.in_channels * rf, 1 * rf
                    else:
                        fan_in, fan_out = w.shape[1] * rf, w.shape[0] * rf
                limit = (6.0 / (fan_in + fan_out)) ** 0.5
                w.uniform_(-limit, limit, generator=generator)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()


def count_params(model):
    """Parameters as Keras counts them: {"total", "trainable", "non_trainable"} (running stats are non-trainable; num_batches_tracked is not counted)."""
    trainable = sum(p.numel() for p in model.parameters())
    non = sum(b.numel() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var")))
    return {"total": trainable + non, "trainable": trainable, "non_trainable": non}
