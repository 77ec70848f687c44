import * as path from 'path';
import { encodePng, imageGrid } from '@diffpress/diffusion';
import { MissingSamplesError, readCachedSamples } from '@diffpress/eval';
import { ReportTable } from './table';

/** One sample strip of the report: the first samples of one table row. */
export interface GridImage {
  /** File name under `samples/`. */
  file: string;
  /** The table row's description. */
  caption: string;
  /** PNG bytes. */
  png: Buffer;
}

/**
 * Sample strips, one per table row with samples: its first `count` samples, which start from the same x_T in every
 * row (sample i's noise is keyed by (seed, i)), so rows compare like for like; plus `grid.png` with all strips
 * stacked in table order. A row whose samples are not in the store (a report re-rendered or merged away from the
 * runs' store) gets no strip; its caption is added to `missing`. An unreadable chunk throws.
 */
export function sampleGrids(table: ReportTable, storeRoot: string, count: number, shape: readonly number[], missing: string[] = []): GridImage[] {
  if (count < 1) return [];
  const per = shape.reduce((a, b) => a * b, 1);
  const strips: Array<{ data: Float32Array; caption: string; i: number }> = [];
  table.rows.forEach((r, i) => {
    if (!r.sampleKey) return;
    const n = Math.min(count, r.samples);
    const data = new Float32Array(count * per).fill(1);
    const caption = `${r.label} · ${r.sampler}${Object.keys(r.params).length ? ` · ${Object.entries(r.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}` : ''}`;
    try {
      data.set(readCachedSamples(storeRoot, r.sampleKey, n, shape));
    } catch (err) {
      // Absent samples only: a chunk that is there but cannot be read is an error to see, not a missing strip.
      if (!(err instanceof MissingSamplesError)) throw err;
      missing.push(caption);
      return;
    }
    strips.push({ data, caption, i });
  });
  if (strips.length === 0) return [];
  const png = (data: Float32Array, rows: number): Buffer => {
    const g = imageGrid(data, { shape: [rows * count, ...shape] as [number, number, number, number], cols: count });
    return encodePng(g.data, g.width, g.height, g.channels);
  };
  const out: GridImage[] = strips.map((s) => ({ file: `row-${String(s.i).padStart(2, '0')}.png`, caption: s.caption, png: png(s.data, 1) }));
  const all = new Float32Array(strips.length * count * per);
  strips.forEach((s, k) => all.set(s.data, k * count * per));
  out.push({ file: 'grid.png', caption: `all rows, top to bottom in table order: ${strips.map((s) => s.caption).join(' | ')}`, png: png(all, strips.length) });
  return out;
}

/** Relative path of a grid image in a run folder. */
export function gridPath(g: GridImage): string {
  return path.posix.join('samples', g.file);
}
