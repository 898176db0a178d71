"""Darknet-19, the classifier behind YOLOv2 (Redmon & Farhadi, "YOLO9000:
Better, Faster, Stronger", 2016, Table 6): 19 convolutions and 5 max-pools,
each convolution followed by BatchNorm and LeakyReLU(0.1), 3x3 layers
alternating with 1x1 bottlenecks, ending in a 1x1 convolution to the
classes, global average pooling and softmax.  Published size: 20.8M
parameters for 1000 classes (as darknet's cfg/darknet19.cfg counts them)."""
import torch
from torch import nn


def conv(c_in, c_out, k):
    return [nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out),
            nn.LeakyReLU(0.1)]


# (out channels, kernel) per conv; "M" is a 2x2 max-pool of stride 2
LAYOUT = [(32, 3), "M", (64, 3), "M", (128, 3), (64, 1), (128, 3), "M",
          (256, 3), (128, 1), (256, 3), "M", (512, 3), (256, 1), (512, 3), (256, 1), (512, 3), "M",
          (1024, 3), (512, 1), (1024, 3), (512, 1), (1024, 3)]


class Darknet19(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        layers, c = [], 3
        for item in LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += conv(c, item[0], item[1])
                c = item[0]
        self.features = nn.Sequential(*layers)
        # the 19th convolution: 1x1 to the classes, with a bias (no BatchNorm)
        self.classifier = nn.Conv2d(c, num_classes, 1)

    def forward(self, x):
        x = self.classifier(self.features(x))
        return torch.softmax(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1), dim=1)
