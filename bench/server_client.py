#!/usr/bin/env python3
"""A remote-VAE client for ./vae4j serve, standard library only (numpy for `check`).

  server_client.py load --url URL --shape 1,4,64,64 [--model M] [--output pt|png|jpg|uint8] [--concurrency 1,2,4]
                        [--requests N] [--warmup N]
      Sends N decode requests per concurrency level (random float16 latents, as a diffusers pipeline sends them)
      and prints one JSON line per level: throughput, p50/p99 latency, status counts.

  server_client.py check --url URL --latent Z.npy --expect IMAGE.npy [--model M] [--scaling-factor F]
      Decodes Z (float32, diffusion space) the way diffusers' remote_decode asks for it (query parameters in its
      order, Python str() of each value, Content-Type/Accept headers) and parses each reply the way it does
      (json.loads of the shape header, the dtype names, raw little-endian bytes), then compares with IMAGE (the
      CLI's float32 decode): pt float32 and float16, uint8 NHWC, and the PNG/JPEG signatures.
"""
import argparse
import http.client
import json
import random
import struct
import sys
import threading
import time
import urllib.parse


def query(params):
    """diffusers passes a dict to requests: lists become repeated keys, values go through str()."""
    pairs = []
    for k, v in params.items():
        if v is None:
            continue
        for item in (v if isinstance(v, (list, tuple)) else [v]):
            pairs.append((k, str(item)))
    return urllib.parse.urlencode(pairs)


def post(url, path_query, body, headers):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=600)
    try:
        conn.request("POST", (u.path.rstrip("/") or "") + path_query, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def decode_params(shape, dtype, output, scaling_factor=None):
    p = {"image_format": "png" if output == "png" else "jpg",
         "output_type": "pt" if output in ("pt", "uint8", "pt16") else "pil",
         "partial_postprocess": output == "uint8",
         "shape": list(shape), "dtype": dtype}
    if scaling_factor is not None:
        p["scaling_factor"] = scaling_factor
    else:
        p["do_scaling"] = True
    return p


def half_bytes(n, seed):
    rnd = random.Random(seed)
    return b"".join(struct.pack("<e", rnd.gauss(0, 1)) for _ in range(n))


def load(args):
    shape = [int(s) for s in args.shape.split(",")]
    n = 1
    for d in shape:
        n *= d
    body = half_bytes(n, 1)
    params = decode_params(shape, "float16", args.output)
    if args.model:
        params["model"] = args.model
    pq = "/decode?" + query(params)
    accept = {"png": "image/png", "jpg": "image/jpeg"}.get(args.output, "tensor/binary")
    headers = {"Content-Type": "tensor/binary", "Accept": accept}
    for _ in range(args.warmup):
        status, _, _ = post(args.url, pq, body, headers)
        if status != 200:
            sys.exit(f"warm-up request failed with {status}")
    for conc in [int(c) for c in args.concurrency.split(",")]:
        latencies, statuses, lock = [], {}, threading.Lock()
        todo = list(range(args.requests))

        def worker():
            while True:
                with lock:
                    if not todo:
                        return
                    todo.pop()
                t0 = time.perf_counter()
                status, _, _ = post(args.url, pq, body, headers)
                dt = time.perf_counter() - t0
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == 200:
                        latencies.append(dt)

        start = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(conc)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        latencies.sort()
        pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None
        print(json.dumps({"shape": shape, "output": args.output, "model": args.model, "concurrency": conc,
                          "requests": args.requests, "statuses": statuses, "wall_s": round(wall, 3),
                          "throughput_per_s": round(len(latencies) / wall, 3),
                          "p50_s": pick(0.5) and round(pick(0.5), 4), "p99_s": pick(0.99) and round(pick(0.99), 4)}),
              flush=True)


def check(args):
    import numpy as np
    z = np.load(args.latent).astype(np.float32)
    want = np.load(args.expect).astype(np.float32)
    dtypes = {"float16": np.float16, "float32": np.float32, "uint8": np.uint8}
    failures = 0

    def ask(output, dtype, body):
        params = decode_params(z.shape, dtype, output, args.scaling_factor)
        if args.model:
            params["model"] = args.model
        accept = {"png": "image/png", "jpg": "image/jpeg"}.get(output, "tensor/binary")
        return post(args.url, "/?" + query(params), body, {"Content-Type": "tensor/binary", "Accept": accept})

    for output, dtype, body, tol in [("pt", "float32", z.tobytes(), 1e-4), ("pt16", "float16",
                                     z.astype(np.float16).tobytes(), 2e-2), ("uint8", "float32", z.tobytes(), 1)]:
        status, headers, content = ask(output, dtype, body)
        if status != 200:
            print(f"FAIL {output}: {status} {content[:200]!r}")
            failures += 1
            continue
        shape = json.loads(headers["shape"])
        got = np.frombuffer(bytearray(content), dtype=dtypes[headers["dtype"]]).reshape(shape)
        ref = want if output != "uint8" else np.round(np.clip((want + 1) / 2, 0, 1) * 255).transpose(0, 2, 3, 1)
        err = float(np.max(np.abs(got.astype(np.float32) - ref)))
        ok = err <= tol
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {output}: shape {shape} dtype {headers['dtype']} max abs diff {err:.3g}")
    for output, magic in [("png", b"\x89PNG"), ("jpg", b"\xff\xd8\xff")]:
        status, headers, content = ask(output, "float32", z.tobytes())
        ok = status == 200 and content.startswith(magic)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {output}: {status} {headers.get('content-type')} {len(content)} bytes")
    sys.exit(1 if failures else 0)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("load")
    lp.add_argument("--url", required=True)
    lp.add_argument("--shape", default="1,4,64,64")
    lp.add_argument("--model")
    lp.add_argument("--output", default="pt", choices=["pt", "uint8", "png", "jpg"])
    lp.add_argument("--concurrency", default="1,2,4")
    lp.add_argument("--requests", type=int, default=8)
    lp.add_argument("--warmup", type=int, default=2)
    cp = sub.add_parser("check")
    cp.add_argument("--url", required=True)
    cp.add_argument("--latent", required=True)
    cp.add_argument("--expect", required=True)
    cp.add_argument("--model")
    cp.add_argument("--scaling-factor", type=float)
    args = ap.parse_args()
    load(args) if args.cmd == "load" else check(args)


if __name__ == "__main__":
    main()
