import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ResultRow } from '@diffpress/eval';
import { KeptRowsQuery, keptRows, readPreviousRows } from './kept-rows';

const query: KeptRowsQuery = {
  subject: 'unet-mnist-s-v',
  modelDigest: 'aa',
  sampler: 'ddim-20',
  seed: 0,
  featureNetDigest: 'ff',
  libraryVersion: '0.1.0',
  metrics: ['fd', 'kid'],
};

function row(metricId: string, samples: number, over: Partial<ResultRow> = {}): ResultRow {
  return {
    recipeHash: null,
    cell: {},
    subject: query.subject,
    modelDigest: query.modelDigest,
    seed: 0,
    samples,
    sampler: query.sampler,
    metric: `${metricId}-net`,
    metricId,
    metricVersion: 1,
    value: samples + (metricId === 'fd' ? 0.5 : 0.25),
    reference: null,
    featureNet: { id: 'net', digest: 'ff' },
    backend: 'wasm',
    sampleBackends: ['wasm'],
    samplingSeconds: 1,
    metricSeconds: 0,
    libraryVersion: '0.1.0',
    date: '2026-11-24T00:00:00.000Z',
    ...over,
  };
}

describe('keptRows', () => {
  it('returns one row per asked metric, in the asked order', () => {
    const rows = keptRows([row('kid', 1000), row('fd', 1000)], query);
    expect(rows?.map((r) => [r.metricId, r.value])).toEqual([
      ['fd', 1000.5],
      ['kid', 1000.25],
    ]);
  });

  it('takes the largest sample count that has every metric', () => {
    const prev = [row('fd', 512), row('kid', 512), row('fd', 1000), row('kid', 1000), row('fd', 2000)];
    expect(keptRows(prev, query)?.map((r) => r.samples)).toEqual([1000, 1000]);
    expect(keptRows(prev, query, 999)?.map((r) => r.samples)).toEqual([512, 512]);
    expect(keptRows(prev, query, 511)).toBeNull();
  });

  it.each<[string, Partial<ResultRow>]>([
    ['other weights', { modelDigest: 'bb' }],
    ['another sampler', { sampler: 'ddim-50' }],
    ['another seed', { seed: 1 }],
    ['another feature network', { featureNet: { id: 'net', digest: 'ee' } }],
    ['another library version', { libraryVersion: '0.0.9' }],
    ['an older metric version', { metricVersion: 0 }],
    ['a recipe row', { recipeHash: 'r' }],
    ['another subject', { subject: 'unet-mnist-s-eps' }],
  ])('keeps nothing from rows of %s', (_, over) => {
    expect(keptRows([row('fd', 1000, over), row('kid', 1000, over)], query)).toBeNull();
  });

  it('keeps nothing when a metric is missing at every count', () => {
    expect(keptRows([row('fd', 1000)], query)).toBeNull();
    expect(keptRows([], query)).toBeNull();
  });
});

describe('readPreviousRows', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kept-rows-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads nothing from a missing file and the rows from a written one', () => {
    const file = path.join(dir, 'baselines.json');
    expect(readPreviousRows(file)).toEqual([]);
    fs.writeFileSync(file, JSON.stringify([row('fd', 64)]));
    expect(readPreviousRows(file)).toEqual([row('fd', 64)]);
  });

  it('refuses a file that is not an array of rows', () => {
    const file = path.join(dir, 'broken.json');
    fs.writeFileSync(file, '{"rows": []}');
    expect(() => readPreviousRows(file)).toThrow(/expected a JSON array/);
  });
});
