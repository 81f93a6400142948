"""Training throughput of Debian's python3-torch on the networks qxbar trains, for comparison.

Builds the same architectures as qxbar's nn/models.cpp (LeNet-5 and vgg-small on 1x28x28 inputs), trains
them in floating point with SGD (momentum 0.9, weight decay 5e-4) at the given batch size and thread count,
and prints images per second. Run with /usr/bin/python3 (Debian's interpreter, where python3-torch lives).
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc3(F.relu(self.fc2(x)))


class VggSmall(nn.Module):
    def __init__(self):
        super().__init__()
        layers, channels = [], 1
        for width in (32, 32, 0, 64, 64, 0, 128, 128, 0):
            if width == 0:
                layers.append(nn.MaxPool2d(2))
                continue
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(128 * 3 * 3, 10)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 3).flatten(1)
        return self.classifier(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--net", choices=["lenet5", "vgg-small"], required=True)
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = LeNet5() if args.net == "lenet5" else VggSmall()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    images = torch.randn(args.images, 1, 28, 28)
    labels = torch.randint(10, (args.images,))
    model.train()
    start = time.perf_counter()
    for first in range(0, args.images, args.batch_size):
        x, y = images[first:first + args.batch_size], labels[first:first + args.batch_size]
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"{args.images / (time.perf_counter() - start):.1f}")


if __name__ == "__main__":
    main()
