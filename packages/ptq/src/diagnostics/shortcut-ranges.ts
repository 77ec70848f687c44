import * as tf from '@tensorflow/tfjs';
import { AnyModule, DiagnosticTable, Module } from '@diffpress/core';
import { ResBlock, UNet } from '@diffpress/diffusion';
import { CalibrationSet, calibrationBatch } from '../calibration/calibration-set';
import { QuantizedUNet, setQuantState } from '../quant/quantize-unet';

/** Records the value range of each half of its input, then runs the module it stands in for. */
class HalfRangeProbe extends Module {
  readonly min = [Infinity, Infinity];
  readonly max = [-Infinity, -Infinity];

  constructor(
    private readonly inner: Module,
    private readonly split: number,
  ) {
    super();
  }

  forward(x: tf.Tensor): tf.Tensor {
    const parts = tf.split(x, [this.split, (x.shape[3] as number) - this.split], 3);
    parts.forEach((p, h) => {
      const [mn, mx] = [tf.min(p).dataSync()[0], tf.max(p).dataSync()[0]];
      this.min[h] = Math.min(this.min[h], mn);
      this.max[h] = Math.max(this.max[h], mx);
    });
    tf.dispose(parts);
    return this.inner.forward(x);
  }
}

/**
 * The input of each decoder shortcut is `concat(h_deep, h_skip)`; Q-Diffusion's split quantization is motivated by
 * the two halves having very different ranges (bimodal input). This measures both ranges on calibration rows with
 * the network in FP and reports their ratio.
 */
export function shortcutRangeRatios(id: string, unet: UNet, q: Pick<QuantizedUNet, 'layers' | 'attentions'>, set: CalibrationSet, rows: number[]): DiagnosticTable {
  const shortcuts = unet.resBlockNames().map((name) => [name, unet.getModule(name) as ResBlock] as const).filter(([, b]) => b.concatSplit != null && b.shortcut != null);
  const probes = shortcuts.map(([name, b]) => {
    const path = `${name}.shortcut`;
    const original = unet.getModule(path);
    const probe = new HalfRangeProbe(original as unknown as Module, b.concatSplit as number);
    unet.replace(path, probe as AnyModule);
    return { path, original, probe };
  });
  setQuantState(q, { weights: false, activations: false });
  try {
    for (let i = 0; i < rows.length; i += 32) {
      const { x, t } = calibrationBatch(set, rows.slice(i, i + 32));
      tf.dispose(unet.forward(x, t));
      tf.dispose([x, t]);
    }
  } finally {
    for (const p of probes) unet.replace(p.path, p.original);
    setQuantState(q, { weights: true, activations: true });
  }
  return {
    id: `${id}.shortcut-range-ratio`,
    title: 'Decoder shortcut inputs: range of the deep vs the skip half',
    description: `Value range (max − min) of each half of concat(h_deep, h_skip) at the 1×1 shortcut, FP network, ${rows.length} calibration rows. A ratio far from 1 is the bimodal input that split quantization addresses.`,
    columns: ['layer', 'deep range', 'skip range', 'ratio'],
    rows: probes.map(({ path, probe }) => {
      const deep = probe.max[0] - probe.min[0];
      const skip = probe.max[1] - probe.min[1];
      return [path, deep, skip, deep / skip];
    }),
  };
}
