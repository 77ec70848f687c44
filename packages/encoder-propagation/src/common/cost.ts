import { DiagnosticTable } from '@diffpress/core';
import { UNet, UNetPart, unetLayerInventory } from '@diffpress/diffusion';

/** Multiply–accumulates per sample of one UNet call, by part (conv, linear and attention products; norms count 0). */
export type MacsByPart = Record<UNetPart, number>;

/** MACs per sample of one full UNet call, by part, from the layer inventory. */
export function unetMacsByPart(unet: UNet): MacsByPart {
  const out: MacsByPart = { time: 0, encoder: 0, middle: 0, decoder: 0 };
  for (const l of unetLayerInventory(unet.plan)) out[l.part] += l.macs;
  return out;
}

/** Sum of a {@link MacsByPart}. */
export function totalMacs(m: MacsByPart): number {
  return m.time + m.encoder + m.middle + m.decoder;
}

/**
 * MACs per sample of DeepCache's shallow path at skip `branch`: the time MLP, the stem and encoder blocks up to the
 * one that pushes the skip, the decoder blocks from the one that concatenates it, and the output head — the blocks
 * `UNet.encodeShallow` and `UNet.decodeShallow` run.
 */
export function shallowPathMacs(unet: UNet, branch: number | string): number {
  const b = unet.skipIndex(branch);
  const blocks = new Set<string>(['time', 'stem', 'out']);
  let pushed = 0;
  outer: for (const level of unet.plan.down) {
    for (const { block, skip } of level.blocks) {
      if (pushed === b) break outer;
      blocks.add(block.name);
      if (skip) pushed++;
    }
  }
  const decoder = unet.decoderBlocks();
  for (let k = unet.decoderBlockConsuming(b); k < decoder.length; k++) blocks.add(decoder[k].block.name);
  return unetLayerInventory(unet.plan).filter((l) => blocks.has(l.block)).reduce((s, l) => s + l.macs, 0);
}

/** The cost of a caching schedule: full calls and partial calls per sample and what a partial call costs. */
export interface ScheduleCost {
  /** Sampler steps. */
  steps: number;
  /** Steps running the whole UNet. */
  full: number;
  /** MACs per sample of a partial call (0 when partial calls run no network). */
  partialMacs: number;
  /** MACs per sample of a full call. */
  fullMacs: number;
}

/** Predicted fraction of the sampler's MACs saved: `partial/steps × (1 − partialMacs/fullMacs)`. */
export function predictedSaving(c: ScheduleCost): number {
  return ((c.steps - c.full) / c.steps) * (1 - c.partialMacs / c.fullMacs);
}

const giga = (x: number): number => Number((x / 1e9).toPrecision(4));
const share = (x: number): number => Number(x.toFixed(4));

/**
 * The cost diagnostic of a caching method: MACs per sample of one full UNet call by part, the share of encoder and
 * middle block (Faster Diffusion's f_EB), the schedule, the MACs per sample of the whole sampling with and without
 * caching, and the predicted saving (non-key/total × the share a partial call skips). Analytic (from shapes); the
 * measured saving is the rows' latency.
 */
export function costTable(id: string, unet: UNet, cost: ScheduleCost, schedule: string): DiagnosticTable {
  const parts = unetMacsByPart(unet);
  const total = totalMacs(parts);
  const plain = cost.steps * cost.fullMacs;
  const cached = cost.full * cost.fullMacs + (cost.steps - cost.full) * cost.partialMacs;
  return {
    id: `${id}.cost`,
    title: 'UNet MACs per sample and predicted saving',
    description:
      `Analytic multiply–accumulates (conv, linear, attention products). One full call: time ${giga(parts.time)} G, encoder ${giga(parts.encoder)} G, middle ${giga(parts.middle)} G, ` +
      `decoder ${giga(parts.decoder)} G; encoder + middle share f_EB = ${share((parts.encoder + parts.middle) / total)}. Schedule: ${schedule}. ` +
      'Predicted saving = partial steps / steps × (1 − partial-call MACs / full-call MACs); the measured one is the latency columns of the rows.',
    columns: ['steps', 'full calls (recomputed)', 'partial calls (cache hits)', 'GMACs full call', 'GMACs partial call', 'GMACs / sample plain', 'GMACs / sample cached', 'predicted saving'],
    rows: [[cost.steps, cost.full, cost.steps - cost.full, giga(cost.fullMacs), giga(cost.partialMacs), giga(plain), giga(cached), share(predictedSaving(cost))]],
  };
}
