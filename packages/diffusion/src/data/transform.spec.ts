import { ArrayDataset } from './dataset';
import { transformImages, transformedShape } from './transform';

function images(shape: [number, number, number], values: number[]): ArrayDataset {
  const per = shape[0] * shape[1] * shape[2];
  return { name: 'toy', sampleShape: shape, size: values.length / per, data: Float32Array.from(values), labels: Int32Array.from({ length: values.length / per }, (_, i) => i) };
}

describe('transformImages', () => {
  it('halving a side averages pixel pairs exactly', () => {
    // 2 × 4 gray image → 1 × 2: each output is the mean of a 2 × 2 block.
    const ds = images([2, 4, 1], [0, 0.5, -1, 1, 0.25, 0.75, 0, 0]);
    const out = transformImages(ds, { size: [1, 2] });
    expect(out.sampleShape).toEqual([1, 2, 1]);
    expect(Array.from(out.data)).toEqual([(0 + 0.5 + 0.25 + 0.75) / 4, (-1 + 1 + 0 + 0) / 4]);
    expect(Array.from(out.labels ?? [])).toEqual([0]);
  });

  it('doubling a side interpolates at quarter positions and clamps at the edges', () => {
    // 1 × 2 → 1 × 4: source positions −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    const out = transformImages(images([1, 2, 1], [0, 1]), { size: [1, 4] });
    expect(Array.from(out.data)).toEqual([0, 0.25, 0.75, 1]);
  });

  it('converts RGB to BT.601 luma and gray to RGB by repetition', () => {
    const gray = transformImages(images([1, 1, 3], [1, -1, 0.5]), { channels: 1 });
    expect(gray.sampleShape).toEqual([1, 1, 1]);
    expect(gray.data[0]).toBeCloseTo(0.299 - 0.587 + 0.057, 6);
    const rgb = transformImages(images([1, 2, 1], [0.2, -0.4]), { channels: 3 });
    expect(Array.from(rgb.data)).toEqual([0.2, 0.2, 0.2, -0.4, -0.4, -0.4].map(Math.fround));
  });

  it('returns the dataset itself when nothing changes, and rejects non-images', () => {
    const ds = images([2, 2, 1], [0, 0, 0, 0]);
    expect(transformImages(ds, { size: 2, channels: 1 })).toBe(ds);
    expect(() => transformedShape([2], { size: 4 })).toThrow(/\[h, w, 1 \| 3\]/);
    expect(() => transformedShape([4, 4, 3], { size: 0 })).toThrow(/positive integers/);
    expect(transformedShape([32, 32, 3], { size: [16, 8], channels: 1 })).toEqual([16, 8, 1]);
  });
});
