#!/usr/bin/env python3
"""Test fixtures of the PyTorch UNet importer (packages/diffusion/src/interop/torch-unet.spec.ts).

    /usr/bin/python3 tools/interop/make_torch_fixtures.py                       # the committed fixtures (seed 0)
    /usr/bin/python3 tools/interop/make_torch_fixtures.py --out /tmp/fx --seed 7 --variants

Builds the two layouts of tools/interop/torch_unets.py at a small size with seeded random weights (GroupNorm scales
and shifts included) and writes into --out (default packages/diffusion/src/interop/fixtures/):

- `ddim-small.{safetensors,pt}` (float16 and float32) + `ddim-small.config.json` (a DDIM-style config: data / model / diffusion sections;
  `model.num_groups` is an extension for models below DDIM's fixed 32 groups). The `.pt` is a `torch.save` of the
  state dict in which some tensors are views with their own strides and offsets (q/k/v of the middle attention are
  slices of one storage, `temb.dense.0.weight` is a transposed view, `conv_in.weight` a permuted one) and
  `conv_out.weight` is stored as float16 (HalfStorage).
- `diffusers-small.{safetensors,pt}` + `diffusers-small.config.json` (a diffusers UNet2DModel `config.json`, with
  `flip_sin_to_cos` true so the importer must permute the sinusoid rows, multi-head attention, freq_shift 1 and
  downsample_padding 0). Tensors are stored as float16, `conv_out.weight` as bfloat16; the `.pt` holds
  `{"state_dict": ..., "step": ..., "lr": ..., "flags": [...]}` like a training checkpoint.
- `io.safetensors`: a fixed input `x` [2, 3, 16, 16] (NCHW), times `t` [2], and torch's outputs `ddim` and
  `diffusers` (NCHW, float32).
- With --variants (the spec's fresh-fixture check): `ddim-pool` (resamp_with_conv false) and
  `diffusers-scaleshift` (resnet_time_scale_shift scale_shift, one head, flip_sin_to_cos false) as `.safetensors`
  with their configs, and `io-variants.safetensors` with torch's outputs on the same input.
- Files the importer must refuse: `refuse-os-system.pt` (a pickled `os.system('echo pwned')` call),
  `refuse-module.pt` (a whole `nn.Linear` module), `refuse-legacy.pt` (the pre-1.6 non-zip format) and
  `refuse-corrupt-pickle.pt` (a valid zip whose data.pkl is cut short).

safetensors files are written here by hand (8-byte little-endian header length, JSON header, raw bytes), so no
`safetensors` package is needed. All weights are rounded to float16 first, so half-precision storage is exact and
torch computes its outputs with exactly the stored values. Run with Debian's Python (/usr/bin/python3).
"""

import argparse
import collections
import io
import json
import os
import struct
import sys
import zipfile

import torch
import torch.nn as nn

sys.dont_write_bytecode = True  # no __pycache__ next to the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_unets import DdimModel, DiffusersUNet2D  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "packages", "diffusion", "src", "interop", "fixtures")

DDIM_CONFIG = {
    "data": {"dataset": "fixture", "image_size": 16, "channels": 3},
    "model": {
        "type": "simple",
        "in_channels": 3,
        "out_ch": 3,
        "ch": 8,
        "ch_mult": [1, 2],
        "num_res_blocks": 1,
        "attn_resolutions": [8],
        "dropout": 0.1,
        "resamp_with_conv": True,
        "num_groups": 4,
    },
    "diffusion": {"beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02, "num_diffusion_timesteps": 1000},
}

DIFFUSERS_CONFIG = {
    "_class_name": "UNet2DModel",
    "sample_size": 16,
    "in_channels": 3,
    "out_channels": 3,
    "center_input_sample": False,
    "time_embedding_type": "positional",
    "flip_sin_to_cos": True,
    "freq_shift": 1,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
    "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
    "block_out_channels": [8, 16],
    "layers_per_block": 1,
    "mid_block_scale_factor": 1,
    "downsample_padding": 0,
    "dropout": 0.0,
    "act_fn": "silu",
    "attention_head_dim": 4,
    "norm_num_groups": 4,
    "norm_eps": 1e-5,
    "resnet_time_scale_shift": "default",
    "add_attention": True,
    "class_embed_type": None,
    "num_class_embeds": None,
}

# Further conventions, checked by the spec only when it regenerates fixtures with torch (--variants): DDIM without
# resampling convs (2x2 average pooling, nearest up-sampling), and diffusers with scale-shift normalisation,
# one-head attention, the [sin, cos] sinusoid and GroupNorm eps 1e-6.
VARIANTS = {
    "ddim-pool": ("ddim", {**DDIM_CONFIG, "model": {**DDIM_CONFIG["model"], "resamp_with_conv": False}}),
    "diffusers-scaleshift": ("diffusers", {**DIFFUSERS_CONFIG, "resnet_time_scale_shift": "scale_shift",
                                           "attn_norm_num_groups": 4, "flip_sin_to_cos": False,
                                           "attention_head_dim": None, "norm_eps": 1e-6}),
}

SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype in (torch.float16, torch.bfloat16) else t.numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def randomise(model, generator):
    """Seeded weights: the default fan-in scale for convs/linears, GroupNorm scales near 1 and shifts near 0."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=generator))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=generator) / fan_in**0.5)
            # float16-representable values, so half-precision storage below is exact.
            p.copy_(p.half().float())


def ddim_model(seed, config=DDIM_CONFIG):
    m = config["model"]
    model = DdimModel(ch=m["ch"], out_ch=m["out_ch"], ch_mult=m["ch_mult"], num_res_blocks=m["num_res_blocks"],
                      attn_resolutions=m["attn_resolutions"], dropout=m["dropout"],
                      resamp_with_conv=m["resamp_with_conv"], in_channels=m["in_channels"],
                      resolution=config["data"]["image_size"], num_groups=m["num_groups"])
    randomise(model, torch.Generator().manual_seed(seed))
    return model.eval()


def diffusers_model(seed, config=DIFFUSERS_CONFIG):
    model = DiffusersUNet2D(**{k: v for k, v in config.items() if k in DIFFUSERS_KEYS})
    randomise(model, torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        w = model.conv_out.weight
        w.copy_(w.bfloat16().float())
    return model.eval()


DIFFUSERS_KEYS = {
    "in_channels", "out_channels", "flip_sin_to_cos", "freq_shift", "down_block_types", "up_block_types",
    "block_out_channels", "layers_per_block", "downsample_padding", "dropout", "attention_head_dim",
    "norm_num_groups", "norm_eps", "resnet_time_scale_shift",
}


def ddim_pt_state(model):
    """The state dict with some entries replaced by equal-valued views (offsets, non-contiguous strides, float16)."""
    sd = model.state_dict()
    out = collections.OrderedDict(sd)
    out._metadata = sd._metadata  # what torch.save of a real state dict pickles (via BUILD)
    q, k, v = (sd[f"mid.attn_1.{n}.weight"] for n in "qkv")
    stacked = torch.cat([q, k, v], dim=0)
    c = q.shape[0]
    for i, n in enumerate("qkv"):
        out[f"mid.attn_1.{n}.weight"] = stacked[i * c:(i + 1) * c]
    w = sd["temb.dense.0.weight"]
    out["temb.dense.0.weight"] = w.t().contiguous().t()
    w = sd["conv_in.weight"]
    out["conv_in.weight"] = w.permute(2, 3, 1, 0).contiguous().permute(3, 2, 0, 1)
    out["conv_out.weight"] = sd["conv_out.weight"].half()
    assert not out["temb.dense.0.weight"].is_contiguous() and not out["conv_in.weight"].is_contiguous()
    for name, t in out.items():
        assert torch.equal(t.float(), sd[name]), name
    return out


def diffusers_tensors(model):
    sd = model.state_dict()
    return {n: (t.bfloat16() if n == "conv_out.weight" else t.half()) for n, t in sd.items()}


class Pwned:
    """Unpickling this runs os.system: what a malicious checkpoint does."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variants", action="store_true", help="also write the VARIANTS and io-variants.safetensors")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    out = lambda name: os.path.join(a.out, name)  # noqa: E731

    ddim = ddim_model(a.seed)
    diffusers = diffusers_model(a.seed)
    g = torch.Generator().manual_seed(a.seed + 2)
    x = torch.randn(2, 3, 16, 16, generator=g)
    t = torch.tensor([3, 741], dtype=torch.int64)
    with torch.no_grad():
        y_ddim = ddim(x, t)
        y_diffusers = diffusers(x, t)

    with open(out("ddim-small.config.json"), "w") as f:
        json.dump(DDIM_CONFIG, f, indent=2)
        f.write("\n")
    with open(out("diffusers-small.config.json"), "w") as f:
        json.dump(DIFFUSERS_CONFIG, f, indent=2)
        f.write("\n")

    write_safetensors(out("ddim-small.safetensors"), {n: t.half() for n, t in ddim.state_dict().items()}, {"format": "pt"})
    torch.save(ddim_pt_state(ddim), out("ddim-small.pt"))
    dt = diffusers_tensors(diffusers)
    write_safetensors(out("diffusers-small.safetensors"), dt, {"format": "pt"})
    torch.save({"state_dict": collections.OrderedDict(dt), "step": 1234, "lr": 1e-4, "flags": [True, False, None]},
               out("diffusers-small.pt"))

    write_safetensors(out("io.safetensors"), {"x": x, "t": t.float(), "ddim": y_ddim, "diffusers": y_diffusers},
                      {"seed": str(a.seed), "torch": torch.__version__})

    torch.save({"conv.weight": torch.zeros(1), "payload": Pwned()}, out("refuse-os-system.pt"))
    torch.manual_seed(a.seed)
    torch.save(nn.Linear(2, 2), out("refuse-module.pt"))
    # The legacy format keys storages by object address, so this one file differs from run to run.
    torch.save({"w": torch.zeros(2)}, out("refuse-legacy.pt"), _use_new_zipfile_serialization=False)
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buf)
    # Re-zipped with deflate (which the reader also supports), the pickle cut in half.
    corrupt = zipfile.ZipFile(out("refuse-corrupt-pickle.pt"), "w", compression=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, corrupt as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                data = data[: len(data) // 2]
            entry = zipfile.ZipInfo("refuse-corrupt-pickle/" + info.filename.split("/", 1)[1], date_time=(2020, 1, 1, 0, 0, 0))
            dst.writestr(entry, data, compress_type=zipfile.ZIP_DEFLATED)

    if a.variants:
        outputs = {}
        for name, (layout, config) in VARIANTS.items():
            model = ddim_model(a.seed + 3, config) if layout == "ddim" else diffusers_model(a.seed + 3, config)
            with torch.no_grad():
                outputs[name] = model(x, t)
            with open(out(f"{name}.config.json"), "w") as f:
                json.dump(config, f, indent=2)
                f.write("\n")
            write_safetensors(out(f"{name}.safetensors"), dict(model.state_dict()), {"format": "pt"})
        write_safetensors(out("io-variants.safetensors"), {"x": x, "t": t.float(), **outputs}, {"seed": str(a.seed)})

    print(json.dumps({"out": a.out, "seed": a.seed, "torch": torch.__version__,
                      "ddim_params": sum(p.numel() for p in ddim.parameters()),
                      "diffusers_params": sum(p.numel() for p in diffusers.parameters())}))


if __name__ == "__main__":
    main()
