"""Graphs shaped the way tf2onnx exports Keras models, built in PyTorch
(TensorFlow cannot be installed here): these imitate TensorFlow exports,
they are not TensorFlow's own.  Around a torchvision backbone:

- the input is NHWC and the graph starts with a Transpose to NCHW;
- strided convolutions get TensorFlow's "same" padding as an explicit Pad
  (asymmetric: the extra row and column go at the end) and padding 0;
- ReLU6 stays Clip with min/max inputs (opset 11+), as tf2onnx emits it;
- global average pooling is a ReduceMean over H and W;
- dense layers are MatMul + Add, not Gemm;
- the output is a Softmax;
- exported with constant folding off, BatchNormalization stays."""
import math

import torch
import torchvision
from torch import nn


class SamePad(nn.Module):
    """TensorFlow "same" padding before a strided convolution."""

    def __init__(self, conv):
        super().__init__()
        self.conv = conv
        self.k, self.s, self.d = conv.kernel_size, conv.stride, conv.dilation
        conv.padding = (0, 0)

    def forward(self, x):
        pads = []
        for axis in (1, 0):  # F.pad wants (left, right, top, bottom)
            size = x.shape[2 + axis]
            span = (self.k[axis] - 1) * self.d[axis] + 1
            total = max((math.ceil(size / self.s[axis]) - 1) * self.s[axis] + span - size, 0)
            pads += [total // 2, total - total // 2]
        return self.conv(nn.functional.pad(x, pads))


class Dense(nn.Module):
    """x W^T + b as MatMul + Add."""

    def __init__(self, linear):
        super().__init__()
        self.linear = linear

    def forward(self, x):
        return torch.matmul(x, self.linear.weight.t()) + self.linear.bias


class GlobalMean(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3), keepdim=True)


def tf_ify(module):
    """Rewrites a torchvision model in place into the TensorFlow shapes."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Conv2d) and max(child.stride) > 1 and max(child.kernel_size) > 1:
            setattr(module, name, SamePad(child))
        elif isinstance(child, nn.Linear):
            setattr(module, name, Dense(child))
        elif isinstance(child, nn.AdaptiveAvgPool2d) and child.output_size in (1, (1, 1)):
            setattr(module, name, GlobalMean())
        else:
            tf_ify(child)
    return module


class NHWC(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = tf_ify(backbone)

    def forward(self, x):
        return torch.softmax(self.backbone(x.permute(0, 3, 1, 2)), dim=1)


class TFMobileNetV2(NHWC):
    """torchvision's MobileNetV2 pools in forward() with a function call,
    not a module: the pooling is redone here as a mean."""

    def __init__(self):
        super().__init__(torchvision.models.mobilenet_v2(weights=None))

    def forward(self, x):
        b = self.backbone
        x = b.features(x.permute(0, 3, 1, 2)).mean(dim=(2, 3))
        return torch.softmax(b.classifier(x), dim=1)


class TFResNet50(NHWC):
    def __init__(self):
        super().__init__(torchvision.models.resnet50(weights=None))


class TFEfficientNetB0(NHWC):
    def __init__(self):
        super().__init__(torchvision.models.efficientnet_b0(weights=None))
