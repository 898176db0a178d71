"""ShuffleNet v1 (Zhang et al., "ShuffleNet: An Extremely Efficient
Convolutional Neural Network for Mobile Devices", 2017, Table 1): units of
a 1x1 group convolution, a channel shuffle, a 3x3 depthwise convolution
and a second 1x1 group convolution, with a residual Add (stride 1) or an
average-pooled shortcut concatenated (stride 2).  The stage widths at
groups = 3 and scale 1x are 240/480/960 after a 24-channel stem; the
first pointwise convolution of stage 2 is not grouped (its input has only
24 channels).  Published size: about 1.9M parameters at g = 3, 1x (the
figure the ShuffleNet v2 paper's Table 8 and the reference implementations
report, 1.87M)."""
import torch
from torch import nn

WIDTHS = {1: 144, 2: 200, 3: 240, 4: 272, 8: 384}


def shuffle(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class Unit(nn.Module):
    def __init__(self, c_in, c_out, stride, groups, first_grouped):
        super().__init__()
        self.stride, self.groups = stride, groups
        mid = c_out // 4
        branch_out = c_out - c_in if stride == 2 else c_out
        g1 = groups if first_grouped else 1
        self.gconv1 = nn.Sequential(nn.Conv2d(c_in, mid, 1, groups=g1, bias=False), nn.BatchNorm2d(mid),
                                    nn.ReLU(inplace=True))
        self.dwconv = nn.Sequential(nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid))
        self.gconv2 = nn.Sequential(nn.Conv2d(mid, branch_out, 1, groups=groups, bias=False),
                                    nn.BatchNorm2d(branch_out))
        self.shuffle_groups = g1 if first_grouped else 1

    def residual_norms(self):
        """The BatchNorm before the residual Add (for the exporter)."""
        return [self.gconv2[1]] if self.stride == 1 else []

    def forward(self, x):
        y = self.gconv1(x)
        if self.shuffle_groups > 1:
            y = shuffle(y, self.shuffle_groups)
        y = self.gconv2(self.dwconv(y))
        if self.stride == 2:
            return torch.relu(torch.cat([nn.functional.avg_pool2d(x, 3, 2, 1), y], 1))
        return torch.relu(x + y)


class ShuffleNetV1(nn.Module):
    def __init__(self, groups=3, scale=1.0, num_classes=1000):
        super().__init__()
        base = int(WIDTHS[groups] * scale)
        stem = 24
        self.stem = nn.Sequential(nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, 1))
        units, c = [], stem
        for stage, repeats in enumerate((4, 8, 4)):
            out = base * (2 ** stage)
            for i in range(repeats):
                units.append(Unit(c, out, 2 if i == 0 else 1, groups, first_grouped=not (stage == 0 and i == 0)))
                c = out
        self.units = nn.Sequential(*units)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.units(self.stem(x))
        return self.fc(x.mean(dim=(2, 3)))
