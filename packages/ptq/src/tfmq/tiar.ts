import * as tf from '@tensorflow/tfjs';
import { Rng, matchesAnyGlob } from '@diffpress/core';
import { AdamW, UNet } from '@diffpress/diffusion';
import { AdaRound, AdaRoundSchedule, adaRoundBeta, adaRoundRegularizerOn, unsaturatedShare } from '../quant/adaround';
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

/** The TIB loss `Σ_i mean_t ‖ĝ_i(ĥ(t)) − g_i(h(t))‖²` of predicted against target features. */
function tibLoss(pred: readonly tf.Tensor[], targets: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.addN(pred.map((p, i) => tf.mean(tf.sum(tf.square(tf.sub(p, targets[i])), -1)))) as tf.Scalar);
}

/**
 * TFMQ-DM's temporal information aware reconstruction (ptq spec §4.2): the TIB — time MLP `h` and every residual
 * block's projection `g_i` — is reconstructed first, as one unit, with AdaRound on its quantized linears and the
 * loss `Σ_i ‖ĝ_i(ĥ(t)) − g_i(h(t))‖²` (sum over channels, mean over the batch of calibration times). Its input is
 * t alone, so the whole finite set of the sampler's times is the calibration data — and also the set the report's
 * "held-out" loss is measured on (with hard rounding, before and after): there is no other input to hold out.
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
  // Over every calibration time, with the rounding hard: the temporal features as sampling will see them.
  const hardLoss = (): number => {
    adarounds.forEach((a) => (a.soft = false));
    const all = tf.tensor1d([...modelTimes]);
    try {
      const loss = tf.tidy(() => tibLoss(temporal(q.unet, all, names), targets));
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    } finally {
      all.dispose();
      adarounds.forEach((a) => (a.soft = true));
    }
  };
  let heldOutBefore = NaN;
  let heldOutAfter = NaN;
  let unsaturatedBefore: number | null = null;
  let unsaturatedAfter: number | null = null;
  try {
    unsaturatedBefore = unsaturatedShare(adarounds);
    heldOutBefore = hardLoss();
    for (let it = 0; it < s.iters && vars.length > 0; it++) {
      const idx = s.batchSize >= modelTimes.length ? modelTimes.map((_, i) => i) : rng.permutation(modelTimes.length).slice(0, s.batchSize);
      const tb = tf.tensor1d(idx.map((i) => modelTimes[i]));
      const tgt = targets.map((t) => tf.gather(t, idx));
      let rec = NaN;
      const beta = adaRoundBeta(it, schedule);
      const regOn = adaRoundRegularizerOn(it, schedule);
      const { value, grads } = tf.variableGrads(() => {
        const r = tibLoss(temporal(q.unet, tb, names), tgt);
        rec = r.dataSync()[0];
        return regOn ? (tf.add(r, tf.mul(s.lambda, tf.addN(adarounds.map((a) => a.regularizer(beta))))) as tf.Scalar) : r;
      }, vars);
      opt.apply(named, new Map(vars.map((v, i) => [`a${i}`, grads[v.name]])), s.lr);
      tf.dispose([value, ...Object.values(grads), tb, ...tgt]);
      if (it === 0) lossStart = rec;
      lossEnd = rec;
    }
    unsaturatedAfter = unsaturatedShare(adarounds);
    heldOutAfter = hardLoss();
  } finally {
    opt.dispose();
    tf.dispose(targets);
    for (const [, l] of layers) l.endAdaRound();
  }
  const seconds = (performance.now() - t0) / 1000;
  log(
    `TIAR: ${layers.length} temporal layers, ${modelTimes.length} times, ${s.iters} steps, hard loss ${heldOutBefore.toPrecision(3)} → ${heldOutAfter.toPrecision(3)}, ` +
      `h(α) unsaturated ${((unsaturatedBefore ?? NaN) * 100).toFixed(1)} % → ${((unsaturatedAfter ?? NaN) * 100).toFixed(1)} % (${seconds.toFixed(1)} s)`,
  );
  return { path: 'tib', iters: s.iters, lossStart, lossEnd, heldOutBefore, heldOutAfter, unsaturatedBefore, unsaturatedAfter, cached: true, seconds, captureSeconds: 0 };
}
