#!/usr/bin/env python3
"""Float32 rounding error of Winograd F(m x m, 3x3) convolution for a choice of interpolation points.

One 3x3 convolution layer with random input and Kaiming-scaled random weights, computed in float32 directly and by
Winograd F(m x m, 3x3) (transforms built exactly from the points, then rounded to float32; every product and sum in
float32), both compared with the same convolution in float64. Prints the largest absolute error of each, so that a
tile size or point set can be judged against F(4x4) (what vae4j runs) before anyone writes its kernel.

Usage: /usr/bin/python3 bench/winograd_error.py [--cin 256] [--cout 64] [--size 48] [--seeds 3]
"""
import argparse
from fractions import Fraction

import numpy as np


def polymul(a, b):
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i + j] += x * y
    return out


def transforms(m, points, r=3):
    """Aᵀ (m x n), G (n x r) and Bᵀ (n x n) of Toom-Cook F(m, r) at the finite points plus infinity (n = m + r - 1)."""
    n = m + r - 1
    pts = [Fraction(p) for p in points]
    if len(pts) != n - 1:
        raise SystemExit(f"F({m}, {r}) needs {n - 1} finite points, got {len(pts)}")
    at = [[p ** j for p in pts] + [Fraction(1 if j == m - 1 else 0)] for j in range(m)]
    g = []
    for i, p in enumerate(pts):
        norm = Fraction(1)
        for j, q in enumerate(pts):
            if j != i:
                norm *= p - q
        g.append([p ** k / norm for k in range(r)])
    g.append([Fraction(0)] * (r - 1) + [Fraction(1)])
    bt = []
    for i in range(len(pts)):
        q = [Fraction(1)]
        for j, pp in enumerate(pts):
            if j != i:
                q = polymul(q, [-pp, Fraction(1)])
        bt.append(q + [Fraction(0)] * (n - len(q)))
    full = [Fraction(1)]
    for p in pts:
        full = polymul(full, [-p, Fraction(1)])
    bt.append(full + [Fraction(0)] * (n - len(full)))
    at, g, bt = (np.array(x, dtype=float) for x in (at, g, bt))
    # The columns of Bᵀ come out in coefficient order: check which orientation computes a 1-d correlation.
    rng = np.random.default_rng(0)
    w, d = rng.standard_normal(r), rng.standard_normal(n)
    want = np.array([d[i:i + r] @ w for i in range(m)])
    for b in (bt, bt.T):
        if np.allclose(at @ ((g @ w) * (b @ d)), want):
            return at, g, b
    raise SystemExit(f"points {points}: no transform orientation reproduces the correlation")


def layer_errors(m, points, cin, cout, size, seed):
    at, g, bt = transforms(m, points)
    n = m + 2
    size -= size % m
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cin, size + 2, size + 2)).astype(np.float32)
    w = (rng.standard_normal((cout, cin, 3, 3)) / np.sqrt(cin * 9)).astype(np.float32)
    ref = np.zeros((cout, size, size))
    direct = np.zeros((cout, size, size), np.float32)
    for ky in range(3):
        for kx in range(3):
            patch = x[:, ky:ky + size, kx:kx + size]
            ref += np.einsum('oc,chw->ohw', w[:, :, ky, kx].astype(np.float64), patch.astype(np.float64))
            direct += np.einsum('oc,chw->ohw', w[:, :, ky, kx], patch).astype(np.float32)
    g32, bt32, at32 = (a.astype(np.float32) for a in (g, bt, at))
    u = np.einsum('ik,ockl,jl->ijoc', g32, w, g32).astype(np.float32)
    t = size // m
    tiles = np.stack([x[:, ty * m:ty * m + n, tx * m:tx * m + n] for ty in range(t) for tx in range(t)], axis=1)
    v = np.einsum('ik,ctkl,jl->ijct', bt32, tiles, bt32).astype(np.float32)
    prod = np.einsum('ijoc,ijct->ijot', u, v).astype(np.float32)
    y = np.einsum('ki,ijot,lj->otkl', at32, prod, at32).astype(np.float32)
    wino = np.zeros((cout, size, size), np.float32)
    for k in range(t * t):
        ty, tx = divmod(k, t)
        wino[:, ty * m:ty * m + m, tx * m:tx * m + m] = y[:, k]
    return np.abs(direct - ref).max(), np.abs(wino - ref).max()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cin", type=int, default=256)
    ap.add_argument("--cout", type=int, default=64)
    ap.add_argument("--size", type=int, default=48)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    cases = [(2, [0, 1, -1]), (4, [0, 1, -1, 2, -2]), (4, [0, 1, -1, 0.5, -0.5]),
             (6, [0, 1, -1, 2, -2, 0.5, -0.5]), (6, [0, 1, -1, 2, -2, 0.5, 3])]
    for m, points in cases:
        errs = [layer_errors(m, points, args.cin, args.cout, args.size, s) for s in range(args.seeds)]
        direct, wino = max(e[0] for e in errs), max(e[1] for e in errs)
        print(f"F({m}x{m}, 3x3) points {points}: direct {direct:.2e}, Winograd {wino:.2e} ({wino / direct:.0f}x)")


if __name__ == "__main__":
    main()
