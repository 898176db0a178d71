"""MobileNet v1 (Howard et al., "MobileNets: Efficient Convolutional Neural
Networks for Mobile Vision Applications", 2017, Table 1): a 3x3 stride-2
convolution, then 13 depthwise-separable blocks (3x3 depthwise + 1x1
pointwise, each with BatchNorm and ReLU), global average pooling and a
fully connected layer.  The width multiplier alpha thins every layer; the
resolution multiplier is the input size the zoo entry feeds.  Published
size (Table 4-6): 4.2M parameters at alpha 1.0, 2.6M at 0.75, 1.3M at 0.5,
0.5M at 0.25."""
from torch import nn

# (pointwise out channels, depthwise stride) of the 13 separable blocks
BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + \
         [(1024, 2), (1024, 1)]


def bn_relu(c):
    return [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]


class MobileNetV1(nn.Module):
    def __init__(self, alpha=1.0, num_classes=1000):
        super().__init__()
        width = lambda c: max(8, int(c * alpha))
        c = width(32)
        layers = [nn.Conv2d(3, c, 3, 2, 1, bias=False)] + bn_relu(c)
        for out, stride in BLOCKS:
            out = width(out)
            layers += [nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False)] + bn_relu(c)
            layers += [nn.Conv2d(c, out, 1, bias=False)] + bn_relu(out)
            c = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))
