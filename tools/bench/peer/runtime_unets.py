#!/usr/bin/env python3
"""PyTorch side of the runtime benchmark (tools/bench/runtime.ts): UNet forward passes at several batch sizes.

    /usr/bin/python3 tools/bench/peer/runtime_unets.py --model ddim-cifar10 --batches 1,16,64 --threads 2

Models, the same architectures as diffpress's presets (random weights, eval mode, torch.no_grad()):
  unet-mnist-s  the `UNet` of tools/bench/peer/unet_mnist_s.py (the bench-peer model, 1,623,169 parameters);
  ddim-cifar10  the official DDIM `Model` as written in tools/interop/torch_unets.py (`DdimModel(**DDIM_CIFAR10)`,
                35,746,307 parameters).

Each batch size is timed like the JS side: the first warm-up call is timed; a batch whose first call takes longer
than --slow-s gets 1 warm-up instead of 2, and the timed repeats are capped to what fits in --budget-s (at least
--min-repeats). Inputs are NCHW float32 (x ~ N(0, 1), t ~ U[0, 1000)).

--threads N sets torch.set_num_threads(N) and, before torch is imported, OMP_NUM_THREADS and OPENBLAS_NUM_THREADS.
Prints one JSON line: {"torch", "threads", "model", "params", "cells": [{"batch", "median_ms", "samples_ms",
"repeats", "warmup", "first_ms", "cpu_per_wall"}], ...}. Run it with Debian's Python (/usr/bin/python3), which is
the one that has python3-torch.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(os.path.dirname(HERE))
MODELS = ("unet-mnist-s", "ddim-cifar10")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--batches", default="1,16,64", help="comma-separated batch sizes")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, required=True, help="torch/OpenMP/OpenBLAS threads")
    p.add_argument("--budget-s", type=float, default=120.0, help="time budget of the timed repeats of one batch size")
    p.add_argument("--min-repeats", type=int, default=3)
    p.add_argument("--slow-s", type=float, default=10.0, help="first calls longer than this get one warm-up")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    try:
        a.batches = [int(b) for b in a.batches.split(",")]
    except ValueError:
        p.error(f"--batches must be comma-separated integers, got {a.batches!r}")
    if any(b < 1 for b in a.batches) or a.repeats < 1 or a.warmup < 1 or a.threads < 1 or a.min_repeats < 1:
        p.error("--batches, --repeats, --warmup, --threads and --min-repeats must be >= 1")
    return a


ARGS = parse_args()
# Must happen before torch (and with it libgomp and OpenBLAS) is loaded.
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)

import torch  # noqa: E402


def build(name):
    """The model, its image shape (C, H, W) and the parameter count it must have."""
    if name == "unet-mnist-s":
        # unet_mnist_s.py parses its own command line when imported: give it only the thread count.
        saved = sys.argv
        sys.argv = [os.path.join(HERE, "unet_mnist_s.py"), "--threads", str(ARGS.threads)]
        try:
            sys.path.insert(0, HERE)
            import unet_mnist_s as m
        finally:
            sys.argv = saved
        cfg = m.CONFIG
        return m.UNet(cfg), (cfg["in_channels"], cfg["image_size"], cfg["image_size"]), m.EXPECTED_PARAMS
    sys.path.insert(0, os.path.join(TOOLS, "interop"))
    from torch_unets import DDIM_CIFAR10, DDIM_CIFAR10_PARAMS, DdimModel

    cfg = DDIM_CIFAR10
    return DdimModel(**cfg), (cfg["in_channels"], cfg["resolution"], cfg["resolution"]), DDIM_CIFAR10_PARAMS


def time_cell(fn):
    """Times fn like runtime.ts's timeCell: timed first warm-up, capped repeats for slow calls."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    first = (time.perf_counter() - t0) * 1e3
    first_cpu = (time.process_time() - c0) * 1e3
    warmup = 1 if first > ARGS.slow_s * 1e3 else ARGS.warmup
    for _ in range(warmup - 1):
        fn()
    repeats = min(ARGS.repeats, max(ARGS.min_repeats, int(ARGS.budget_s * 1e3 // max(first, 1e-3))))
    wall, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    med = statistics.median(wall)
    return {
        "median_ms": round(med, 2),
        "samples_ms": [round(v, 2) for v in wall],
        "repeats": repeats,
        "warmup": warmup,
        "first_ms": round(first, 2),
        # Median process CPU time over median wall time: roughly how many cores the runs kept busy.
        "cpu_per_wall": round(statistics.median(cpu) / med, 2) if med > 0 else None,
        "first_cpu_ms": round(first_cpu, 2),
    }


def main():
    torch.set_num_threads(ARGS.threads)
    torch.manual_seed(ARGS.seed)
    model, (c, h, w), expected = build(ARGS.model)
    params = sum(p.numel() for p in model.parameters())
    print(f"{ARGS.model} (PyTorch): {params:,} parameters, {ARGS.threads} thread(s)", file=sys.stderr)
    assert params == expected, f"parameter count {params} != diffpress's {expected}"
    model.eval()
    cells = []
    for b in ARGS.batches:
        x = torch.randn(b, c, h, w)
        t = torch.rand(b) * 1000

        def forward():
            with torch.no_grad():
                y = model(x, t)
            float(y[0, 0, 0, 0])  # eager CPU ops are synchronous; read one value anyway

        cell = {"batch": b, **time_cell(forward)}
        print(f"  batch {b}: {cell['median_ms']:.1f} ms (x{cell['repeats']})", file=sys.stderr)
        cells.append(cell)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "model": ARGS.model,
        "params": params,
        "cells": cells,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "python": sys.version.split()[0],
    }))


if __name__ == "__main__":
    main()
