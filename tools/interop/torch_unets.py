#!/usr/bin/env python3
"""The two PyTorch UNet layouts that diffpress imports (packages/diffusion/src/interop/), as small torch modules.

Written for diffpress from the structure of the public reference code, so that state dicts made here have exactly
the parameter names, shapes and numerics of real checkpoints:

- `DdimModel`: the `Model` of the official DDIM code (ermongroup/ddim, `models/diffusion.py`, identical to
  pesser's `pytorch_diffusion`): keys `temb.dense.{0,1}`, `conv_in`, `down.{i}.block.{j}.{norm1,conv1,temb_proj,
  norm2,conv2,nin_shortcut}`, `down.{i}.attn.{j}.{norm,q,k,v,proj_out}` (1x1 convs), `down.{i}.downsample.conv`,
  `mid.{block_1,attn_1,block_2}`, `up.{i}.block.{j}`, `up.{i}.attn.{j}`, `up.{i}.upsample.conv`, `norm_out`,
  `conv_out`. GroupNorm(32, eps 1e-6) everywhere (`num_groups` may be lowered for tiny test models), 1-head
  attention, sinusoid [sin, cos] with f_k = exp(-k ln(10000) / (half - 1)), stride-2 3x3 down-sampling after a
  (0, 1, 0, 1) pad, or 2x2 average pooling without `resamp_with_conv`.
- `DiffusersUNet2D`: a module with the parameter names and numerics of diffusers' `UNet2DModel` for the block types
  `DownBlock2D`/`AttnDownBlock2D`/`UpBlock2D`/`AttnUpBlock2D` and mid block `UNetMidBlock2D`: `time_embedding.
  linear_{1,2}`, `down_blocks.{i}.resnets.{j}.{norm1,conv1,time_emb_proj,norm2,conv2,conv_shortcut}`,
  `down_blocks.{i}.attentions.{j}.{group_norm,to_q,to_k,to_v,to_out.0}` (Linear), `down_blocks.{i}.downsamplers.0.
  conv`, `mid_block.{resnets.{0,1},attentions.0}`, `up_blocks.{i}...` (deepest level first), `conv_norm_out`,
  `conv_out`. It takes the fields of a diffusers `config.json` (`flip_sin_to_cos`, `freq_shift`,
  `downsample_padding`, `attention_head_dim`, `norm_num_groups`, `norm_eps`, `resnet_time_scale_shift`, ...).

    /usr/bin/python3 tools/interop/torch_unets.py      # prints the parameter count of DDIM's CIFAR-10 model

Run with Debian's Python (/usr/bin/python3), which has python3-torch.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# DDIM's configs/cifar10.yml (model and data sections): 35,746,307 parameters.
DDIM_CIFAR10 = {
    "in_channels": 3,
    "out_ch": 3,
    "ch": 128,
    "ch_mult": [1, 2, 2, 2],
    "num_res_blocks": 2,
    "attn_resolutions": [16],
    "dropout": 0.1,
    "resamp_with_conv": True,
    "resolution": 32,
}
DDIM_CIFAR10_PARAMS = 35_746_307


def sinusoid(t, dim, flip_sin_to_cos=False, freq_shift=1.0):
    """[sin, cos] (or [cos, sin] flipped) of t * f_k, f_k = exp(-k ln(10000) / (half - freq_shift)), zero-padded."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / (half - freq_shift))
    args = t.float()[:, None] * freqs[None, :]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 == 1 else emb


# --------------------------------------------------------------------------------------------------------------
# The official DDIM / pytorch_diffusion layout


class DdimResnetBlock(nn.Module):
    def __init__(self, cin, cout, temb_ch, dropout, groups):
        super().__init__()
        self.cin, self.cout = cin, cout
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb_proj = nn.Linear(temb_ch, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-6)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return (self.nin_shortcut(x) if self.cin != self.cout else x) + h


class DdimAttnBlock(nn.Module):
    """Single-head attention over pixels with 1x1-conv projections, softmax(q k^T / sqrt(C)) v."""

    def __init__(self, channels, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        hn = self.norm(x)
        b, c, h, w = x.shape
        q = self.q(hn).reshape(b, c, h * w).transpose(1, 2)  # [b, hw, c]
        k = self.k(hn).reshape(b, c, h * w)  # [b, c, hw]
        v = self.v(hn).reshape(b, c, h * w)
        weights = torch.softmax(torch.bmm(q, k) / math.sqrt(c), dim=2)  # [b, hw_q, hw_k]
        out = torch.bmm(v, weights.transpose(1, 2)).reshape(b, c, h, w)
        return x + self.proj_out(out)


class DdimDownsample(nn.Module):
    def __init__(self, channels, with_conv):
        super().__init__()
        self.with_conv = with_conv
        if with_conv:
            self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x):
        if self.with_conv:
            return self.conv(F.pad(x, (0, 1, 0, 1)))
        return F.avg_pool2d(x, 2, 2)


class DdimUpsample(nn.Module):
    def __init__(self, channels, with_conv):
        super().__init__()
        self.with_conv = with_conv
        if with_conv:
            self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x) if self.with_conv else x


class DdimModel(nn.Module):
    """DDIM's `Model`, built from the fields of its config's `model` section plus `resolution` (data.image_size)."""

    def __init__(self, ch, out_ch, ch_mult, num_res_blocks, attn_resolutions, dropout, resamp_with_conv,
                 in_channels, resolution, num_groups=32):
        super().__init__()
        self.ch = ch
        self.num_resolutions = len(ch_mult)
        self.num_res_blocks = num_res_blocks
        temb_ch = 4 * ch
        g = num_groups
        self.temb = nn.Module()
        self.temb.dense = nn.ModuleList([nn.Linear(ch, temb_ch), nn.Linear(temb_ch, temb_ch)])
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1)

        res = resolution
        in_mult = (1,) + tuple(ch_mult)
        self.down = nn.ModuleList()
        block_in = ch
        for level in range(self.num_resolutions):
            blocks, attns = nn.ModuleList(), nn.ModuleList()
            block_in = ch * in_mult[level]
            block_out = ch * ch_mult[level]
            for _ in range(num_res_blocks):
                blocks.append(DdimResnetBlock(block_in, block_out, temb_ch, dropout, g))
                block_in = block_out
                if res in attn_resolutions:
                    attns.append(DdimAttnBlock(block_in, g))
            down = nn.Module()
            down.block, down.attn = blocks, attns
            if level != self.num_resolutions - 1:
                down.downsample = DdimDownsample(block_in, resamp_with_conv)
                res //= 2
            self.down.append(down)

        self.mid = nn.Module()
        self.mid.block_1 = DdimResnetBlock(block_in, block_in, temb_ch, dropout, g)
        self.mid.attn_1 = DdimAttnBlock(block_in, g)
        self.mid.block_2 = DdimResnetBlock(block_in, block_in, temb_ch, dropout, g)

        ups = []
        for level in reversed(range(self.num_resolutions)):
            blocks, attns = nn.ModuleList(), nn.ModuleList()
            block_out = ch * ch_mult[level]
            for i in range(num_res_blocks + 1):
                skip_in = ch * (in_mult[level] if i == num_res_blocks else ch_mult[level])
                blocks.append(DdimResnetBlock(block_in + skip_in, block_out, temb_ch, dropout, g))
                block_in = block_out
                if res in attn_resolutions:
                    attns.append(DdimAttnBlock(block_in, g))
            up = nn.Module()
            up.block, up.attn = blocks, attns
            if level != 0:
                up.upsample = DdimUpsample(block_in, resamp_with_conv)
                res *= 2
            ups.insert(0, up)
        self.up = nn.ModuleList(ups)
        self.norm_out = nn.GroupNorm(g, block_in, eps=1e-6)
        self.conv_out = nn.Conv2d(block_in, out_ch, 3, padding=1)

    def forward(self, x, t):
        temb = self.temb.dense[1](F.silu(self.temb.dense[0](sinusoid(t, self.ch))))
        hs = [self.conv_in(x)]
        for level in range(self.num_resolutions):
            down = self.down[level]
            for i in range(self.num_res_blocks):
                h = down.block[i](hs[-1], temb)
                if len(down.attn) > 0:
                    h = down.attn[i](h)
                hs.append(h)
            if level != self.num_resolutions - 1:
                hs.append(down.downsample(hs[-1]))
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(hs[-1], temb)), temb)
        for level in reversed(range(self.num_resolutions)):
            up = self.up[level]
            for i in range(self.num_res_blocks + 1):
                h = up.block[i](torch.cat([h, hs.pop()], dim=1), temb)
                if len(up.attn) > 0:
                    h = up.attn[i](h)
            if level != 0:
                h = up.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


# --------------------------------------------------------------------------------------------------------------
# The diffusers UNet2DModel layout


class DiffusersResnet(nn.Module):
    def __init__(self, cin, cout, temb_ch, groups, eps, dropout, time_scale_shift):
        super().__init__()
        self.scale_shift = time_scale_shift == "scale_shift"
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_ch, 2 * cout if self.scale_shift else cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        e = self.time_emb_proj(F.silu(temb))[:, :, None, None]
        if self.scale_shift:
            scale, shift = torch.chunk(e, 2, dim=1)
            h = self.norm2(h) * (1 + scale) + shift
        else:
            h = self.norm2(h + e)
        h = self.conv2(self.dropout(F.silu(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class DiffusersAttention(nn.Module):
    """Self-attention with Linear projections on the channel axis, heads of `head_dim` channels, residual added."""

    def __init__(self, channels, head_dim, groups, eps):
        super().__init__()
        self.heads = channels // head_dim
        self.group_norm = nn.GroupNorm(groups, channels, eps=eps)
        self.to_q = nn.Linear(channels, channels)
        self.to_k = nn.Linear(channels, channels)
        self.to_v = nn.Linear(channels, channels)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels), nn.Dropout(0.0)])

    def forward(self, x):
        b, c, h, w = x.shape
        d = c // self.heads
        hn = self.group_norm(x).reshape(b, c, h * w).transpose(1, 2)  # [b, hw, c]

        def split(t):
            return t.reshape(b, h * w, self.heads, d).transpose(1, 2)  # [b, heads, hw, d]

        q, k, v = split(self.to_q(hn)), split(self.to_k(hn)), split(self.to_v(hn))
        probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d), dim=-1)
        o = torch.matmul(probs, v).transpose(1, 2).reshape(b, h * w, c)
        o = self.to_out[1](self.to_out[0](o))
        return x + o.transpose(1, 2).reshape(b, c, h, w)


class DiffusersDownsample(nn.Module):
    def __init__(self, channels, padding):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class DiffusersUpsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DiffusersDownBlock(nn.Module):
    def __init__(self, cin, cout, layers, attention, add_downsample, cfg, temb_ch):
        super().__init__()
        self.resnets = nn.ModuleList(
            [DiffusersResnet(cin if i == 0 else cout, cout, temb_ch, cfg["norm_num_groups"], cfg["norm_eps"],
                             cfg["dropout"], cfg["resnet_time_scale_shift"]) for i in range(layers)])
        if attention:
            head_dim = cfg["attention_head_dim"] or cout
            self.attentions = nn.ModuleList(
                [DiffusersAttention(cout, head_dim, cfg["norm_num_groups"], cfg["norm_eps"]) for _ in range(layers)])
        else:
            self.attentions = None
        if add_downsample:
            self.downsamplers = nn.ModuleList([DiffusersDownsample(cout, cfg["downsample_padding"])])
        else:
            self.downsamplers = None

    def forward(self, h, temb):
        outs = []
        for i, resnet in enumerate(self.resnets):
            h = resnet(h, temb)
            if self.attentions is not None:
                h = self.attentions[i](h)
            outs.append(h)
        if self.downsamplers is not None:
            h = self.downsamplers[0](h)
            outs.append(h)
        return h, outs


class DiffusersUpBlock(nn.Module):
    def __init__(self, cin, prev_out, cout, layers, attention, add_upsample, cfg, temb_ch):
        super().__init__()
        resnets = []
        for i in range(layers):
            skip = cin if i == layers - 1 else cout
            resnets.append(DiffusersResnet((prev_out if i == 0 else cout) + skip, cout, temb_ch,
                                           cfg["norm_num_groups"], cfg["norm_eps"], cfg["dropout"],
                                           cfg["resnet_time_scale_shift"]))
        self.resnets = nn.ModuleList(resnets)
        if attention:
            head_dim = cfg["attention_head_dim"] or cout
            self.attentions = nn.ModuleList(
                [DiffusersAttention(cout, head_dim, cfg["norm_num_groups"], cfg["norm_eps"]) for _ in range(layers)])
        else:
            self.attentions = None
        self.upsamplers = nn.ModuleList([DiffusersUpsample(cout)]) if add_upsample else None

    def forward(self, h, skips, temb):
        for i, resnet in enumerate(self.resnets):
            h = resnet(torch.cat([h, skips.pop()], dim=1), temb)
            if self.attentions is not None:
                h = self.attentions[i](h)
        if self.upsamplers is not None:
            h = self.upsamplers[0](h)
        return h


class DiffusersMidBlock(nn.Module):
    def __init__(self, channels, cfg, temb_ch):
        super().__init__()

        def resnet():
            return DiffusersResnet(channels, channels, temb_ch, cfg["norm_num_groups"], cfg["norm_eps"],
                                   cfg["dropout"], cfg["resnet_time_scale_shift"])

        self.resnets = nn.ModuleList([resnet(), resnet()])
        head_dim = cfg["attention_head_dim"] or channels
        self.attentions = nn.ModuleList([DiffusersAttention(channels, head_dim, cfg["norm_num_groups"], cfg["norm_eps"])])

    def forward(self, h, temb):
        return self.resnets[1](self.attentions[0](self.resnets[0](h, temb)), temb)


DIFFUSERS_DEFAULTS = {
    "in_channels": 3,
    "out_channels": 3,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"],
    "up_block_types": ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
    "block_out_channels": [224, 448, 672, 896],
    "layers_per_block": 2,
    "downsample_padding": 1,
    "dropout": 0.0,
    "attention_head_dim": 8,
    "norm_num_groups": 32,
    "norm_eps": 1e-5,
    "resnet_time_scale_shift": "default",
}


class DiffusersUNet2D(nn.Module):
    """UNet2DModel-compatible parameters and forward for the plain down/up/attention block types."""

    def __init__(self, **config):
        super().__init__()
        cfg = {**DIFFUSERS_DEFAULTS, **config}
        self.cfg = cfg
        chans = cfg["block_out_channels"]
        temb_ch = 4 * chans[0]
        self.conv_in = nn.Conv2d(cfg["in_channels"], chans[0], 3, padding=1)
        self.time_embedding = nn.Module()
        self.time_embedding.linear_1 = nn.Linear(chans[0], temb_ch)
        self.time_embedding.linear_2 = nn.Linear(temb_ch, temb_ch)
        n = len(chans)
        self.down_blocks = nn.ModuleList()
        out = chans[0]
        for i, kind in enumerate(cfg["down_block_types"]):
            cin, out = out, chans[i]
            assert kind in ("DownBlock2D", "AttnDownBlock2D"), kind
            self.down_blocks.append(DiffusersDownBlock(cin, out, cfg["layers_per_block"], kind == "AttnDownBlock2D",
                                                       i < n - 1, cfg, temb_ch))
        self.mid_block = DiffusersMidBlock(chans[-1], cfg, temb_ch)
        rev = list(reversed(chans))
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i, kind in enumerate(cfg["up_block_types"]):
            prev, out, cin = out, rev[i], rev[min(i + 1, n - 1)]
            assert kind in ("UpBlock2D", "AttnUpBlock2D"), kind
            self.up_blocks.append(DiffusersUpBlock(cin, prev, out, cfg["layers_per_block"] + 1, kind == "AttnUpBlock2D",
                                                   i < n - 1, cfg, temb_ch))
        self.conv_norm_out = nn.GroupNorm(cfg["norm_num_groups"], chans[0], eps=cfg["norm_eps"])
        self.conv_out = nn.Conv2d(chans[0], cfg["out_channels"], 3, padding=1)

    def forward(self, x, t):
        chans = self.cfg["block_out_channels"]
        temb = sinusoid(t, chans[0], self.cfg["flip_sin_to_cos"], self.cfg["freq_shift"])
        temb = self.time_embedding.linear_2(F.silu(self.time_embedding.linear_1(temb)))
        h = self.conv_in(x)
        skips = [h]
        for block in self.down_blocks:
            h, outs = block(h, temb)
            skips.extend(outs)
        h = self.mid_block(h, temb)
        for block in self.up_blocks:
            h = block(h, skips, temb)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


def parameter_count(module):
    return sum(p.numel() for p in module.parameters())


if __name__ == "__main__":
    model = DdimModel(**DDIM_CIFAR10)
    count = parameter_count(model)
    print(f"DDIM CIFAR-10 (architecture only): {count:,} parameters")
    assert count == DDIM_CIFAR10_PARAMS, f"expected {DDIM_CIFAR10_PARAMS:,}"
