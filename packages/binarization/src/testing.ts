import { ArrayDataset } from '@diffpress/diffusion';

/**
 * A synthetic training set for method tests on `tinyPipelineModel` (8×8×1 images in [−1, 1]): `size` smooth
 * patterns, a seeded function of the index, so that QAT tests run in seconds without MNIST.
 */
export function tinyImages(size = 32): ArrayDataset {
  const data = new Float32Array(size * 64);
  for (let n = 0; n < size; n++) {
    const fx = 0.3 + (n % 5) * 0.2;
    const fy = 0.2 + (n % 3) * 0.35;
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) data[n * 64 + i * 8 + j] = Math.tanh(2 * Math.sin(fx * i + n) * Math.cos(fy * j));
  }
  return { name: 'tiny-images', sampleShape: [8, 8, 1], size, data };
}
