#!/usr/bin/env python3
"""PyTorch side of bench/compare-torch: the SD-size VAE (kl-f8) with random weights, timed the way
`./vae4j bench` times ours. Speed does not depend on the weights' values, so nothing is loaded.

    /usr/bin/python3 bench/torch_vae.py --op decode|encode --size 512 --threads 2 --repeat 3 [--bf16]

Prints one JSON line: {"op", "size", "threads", "dtype", "times_s", "median_s", "peak_rss_mib"}.
Needs Debian's python3-torch (PyTorch 1.13 on this machine kind).
"""
import argparse
import json
import resource
import time

import torch
from torch import nn
from torch.nn import functional as F


def group_norm(channels):
    return nn.GroupNorm(32, channels, eps=1e-6)


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.n1, self.c1 = group_norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.n2, self.c2 = group_norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        h = self.c1(F.silu(self.n1(x)))
        return self.skip(x) + self.c2(F.silu(self.n2(h)))


class Attention(nn.Module):
    """Single-head attention over pixels, as in the SD VAE's mid block."""

    def __init__(self, c):
        super().__init__()
        self.norm = group_norm(c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)
        weights = torch.softmax(torch.bmm(q.transpose(1, 2), k) / c ** 0.5, dim=-1)
        return x + self.out(torch.bmm(v, weights.transpose(1, 2)).reshape(b, c, h, w))


def mid(c):
    return [ResBlock(c, c), Attention(c), ResBlock(c, c)]


class Decoder(nn.Module):
    def __init__(self, z=4, ch=(128, 256, 512, 512), blocks=2):
        super().__init__()
        layers = [nn.Conv2d(z, z, 1), nn.Conv2d(z, ch[-1], 3, padding=1)] + mid(ch[-1])
        c = ch[-1]
        for level in reversed(range(len(ch))):
            for _ in range(blocks + 1):
                layers.append(ResBlock(c, ch[level]))
                c = ch[level]
            if level:
                layers += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(c, c, 3, padding=1)]
        layers += [group_norm(c), nn.SiLU(), nn.Conv2d(c, 3, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Encoder(nn.Module):
    def __init__(self, z=4, ch=(128, 256, 512, 512), blocks=2):
        super().__init__()
        layers = [nn.Conv2d(3, ch[0], 3, padding=1)]
        c = ch[0]
        for level in range(len(ch)):
            for _ in range(blocks):
                layers.append(ResBlock(c, ch[level]))
                c = ch[level]
            if level != len(ch) - 1:
                layers.append(Downsample(c))
        layers += mid(c) + [group_norm(c), nn.SiLU(), nn.Conv2d(c, 2 * z, 3, padding=1), nn.Conv2d(2 * z, 2 * z, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--op", choices=["decode", "encode"], default="decode")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--bf16", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.op == "decode":
        model, x = Decoder().eval(), torch.randn(1, 4, a.size // 8, a.size // 8)
    else:
        model, x = Encoder().eval(), torch.rand(1, 3, a.size, a.size) * 2 - 1
    times = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
        for i in range(a.warmup + a.repeat):
            start = time.perf_counter()
            model(x)
            if i >= a.warmup:
                times.append(time.perf_counter() - start)
    print(json.dumps({"impl": "pytorch " + torch.__version__, "op": a.op, "size": a.size, "threads": a.threads,
                      "dtype": "bf16" if a.bf16 else "fp32", "times_s": [round(t, 3) for t in times],
                      "median_s": round(sorted(times)[len(times) // 2], 3),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main()
