import * as tf from '@tensorflow/tfjs';
import { DiagnosticTable } from '@diffpress/core';
import { PipelineModel, SamplerConfig, SamplingHook, UNetPart, sample } from '@diffpress/diffusion';

/** Per-block relative change of the features between adjacent sampler steps. */
export interface FeatureChange {
  /** Block names in call order (`stem`, `down.0.res.0`, …, `mid.res2`, `up.1.res.0`, …). */
  blocks: string[];
  /** Part of each block. */
  parts: UNetPart[];
  /** `change[i][b]`: mean over samples of ‖F_b(step i+1) − F_b(step i)‖ / ‖F_b(step i)‖. */
  change: number[][];
}

function partOf(block: string): UNetPart {
  if (block === 'stem' || block.startsWith('down.')) return 'encoder';
  if (block.startsWith('mid.')) return 'middle';
  return 'decoder';
}

/**
 * Measures how much every block's output changes from one sampler step to the next along the model's own
 * trajectories (Faster Diffusion's Fig. 3 premise: encoder features change little, decoder features a lot). The
 * earlier pipeline steps' hooks wrap the calls (the model as it runs, e.g. with per-step quantizers).
 */
export function featureChange(model: PipelineModel, sampler: SamplerConfig, seed: number, count: number, hooks: readonly SamplingHook[]): FeatureChange {
  const unet = model.unet;
  const blocks = ['stem', ...unet.blockNames()];
  const sums: number[][] = [];
  let previous: Record<string, tf.Tensor> | null = null;
  const record: SamplingHook = {
    name: 'feature-change',
    beginSample: () => {
      if (previous) tf.dispose(Object.values(previous));
      previous = null;
    },
    endSample: () => {
      if (previous) tf.dispose(Object.values(previous));
      previous = null;
    },
    call: (c) =>
      c.run(() => {
        const { output, features } = unet.forwardWithFeatures(c.z, c.modelTime);
        if (previous) {
          const before = previous;
          const n = c.z.shape[0];
          // Every block's summed relative change in one tensor, read once (a read per block would stall each step).
          const rel = tf.stack(blocks.map((b) => {
            const diff = tf.norm(tf.sub(features[b], before[b]).reshape([n, -1]), 'euclidean', 1);
            return tf.sum(tf.div(diff, tf.maximum(tf.norm(before[b].reshape([n, -1]), 'euclidean', 1), 1e-12)));
          }));
          const row = Array.from(rel.dataSync());
          const i = c.stepIndex - 1;
          sums[i] = sums[i] ? sums[i].map((s, k) => s + row[k]) : row;
          tf.dispose(Object.values(before));
        }
        previous = Object.fromEntries(blocks.map((b) => [b, tf.keep(features[b])]));
        return output;
      }),
  };
  const c = unet.plan.config;
  sample({ model: unet, schedule: model.schedule, prediction: model.prediction, shape: [c.imageSize[0], c.imageSize[1], c.inChannels], count, seed, sampler, hooks: [...hooks, record], batchSize: count, onBatch: () => undefined });
  return { blocks, parts: blocks.map(partOf), change: sums.map((row) => row.map((s) => s / count)) };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * The premise diagnostic as two report tables: per block (mean over step pairs) and per step pair (mean over the
 * encoder + middle blocks vs the decoder blocks), with a sentence saying whether the model keeps the premise.
 */
export function premiseTables(id: string, fc: FeatureChange, count: number): DiagnosticTable[] {
  const perBlock = fc.blocks.map((b, k) => ({ b, part: fc.parts[k], v: mean(fc.change.map((row) => row[k])) }));
  const enc = mean(perBlock.filter((r) => r.part !== 'decoder').map((r) => r.v));
  const dec = mean(perBlock.filter((r) => r.part === 'decoder').map((r) => r.v));
  const r = enc / dec;
  // The paper's premise is "encoder changes ≪ decoder changes" (its Fig. 3); we call a ratio below 1/2 a hold, 1/2 … 1
  // a weak one (encoder features change nearly as much), and ≥ 1 a break.
  const state = r < 0.5 ? 'holds on this model' : r < 1 ? 'holds only weakly on this model (the encoder features change nearly as much as the decoder\'s)' : 'is broken by this model';
  const verdict = `mean change of the encoder + middle blocks ${enc.toPrecision(3)}, of the decoder blocks ${dec.toPrecision(3)}, ratio ${r.toFixed(2)}: the premise of encoder propagation (ratio ≪ 1) ${state}`;
  const note = `Relative change ‖F(step i+1) − F(step i)‖ / ‖F(step i)‖ of every block's output along the model's own trajectories, mean over ${count} samples; ${verdict}.`;
  return [
    {
      id: `${id}.premise-blocks`,
      title: 'Premise: feature change between adjacent steps, per block',
      description: note,
      columns: ['block', 'part', 'relative change'],
      rows: perBlock.map((r) => [r.b, r.part, Number(r.v.toPrecision(4))]),
    },
    {
      id: `${id}.premise-steps`,
      title: 'Premise: feature change between adjacent steps, encoder vs decoder',
      description: 'Mean relative change of the encoder + middle blocks and of the decoder blocks from step i to step i + 1 (step 0 is the noisiest).',
      columns: ['steps', 'encoder + middle', 'decoder'],
      rows: fc.change.map((row, i) => [
        `${i}→${i + 1}`,
        Number(mean(row.filter((_, k) => fc.parts[k] !== 'decoder')).toPrecision(4)),
        Number(mean(row.filter((_, k) => fc.parts[k] === 'decoder')).toPrecision(4)),
      ]),
    },
  ];
}
