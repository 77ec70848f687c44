#!/usr/bin/env python3
"""PyTorch peer of diffpress's `unet-mnist-s` UNet, for the peer benchmark (tools/bench/peer.ts).

    /usr/bin/python3 tools/bench/peer/unet_mnist_s.py --batch 64 --repeats 7 --warmup 2 --threads 1

Builds the same DDPM-style UNet as `UNet(unetPresets['unet-mnist-s'])` of @diffpress/diffusion (NCHW here, NHWC
there), following the same block plan as `planUNet` (packages/diffusion/src/unet/config.ts): 28x28x1 in and out,
base 32 channels, multipliers [1, 2, 2], 2 residual blocks per encoder level (3 per decoder level, fed
concat(h, skip)), 4-head self-attention at 7x7 and in the middle, GroupNorm(8 groups, eps 1e-6), SiLU, sinusoidal
time embedding (32) -> Linear(32, 128) -> SiLU -> Linear(128, 128), stride-2 3x3 conv down-sampling with
TensorFlow 'same' padding (bottom/right by 1) and nearest x2 + 3x3 conv up-sampling. The parameter count must be
exactly 1,623,169 (asserted).

Times, as medians over --repeats runs after --warmup untimed ones:
  (a) forward at --batch under torch.no_grad() in eval mode;
  (b) a training step at --batch: forward, MSE against a fixed random target, backward, Adam (lr 1e-4) step.

--threads N sets torch.set_num_threads(N) and, before torch is imported, OMP_NUM_THREADS and OPENBLAS_NUM_THREADS
(torch does not pass its thread count on to OpenBLAS's own pthread pool). Prints one JSON line:
{"torch", "threads", "params", "forward_ms", "train_step_ms", "blas", ...}. Run it with Debian's Python
(/usr/bin/python3), which is the one that has python3-torch.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

EXPECTED_PARAMS = 1_623_169

# The unet-mnist-s preset (packages/diffusion/src/unet/presets.ts) with its resolved defaults.
CONFIG = {
    "in_channels": 1,
    "out_channels": 1,
    "image_size": 28,
    "base_channels": 32,
    "channel_mult": [1, 2, 2],
    "num_res_blocks": 2,
    "attention_resolutions": [7],
    "heads": 4,
    "groups": 8,
    "eps": 1e-6,
    "dropout": 0.0,
    "time_embed_dim": 4 * 32,
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch/OpenMP/OpenBLAS threads (0: leave torch's default)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.batch < 1 or a.repeats < 1 or a.warmup < 0 or a.threads < 0:
        p.error("--batch and --repeats must be >= 1, --warmup and --threads >= 0")
    return a


ARGS = parse_args()
if ARGS.threads > 0:
    # Must happen before torch (and with it libgomp and OpenBLAS) is loaded.
    os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def group_norm(channels):
    g = min(CONFIG["groups"], channels)
    while channels % g != 0:
        g -= 1
    return nn.GroupNorm(g, channels, eps=CONFIG["eps"])


def timestep_embedding(t, dim):
    """DDPM's get_timestep_embedding, as diffpress's timestepEmbedding: [sin(t f_k)..., cos(t f_k)...]."""
    half = dim // 2
    step = math.log(10000) / (half - 1) if half > 1 else 0.0
    freqs = torch.exp(-step * torch.arange(half, dtype=torch.float32, device=t.device))
    args = t.float()[:, None] * freqs[None, :]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 == 1 else emb


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb_dim, dropout):
        super().__init__()
        self.norm1 = group_norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(temb_dim, cout)
        self.norm2 = group_norm(cout)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return (self.shortcut(x) if self.shortcut is not None else x) + h


class SelfAttention(nn.Module):
    """x + proj(attention(q, k, v)) over the pixels, with q/k/v/proj Linear on the channel axis (as diffpress)."""

    def __init__(self, channels, heads):
        super().__init__()
        self.heads = heads
        self.norm = group_norm(channels)
        self.q = nn.Linear(channels, channels)
        self.k = nn.Linear(channels, channels)
        self.v = nn.Linear(channels, channels)
        self.proj = nn.Linear(channels, channels)

    def forward(self, x):
        n, c, h, w = x.shape
        d = c // self.heads
        hn = self.norm(x).flatten(2).transpose(1, 2)  # [n, hw, c]

        def split(t):
            return t.reshape(n, h * w, self.heads, d).transpose(1, 2)  # [n, heads, hw, d]

        q, k, v = split(self.q(hn)), split(self.k(hn)), split(self.v(hn))
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d))
        o = torch.matmul(torch.softmax(scores, dim=-1), v)  # [n, heads, hw, d]
        o = o.transpose(1, 2).reshape(n, h * w, c)
        return x + self.proj(o).transpose(1, 2).reshape(n, c, h, w)


class Downsample(nn.Module):
    """Stride-2 3x3 conv with TensorFlow 'same' padding on even sizes: one row/column at the bottom/right."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class UNet(nn.Module):
    """The block plan of diffpress's planUNet with `resample: 'conv'`, no scale-shift norm, mid attention on."""

    def __init__(self, cfg):
        super().__init__()
        base, mult, nres = cfg["base_channels"], cfg["channel_mult"], cfg["num_res_blocks"]
        temb = cfg["time_embed_dim"]
        levels = len(mult)
        sizes = [cfg["image_size"] // (2**level) for level in range(levels)]
        self.base = base
        self.time = nn.Sequential(nn.Linear(base, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.stem = nn.Conv2d(cfg["in_channels"], base, 3, padding=1)

        def attn(channels):
            return SelfAttention(channels, cfg["heads"])

        skips = [base]
        self.down = nn.ModuleList()
        ch = base
        for level in range(levels):
            blocks = nn.ModuleList()  # entries: ResBlock / SelfAttention / Downsample, in call order
            push = []  # whether the entry's output is pushed as a skip
            out = base * mult[level]
            for _ in range(nres):
                blocks.append(ResBlock(ch, out, temb, cfg["dropout"]))
                push.append(False)
                ch = out
                if sizes[level] in cfg["attention_resolutions"]:
                    blocks.append(attn(ch))
                    push.append(False)
                push[-1] = True
                skips.append(ch)
            if level < levels - 1:
                blocks.append(Downsample(ch))
                push.append(True)
                skips.append(ch)
            blocks.push = push
            self.down.append(blocks)

        self.mid = nn.ModuleList([ResBlock(ch, ch, temb, cfg["dropout"]), attn(ch), ResBlock(ch, ch, temb, cfg["dropout"])])

        self.up = nn.ModuleList()  # deepest level first (call order)
        for level in reversed(range(levels)):
            blocks = nn.ModuleList()
            out = base * mult[level]
            for _ in range(nres + 1):
                blocks.append(ResBlock(ch + skips.pop(), out, temb, cfg["dropout"]))
                ch = out
                if sizes[level] in cfg["attention_resolutions"]:
                    blocks.append(attn(ch))
            if level > 0:
                blocks.append(Upsample(ch))
            self.up.append(blocks)
        assert not skips, "skip bookkeeping went wrong"

        self.out_norm = group_norm(ch)
        self.out_conv = nn.Conv2d(ch, cfg["out_channels"], 3, padding=1)

    def forward(self, x, t):
        temb = self.time(timestep_embedding(t, self.base))
        h = self.stem(x)
        skips = [h]
        for blocks in self.down:
            for block, push in zip(blocks, blocks.push):
                h = block(h, temb) if isinstance(block, ResBlock) else block(h)
                if push:
                    skips.append(h)
        for block in self.mid:
            h = block(h, temb) if isinstance(block, ResBlock) else block(h)
        for blocks in self.up:
            for block in blocks:
                if isinstance(block, ResBlock):
                    h = block(torch.cat([h, skips.pop()], dim=1), temb)
                else:
                    h = block(h)
        assert not skips
        return self.out_conv(F.silu(self.out_norm(h)))


def blas_description():
    """Which BLAS the process really loaded: torch's build config says BLAS_INFO=generic on Debian."""
    config = torch.__config__.show()
    info = next((part.split("=", 1)[1] for part in config.replace(",", " ").split() if part.startswith("BLAS_INFO=")), "?")
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))  # make sure the BLAS is loaded
    libs = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if any(key in path for key in ("blas", "lapack", "mkl", "dnnl")):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    blas_threads = None
    openblas = sorted(p for p in libs if "openblas" in p)
    if openblas:
        try:
            import ctypes

            blas_threads = ctypes.CDLL(openblas[0]).openblas_get_num_threads()
        except (OSError, AttributeError):
            pass
    names = sorted({os.path.basename(p) for p in libs})
    kind = "OpenBLAS" if openblas else ("MKL" if any("mkl" in p for p in libs) else "unknown")
    dnnl = " + oneDNN" if torch.backends.mkldnn.is_available() else ""
    desc = f"{kind}{dnnl} (torch BLAS_INFO={info}; loaded: {', '.join(names) or 'none found'})"
    if openblas:
        desc += f"; OpenBLAS from {os.path.dirname(openblas[0])}"
    return desc, blas_threads


def time_median(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return statistics.median(wall), wall, statistics.median(cpu)


def main():
    if ARGS.threads > 0:
        torch.set_num_threads(ARGS.threads)
    torch.manual_seed(ARGS.seed)
    model = UNet(CONFIG)
    params = sum(p.numel() for p in model.parameters())
    print(f"unet-mnist-s (PyTorch peer): {params:,} parameters", file=sys.stderr)
    assert params == EXPECTED_PARAMS, f"parameter count {params} != diffpress's {EXPECTED_PARAMS}"

    b, s = ARGS.batch, CONFIG["image_size"]
    x = torch.randn(b, CONFIG["in_channels"], s, s)
    t = torch.rand(b) * 1000
    target = torch.randn(b, CONFIG["out_channels"], s, s)
    blas, blas_threads = blas_description()

    model.eval()

    def forward():
        with torch.no_grad():
            y = model(x, t)
        float(y[0, 0, 0, 0])  # force (eager CPU ops are synchronous anyway)

    fwd_ms, fwd_samples, fwd_cpu = time_median(forward, ARGS.repeats, ARGS.warmup)

    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x, t), target)
        loss.backward()
        opt.step()
        return loss.item()

    step_ms, step_samples, step_cpu = time_median(train_step, ARGS.repeats, ARGS.warmup)

    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "params": params,
        "batch": b,
        "repeats": ARGS.repeats,
        "warmup": ARGS.warmup,
        "forward_ms": round(fwd_ms, 2),
        "train_step_ms": round(step_ms, 2),
        "forward_samples_ms": [round(v, 2) for v in fwd_samples],
        "train_step_samples_ms": [round(v, 2) for v in step_samples],
        # Median process CPU time over median wall time: roughly how many cores the runs kept busy.
        "forward_cpu_per_wall": round(fwd_cpu / fwd_ms, 2),
        "train_step_cpu_per_wall": round(step_cpu / step_ms, 2),
        "blas": blas,
        "blas_threads": blas_threads,
        "python": sys.version.split()[0],
    }))


if __name__ == "__main__":
    main()
