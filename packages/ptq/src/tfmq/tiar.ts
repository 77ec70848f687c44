import * as tf from '@tensorflow/tfjs';
import { Rng, matchesAnyGlob } from '@diffpress/core';
import { AdamW, UNet } from '@diffpress/diffusion';
import { AdaRound, AdaRoundSchedule, adaRoundBeta, adaRoundRegularizerOn } from '../quant/adaround';
import { QuantizedUNet, TEMPORAL_LAYERS, setQuantState } from '../quant/quantize-unet';
import { UnitReport } from '../recon/reconstruct';
import { WeightReconSetting } from '../common/config';

/** The module paths of TFMQ-DM's temporal information block: the time MLP and every block's embedding projection. */
export const TIB_LAYERS: readonly string[] = TEMPORAL_LAYERS;

/** The temporal features of `unet` at model times `t`, stacked per residual block (names in call order). */
function temporal(unet: UNet, t: tf.Tensor, names: readonly string[]): tf.Tensor[] {
  return tf.tidy(() => {
    const f = unet.temporalFeatures(unet.timeEmbedding(t));
    return names.map((n) => f[n]);
  });
}

/**
 * TFMQ-DM's temporal information aware reconstruction (ptq spec §4.2): the TIB — time MLP `h` and every residual
 * block's projection `g_i` — is reconstructed first, as one unit, with AdaRound on its quantized linears and the
 * loss `Σ_i ‖ĝ_i(ĥ(t)) − g_i(h(t))‖²` (sum over channels, mean over the batch of calibration times). Its input is
 * t alone, so the whole finite set of the sampler's times is the calibration data.
 *
 * @param modelTimes - The distinct model times of the calibration set.
 */
export function reconstructTib(q: QuantizedUNet, modelTimes: readonly number[], s: Omit<WeightReconSetting, 'init'>, rng: Rng, log: (line: string) => void): UnitReport {
  const t0 = performance.now();
  const layers = q.layers.filter(([p, l]) => matchesAnyGlob(p, TIB_LAYERS) && l.weightQuantizers().length > 0);
  const names = q.unet.resBlockNames();
  const times = tf.tensor1d([...modelTimes]);
  setQuantState(q, { weights: false, activations: false });
  const targets = temporal(q.unet, times, names);
  setQuantState(q, { weights: true, activations: false });
  times.dispose();
  const adarounds: AdaRound[] = layers.flatMap(([, l]) => l.beginAdaRound());
  const vars = adarounds.map((a) => a.alpha);
  const named = new Map(vars.map((v, i) => [`a${i}`, v]));
  const schedule: AdaRoundSchedule = { iters: s.iters, warmup: s.warmup, startBeta: s.betaStart, endBeta: s.betaEnd };
  const opt = new AdamW();
  let lossStart = NaN;
  let lossEnd = NaN;
  try {
    for (let it = 0; it < s.iters && vars.length > 0; it++) {
      const idx = s.batchSize >= modelTimes.length ? modelTimes.map((_, i) => i) : rng.permutation(modelTimes.length).slice(0, s.batchSize);
      const tb = tf.tensor1d(idx.map((i) => modelTimes[i]));
      const tgt = targets.map((t) => tf.gather(t, idx));
      let rec = NaN;
      const beta = adaRoundBeta(it, schedule);
      const regOn = adaRoundRegularizerOn(it, schedule);
      const { value, grads } = tf.variableGrads(() => {
        const pred = temporal(q.unet, tb, names);
        const r = tf.addN(pred.map((p, i) => tf.mean(tf.sum(tf.square(tf.sub(p, tgt[i])), -1)))) as tf.Scalar;
        rec = r.dataSync()[0];
        return regOn ? (tf.add(r, tf.mul(s.lambda, tf.addN(adarounds.map((a) => a.regularizer(beta))))) as tf.Scalar) : r;
      }, vars);
      opt.apply(named, new Map(vars.map((v, i) => [`a${i}`, grads[v.name]])), s.lr);
      tf.dispose([value, ...Object.values(grads), tb, ...tgt]);
      if (it === 0) lossStart = rec;
      lossEnd = rec;
    }
  } finally {
    opt.dispose();
    tf.dispose(targets);
    for (const [, l] of layers) l.endAdaRound();
  }
  const seconds = (performance.now() - t0) / 1000;
  log(`TIAR: ${layers.length} temporal layers, ${modelTimes.length} times, ${s.iters} steps, loss ${lossStart.toPrecision(3)} → ${lossEnd.toPrecision(3)} (${seconds.toFixed(1)} s)`);
  return { path: 'tib', lossStart, lossEnd, cached: true, seconds, captureSeconds: 0 };
}
