import * as tf from '@tensorflow/tfjs';
import { cachedFile, jsonDigest, rawFromFloat32, rawToFloat32, readSafetensorsFile, writeSafetensorsFile } from '@diffpress/core';
import { QuantizedUNet } from '../quant/quantize-unet';
import { UnitReport } from '../recon/reconstruct';
import { PhaseTimer } from './phase-timer';

/**
 * Format of stored weight phases (part of the key). 2: the stored unit reports carry the held-out losses and the
 * AdaRound saturation, and the reconstruction no longer trains on the held-out rows.
 */
export const WEIGHT_PHASE_FORMAT = 2;

/** What a stored weight phase records besides the tensors. */
interface StoredPhase {
  reports: UnitReport[];
  seconds: number;
}

/** The weight entries of a quantized network: the wrapped layers' weights and their weight quantizers' Δ and z. */
function weightEntries(q: QuantizedUNet): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [p, layer] of q.layers) {
    if (layer.weightQuantizers().length === 0) continue;
    out.set(`${p}.layer.weight`, layer.layer.weight);
    for (const [name, v] of layer.namedBuffers()) if (name.startsWith('weightQuant')) out.set(`${p}.${name}`, v);
  }
  return out;
}

/**
 * The weight phase of a calibration (range init + reconstruction), computed once per distinct input and stored in
 * `<cacheDir>/ptq-weights/<key>.safetensors`: configs that differ only in their activations (W4A32 and W4A8, or
 * TFMQ's FSC on and off) share it. `inputs` must hold everything the weight phase depends on — the parent model, the
 * calibration set, the layout of the quantized network, the weight settings and the method; the activation settings
 * must not be in it. A reused phase is recorded as reused, with the cost of the run that computed it (its stored
 * wall-clock), never the time of reading it.
 *
 * @param run - The weight phase; it leaves hard-rounded weights in `q` and returns its unit reports.
 */
export function cachedWeightPhase(cacheDir: string | undefined, inputs: unknown, q: QuantizedUNet, timer: PhaseTimer, name: string, run: () => UnitReport[]): UnitReport[] {
  const key = jsonDigest({ format: WEIGHT_PHASE_FORMAT, inputs });
  return cachedFile(
    { root: cacheDir || null, kind: 'ptq-weights', key, ext: '.safetensors' },
    (file) => {
      const t0 = performance.now();
      const { tensors, metadata } = readSafetensorsFile(file);
      const stored = JSON.parse(metadata['diffpress.weight-phase']) as StoredPhase;
      for (const [entry, v] of weightEntries(q)) {
        const raw = tensors.get(entry);
        if (!raw) throw new Error(`${file}: no '${entry}' (the cache key should have covered the layout)`);
        const t = tf.tensor(rawToFloat32(raw), raw.shape);
        const layer = q.layers.find(([p]) => entry === `${p}.layer.weight`)?.[1];
        if (layer) layer.adoptQuantizedWeight(t);
        else v.assign(t);
        t.dispose();
      }
      timer.record({ name, seconds: (performance.now() - t0) / 1000, cost: stored.seconds, reused: true });
      return stored.reports;
    },
    (file) => {
      const t0 = performance.now();
      const reports = run();
      const seconds = (performance.now() - t0) / 1000;
      timer.record({ name, seconds, cost: seconds, reused: false });
      if (file) {
        const raw = new Map([...weightEntries(q)].map(([k, v]) => [k, rawFromFloat32(v.dataSync() as Float32Array, v.shape)] as const));
        writeSafetensorsFile(file, raw, { 'diffpress.weight-phase': JSON.stringify({ reports, seconds } satisfies StoredPhase) });
      }
      return reports;
    },
  );
}
