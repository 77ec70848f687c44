import * as tf from '@tensorflow/tfjs';
import { DiagnosticTable, withCallContext } from '@diffpress/core';
import { PipelineModel, SamplerConfig, UNet, samplerTimes } from '@diffpress/diffusion';

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
 * feature under the quantized and the FP network, at every step of the sampler (ptq spec §6). Three tables: the full
 * grid (`<id>.temporal-cosine`: one row per sampler step t, one column per residual block), and its summaries per
 * step (minimum and mean over blocks) and per block (minimum and mean over steps).
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
      id: `${id}.temporal-cosine`,
      title: 'Temporal-feature cosine per step and block (TFMQ-DM Fig. 2)',
      description: `cos(emb_t,i, êmb_t,i) of every residual block's time projection (columns), quantized vs FP, at every sampler step (rows; step 0 is the noisiest); 1 is exact.`,
      columns: ['step', 't', ...blocks],
      rows: times.map((t, s) => [s, t, ...cos[s]]),
    },
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
