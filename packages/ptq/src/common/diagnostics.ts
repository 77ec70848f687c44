import * as tf from '@tensorflow/tfjs';
import { AnyModule, DiagnosticTable, Module, withCallContext } from '@diffpress/core';
import { PipelineModel, ResBlock, SamplerConfig, SamplingHook, UNet, samplerTimes } from '@diffpress/diffusion';
import { teacherForcedEpsMse } from '@diffpress/eval';
import { CalibrationSet, calibrationBatch } from '../calibration/calibration-set';
import { QuantizedUNet, setQuantState } from '../quant/quantize-unet';
import type { Phase } from './stage';

/**
 * Teacher-forced ε-MSE of the quantized model against the FP model at every sampler step (ptq spec §6): both see
 * the FP trajectory's `(x_t, t)`, so errors do not compound and the table shows where in the trajectory the
 * quantization error sits.
 */
export function epsMsePerStep(id: string, quant: PipelineModel, fp: PipelineModel, sampler: SamplerConfig, seed: number, trajectories: number, hook?: SamplingHook): DiagnosticTable {
  const c = fp.unet.plan.config;
  const r = teacherForcedEpsMse({
    model: quant, reference: fp, sampler, seed, count: trajectories, shape: [c.imageSize[0], c.imageSize[1], c.inChannels],
    buckets: samplerTimes(fp.schedule, sampler).length, hooks: hook ? [hook] : [], batchSize: 32,
  });
  return {
    id: `${id}.eps-mse-per-step`,
    title: 'ε-MSE vs FP per sampler step (teacher-forced)',
    description: `Mean squared difference of the predicted noise against the FP model's at the FP trajectory's inputs, ${trajectories} trajectories; step 0 is the noisiest. Mean over steps: ${r.mean.toExponential(3)}.`,
    columns: ['step', 't', 'ε-MSE'],
    rows: r.buckets.map((b) => [b.fromStep, b.times[0], b.mse]),
  };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? (aa === bb ? 1 : 0) : ab / Math.sqrt(aa * bb);
}

/**
 * TFMQ-DM's Fig. 2 measure: the cosine similarity `cos(emb_{t,i}, êmb_{t,i})` of every residual block's temporal
 * feature under the quantized and the FP network, at every step of the sampler. Two tables: per step (minimum and
 * mean over blocks) and per block (minimum and mean over steps).
 */
export function temporalFeatureCosine(id: string, quant: PipelineModel, fp: PipelineModel, sampler: SamplerConfig): DiagnosticTable[] {
  const times = samplerTimes(fp.schedule, sampler);
  const blocks = fp.unet.resBlockNames();
  const cos: number[][] = times.map((t, s) => {
    const mt = tf.tensor1d([fp.schedule.modelTime(t)]);
    try {
      const features = (u: UNet): Record<string, Float32Array> => {
        const temb = u.timeEmbedding(mt);
        const f = u.temporalFeatures(temb);
        const out = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v.dataSync() as Float32Array]));
        tf.dispose([temb, ...Object.values(f)]);
        return out;
      };
      const a = features(fp.unet);
      // At the sampler's step s, as the sampler would call it (per-step quantizers pick that step's parameters).
      const b = withCallContext({ stepIndices: [s] }, () => features(quant.unet));
      return blocks.map((name) => cosine(a[name], b[name]));
    } finally {
      mt.dispose();
    }
  });
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  return [
    {
      id: `${id}.temporal-cosine-per-step`,
      title: 'Temporal-feature cosine per step (TFMQ-DM Fig. 2)',
      description: `cos(emb_t,i, êmb_t,i) of the ${blocks.length} residual blocks' time projections, quantized vs FP; 1 is exact.`,
      columns: ['step', 't', 'min over blocks', 'mean over blocks'],
      rows: times.map((t, s) => [s, t, Math.min(...cos[s]), mean(cos[s])]),
    },
    {
      id: `${id}.temporal-cosine-per-block`,
      title: 'Temporal-feature cosine per block',
      columns: ['block', 'min over steps', 'mean over steps'],
      rows: blocks.map((name, i) => {
        const col = cos.map((row) => row[i]);
        return [name, Math.min(...col), mean(col)];
      }),
    },
  ];
}

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

/** Wall-clock seconds of the phases of a calibration, and what each costs when computed. */
export function timingTable(id: string, phases: readonly Phase[]): DiagnosticTable {
  const sum = (k: 'seconds' | 'cost'): number => phases.reduce((s, p) => s + p[k], 0);
  return {
    id: `${id}.calibration-time`,
    title: 'Calibration wall-clock',
    description:
      'Seconds per phase on this machine. "cost s" is what the phase takes when computed: for a phase reused from the cache (a calibration set, or a weight reconstruction shared by configs that differ only in activations) it is the time of the run that computed it.',
    columns: ['phase', 'seconds', 'cost s'],
    rows: [...phases.map((p) => [p.name, p.seconds, p.cost]), ['total', sum('seconds'), sum('cost')]],
  };
}
