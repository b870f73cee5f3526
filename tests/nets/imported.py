"""Hand-written torch networks for tests/test_import.py (torchvision and timm do not load with
the CPU torch here): a small ResNet, an Inception-like net with concat, a MobileNetV3-like net
with SE and hard-swish, a ShuffleNetV2-like unit (with nn.ChannelShuffle, and with the shuffle
written out as view -> transpose -> view), an AlexNet-like net (LRN, max pools, dropout,
hidden linears), and a net with an op the grammar cannot describe."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _cbr(cin: int, cout: int, k: int = 3, s: int = 1, p: int | None = None) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2 if p is None else p, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Basic(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        idt = x if self.down is None else self.down(x)
        return F.relu(out + idt)


class TinyResNet(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = _cbr(3, 16, 7, 2, 3)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(Basic(16, 16, 1), Basic(16, 16, 1))
        self.layer2 = Basic(16, 32, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer2(self.layer1(self.pool(self.stem(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class Inception(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.b1 = _cbr(cin, 8, 1)
        self.b2 = nn.Sequential(_cbr(cin, 6, 1), _cbr(6, 12, 3))
        self.b3 = nn.Sequential(_cbr(cin, 4, 1), nn.Conv2d(4, 8, (1, 5), padding=(0, 2)),
                                nn.Conv2d(8, 8, (5, 1), padding=(2, 0)))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), _cbr(cin, 4, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class TinyInception(nn.Module):
    def __init__(self, classes: int = 7) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, ceil_mode=True))
        self.mixed = Inception(16)
        self.mixed2 = Inception(32)
        self.drop = nn.Dropout(0.4)
        self.fc = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mixed2(self.mixed(self.stem(x)))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(self.drop(x.view(x.size(0), -1)))


class SE(nn.Module):
    def __init__(self, c: int, r: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, r, 1)
        self.fc2 = nn.Conv2d(r, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))
        return s * x


class MBConv(nn.Module):
    def __init__(self, cin: int, mid: int, cout: int, k: int, s: int, se: bool) -> None:
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid),
                                    nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(mid, mid, k, s, k // 2, groups=mid, bias=False),
                                nn.BatchNorm2d(mid), nn.Hardswish())
        self.se = SE(mid, max(8, mid // 4)) if se else nn.Identity()
        self.project = nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = s == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.dw(self.expand(x))))
        return x + y if self.skip else y


class TinyMobileNetV3(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.Hardswish())
        self.blocks = nn.Sequential(MBConv(16, 64, 24, 3, 2, False),
                                    MBConv(24, 72, 24, 5, 1, True),
                                    MBConv(24, 96, 40, 5, 2, True))
        self.head = nn.Sequential(nn.Conv2d(40, 120, 1, bias=False), nn.BatchNorm2d(120),
                                  nn.Hardswish())
        self.classifier = nn.Sequential(nn.Linear(120, 64), nn.Hardswish(), nn.Dropout(0.2),
                                        nn.Linear(64, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(x))).mean((2, 3))
        return self.classifier(x)


class ShuffleUnit(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        h = c // 2
        self.branch = nn.Sequential(_cbr(h, h, 1), nn.Conv2d(h, h, 3, 1, 1, groups=h, bias=False),
                                    nn.BatchNorm2d(h), _cbr(h, h, 1))
        self.shuffle = nn.ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return self.shuffle(torch.cat((a, self.branch(b)), 1))


class TinyShuffle(nn.Module):
    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.stem = _cbr(3, 24, 3, 2)
        self.units = nn.Sequential(ShuffleUnit(24), ShuffleUnit(24))
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.flat = nn.Flatten()
        self.fc = nn.Linear(24, classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flat(self.pool(self.units(self.stem(x)))))


class TinyAlexNet(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 24, 11, 4, 2), nn.ReLU(inplace=True), nn.LocalResponseNorm(5),
            nn.MaxPool2d(3, 2), nn.Conv2d(24, 32, 5, padding=2, groups=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2), nn.Conv2d(32, 48, 3, padding=1, dilation=1), nn.ReLU6())
        self.avgpool = nn.AdaptiveAvgPool2d(2)
        self.classifier = nn.Sequential(nn.Dropout(), nn.Linear(48 * 4, 64), nn.ReLU(),
                                        nn.Linear(64, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.reshape(x.shape[0], -1))


class WithAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.attn = nn.MultiheadAttention(8, 2)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x).flatten(2).permute(2, 0, 1)
        x = self.attn(x, x, x)[0].mean(0)
        return self.fc(x)


def not_a_module() -> int:
    return 3


NETS = {"TinyResNet": TinyResNet, "TinyInception": TinyInception,
        "TinyMobileNetV3": TinyMobileNetV3, "TinyShuffle": TinyShuffle,
        "TinyAlexNet": TinyAlexNet}


class WithGroupNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.norm = nn.GroupNorm(2, 8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(self.conv(x)).mean((2, 3)))


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's hand-written shuffle (as torchvision.models.shufflenetv2 writes it)."""
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, num_channels, height, width)


class WrittenShuffleUnit(ShuffleUnit):
    """The ShuffleNetV2-like unit with the shuffle written out (view -> transpose -> view)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((a, self.branch(b)), 1), 2)


class TinyWrittenShuffle(TinyShuffle):
    def __init__(self, classes: int = 5) -> None:
        super().__init__(classes)
        self.units = nn.Sequential(WrittenShuffleUnit(24), WrittenShuffleUnit(24))


class WithWrongTranspose(nn.Module):
    """A 5-d view whose transpose is not a channel shuffle (dims 2 and 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        n, c, h, w = x.size()
        x = x.view(n, 2, c // 2, h, w).transpose(2, 3).reshape(n, c, w, h)
        return self.fc(x.mean((2, 3)))


NETS["TinyWrittenShuffle"] = TinyWrittenShuffle
