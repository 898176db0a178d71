"""Inception-ResNet-v2 (Szegedy et al., "Inception-v4, Inception-ResNet and
the Impact of Residual Connections on Learning", 2016) in the layout its
public implementations share (TF-slim, Keras): the stem to 320 channels,
10 Inception-ResNet-A blocks (residual scale 0.17), Reduction-A, 20
Inception-ResNet-B blocks (0.10), Reduction-B, 10 Inception-ResNet-C
blocks (0.20, the last without ReLU), a 1x1 convolution to 1536 channels,
global average pooling and the classifier.  Every convolution but the
residual projections is Conv + BatchNorm + ReLU.  Published size: 55.8M
parameters (Keras applications table: 55,873,736)."""
import torch
from torch import nn


class BasicConv(nn.Sequential):
    def __init__(self, c_in, c_out, k, stride=1, padding=0):
        super().__init__(nn.Conv2d(c_in, c_out, k, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out, eps=0.001), nn.ReLU(inplace=True))


def seq(*layers):
    return nn.Sequential(*layers)


class Mixed5b(nn.Module):
    def __init__(self):
        super().__init__()
        self.b0 = BasicConv(192, 96, 1)
        self.b1 = seq(BasicConv(192, 48, 1), BasicConv(48, 64, 5, padding=2))
        self.b2 = seq(BasicConv(192, 64, 1), BasicConv(64, 96, 3, padding=1), BasicConv(96, 96, 3, padding=1))
        self.b3 = seq(nn.AvgPool2d(3, 1, 1, count_include_pad=False), BasicConv(192, 64, 1))

    def forward(self, x):
        return torch.cat([self.b0(x), self.b1(x), self.b2(x), self.b3(x)], 1)


class Residual(nn.Module):
    """x + scale * project(concat(branches(x))), then ReLU unless last."""

    def __init__(self, channels, branches, width, scale, relu=True):
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.project = nn.Conv2d(width, channels, 1)
        self.scale, self.relu = scale, relu

    def forward(self, x):
        y = x + self.scale * self.project(torch.cat([b(x) for b in self.branches], 1))
        return torch.relu(y) if self.relu else y


def block_a():
    return Residual(320, [BasicConv(320, 32, 1),
                          seq(BasicConv(320, 32, 1), BasicConv(32, 32, 3, padding=1)),
                          seq(BasicConv(320, 32, 1), BasicConv(32, 48, 3, padding=1), BasicConv(48, 64, 3, padding=1))],
                    128, 0.17)


def block_b():
    return Residual(1088, [BasicConv(1088, 192, 1),
                           seq(BasicConv(1088, 128, 1), BasicConv(128, 160, (1, 7), padding=(0, 3)),
                               BasicConv(160, 192, (7, 1), padding=(3, 0)))],
                    384, 0.10)


def block_c(relu=True, scale=0.20):
    return Residual(2080, [BasicConv(2080, 192, 1),
                           seq(BasicConv(2080, 192, 1), BasicConv(192, 224, (1, 3), padding=(0, 1)),
                               BasicConv(224, 256, (3, 1), padding=(1, 0)))],
                    448, scale, relu)


class Concat(nn.Module):
    def __init__(self, *branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], 1)


class InceptionResNetV2(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.stem = seq(BasicConv(3, 32, 3, 2), BasicConv(32, 32, 3), BasicConv(32, 64, 3, padding=1),
                        nn.MaxPool2d(3, 2), BasicConv(64, 80, 1), BasicConv(80, 192, 3), nn.MaxPool2d(3, 2),
                        Mixed5b())
        reduction_a = Concat(BasicConv(320, 384, 3, 2),
                             seq(BasicConv(320, 256, 1), BasicConv(256, 256, 3, padding=1), BasicConv(256, 384, 3, 2)),
                             nn.MaxPool2d(3, 2))
        reduction_b = Concat(seq(BasicConv(1088, 256, 1), BasicConv(256, 384, 3, 2)),
                             seq(BasicConv(1088, 256, 1), BasicConv(256, 288, 3, 2)),
                             seq(BasicConv(1088, 256, 1), BasicConv(256, 288, 3, padding=1), BasicConv(288, 320, 3, 2)),
                             nn.MaxPool2d(3, 2))
        self.body = seq(*[block_a() for _ in range(10)], reduction_a,
                        *[block_b() for _ in range(20)], reduction_b,
                        *[block_c() for _ in range(9)], block_c(relu=False, scale=1.0),
                        BasicConv(2080, 1536, 1))
        self.fc = nn.Linear(1536, num_classes)

    def forward(self, x):
        return self.fc(self.body(self.stem(x)).mean(dim=(2, 3)))
