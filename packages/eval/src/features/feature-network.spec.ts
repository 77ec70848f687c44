import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Linear, Rng, initEngine, readSafetensorsFile, saveCheckpoint, writeSafetensorsFile } from '@diffpress/core';
import { loadMnist, takeBatch } from '@diffpress/diffusion';
import { loadFeatureNetwork, locateFeatureNetwork, saveFeatureClassifier } from './feature-network';
import { MnistClassifier, MnistClassifierConfig } from './mnist-classifier';
import { loadTfjsModelFromDisk } from './tfjs-model';

let tmp: string;

beforeAll(async () => {
  await initEngine({ backend: 'wasm', quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-'));
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

const sha256File = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

const SMALL: MnistClassifierConfig = { channels: [2, 3, 4], hidden: 6, classes: 10, dropout: 0.3 };

describe('MnistClassifier safetensors round trip', () => {
  it('embeds like the saved network: features and softmax of the logits', async () => {
    const dir = folder('cls');
    const net = new MnistClassifier(SMALL, new Rng(4, 'feat'));
    const file = saveFeatureClassifier(net, dir, 'toy-classifier');
    expect(file).toBe(path.join(dir, 'model.safetensors'));
    // The folder itself names the network too.
    const byFolder = await loadFeatureNetwork(dir);
    expect(byFolder.digest).toBe(sha256File(file));
    byFolder.dispose();
    const a = await loadFeatureNetwork(file);
    const b = await loadFeatureNetwork(file);
    const x = tf.randomUniform([3, 28, 28, 1], -1, 1, 'float32', 9);
    try {
      expect(a.id).toBe('toy-classifier');
      expect(a.featureDim).toBe(6);
      expect(a.classes).toBe(10);
      expect(a.inputShape).toEqual([28, 28, 1]);
      expect(a.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(b.digest).toBe(a.digest);
      expect(a.digest).toBe(sha256File(file));

      net.eval(); // the feature network runs without dropout
      const want = net.forwardWithFeatures(x);
      const wantProbs = tf.softmax(want.logits);
      const got = a.embed(x);
      expect(maxAbsDiff(got.features, want.features)).toBeLessThan(1e-6);
      expect(got.probs).toBeDefined();
      if (got.probs) {
        expect(maxAbsDiff(got.probs, wantProbs)).toBeLessThan(1e-6);
        const sums = tf.tidy(() => tf.sum(got.probs as tf.Tensor, 1).dataSync());
        sums.forEach((s) => expect(s).toBeCloseTo(1, 5));
      }
      tf.dispose([want.features, want.logits, wantProbs, got.features, got.probs]);

      // Changing one weight changes the file and so the digest.
      const bias = net.stateDict().get('head.bias');
      if (!bias) throw new Error('no head.bias');
      const t = tf.add(bias, 0.25);
      bias.assign(t);
      t.dispose();
      const file2 = saveFeatureClassifier(net, folder('cls2'), 'toy-classifier');
      const c = await loadFeatureNetwork(file2);
      expect(c.digest).not.toBe(a.digest);
      c.dispose();
    } finally {
      x.dispose();
      a.dispose();
      b.dispose();
      net.dispose();
    }
  });

  it('embed leaves no tensors behind but its outputs', async () => {
    const net = new MnistClassifier(SMALL, new Rng(4, 'feat'));
    const file = saveFeatureClassifier(net, folder('cls3'), 'toy');
    net.dispose();
    const fn = await loadFeatureNetwork(file);
    const x = tf.zeros([2, 28, 28, 1]);
    const before = tf.memory().numTensors;
    const e = fn.embed(x);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([e.features, e.probs, x]);
    fn.dispose();
  });
});

describe('the shipped MNIST classifier', () => {
  it('has 128 features, 10 classes and classifies ≥ 98.5 % of the 2000 test digits (its model card: 98.85 %)', async () => {
    const net = await loadFeatureNetwork();
    const ds = loadMnist({ split: 'test' });
    const labels = ds.labels;
    if (!labels) throw new Error('MNIST test split without labels');
    try {
      expect(net.id).toBe('mnist-classifier-v1');
      expect(net.featureDim).toBe(128);
      expect(net.classes).toBe(10);
      expect(net.digest).toMatch(/^[0-9a-f]{64}$/);
      let right = 0;
      for (let s = 0; s < ds.size; s += 250) {
        const rows = Array.from({ length: 250 }, (_, j) => s + j);
        const pred = tf.tidy(() => {
          const e = net.embed(takeBatch(ds, rows));
          expect(e.features.shape).toEqual([250, 128]);
          return tf.argMax(e.probs as tf.Tensor, 1).dataSync();
        });
        rows.forEach((r, j) => {
          if (pred[j] === labels[r]) right++;
        });
      }
      expect(ds.size).toBe(2000);
      expect(right / ds.size).toBeGreaterThanOrEqual(0.985);
    } finally {
      net.dispose();
    }
  }, 20000);
});

/** Writes `model.json` + weight shard for a tfjs layers model, as `model.save()` to a folder would. */
async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData;
      if (!weightData) throw new Error('no weight data');
      const bytes = weightData instanceof ArrayBuffer ? weightData : tf.io.CompositeArrayBuffer.join(weightData);
      fs.writeFileSync(
        path.join(dir, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        }),
      );
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(bytes));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

describe('tfjs layers model from disk', () => {
  let dir: string;
  let model: tf.Sequential;

  beforeAll(async () => {
    dir = folder('layers');
    model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [28, 28, 1] }),
        tf.layers.dense({ name: 'feat', units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: 'ones' }),
        tf.layers.dense({ name: 'out', units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    await saveLayersModel(model, dir);
  });

  afterAll(() => model.dispose());

  function reference(x: tf.Tensor): { features: tf.Tensor; probs: tf.Tensor } {
    return tf.tidy(() => {
      const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer('feat').output as tf.SymbolicTensor });
      return { features: sub.predict(x) as tf.Tensor, probs: model.predict(x) as tf.Tensor };
    });
  }

  it('loads with loadTfjsModelFromDisk: same predictions, declared input shape, shard list', async () => {
    const loaded = await loadTfjsModelFromDisk(path.join(dir, 'model.json'));
    const x = tf.randomUniform([2, 28, 28, 1], -1, 1, 'float32', 5);
    try {
      expect(loaded.model).toBeInstanceOf(tf.LayersModel);
      expect(loaded.inputShape).toEqual([-1, 28, 28, 1]);
      expect(loaded.weightFiles).toEqual([path.join(dir, 'weights.bin')]);
      const got = tf.tidy(() => (loaded.model as tf.LayersModel).predict(x) as tf.Tensor);
      const want = reference(x);
      expect(maxAbsDiff(got, want.probs)).toBeLessThan(1e-6);
      tf.dispose([got, want.features, want.probs]);
    } finally {
      x.dispose();
      loaded.model.dispose();
    }
  });

  it('gives the named layers as features and probabilities', async () => {
    const fn = await loadFeatureNetwork(dir, [28, 28, 1], { featureNode: 'feat', probsNode: 'out' });
    const x = tf.randomUniform([4, 28, 28, 1], -1, 1, 'float32', 6);
    try {
      expect(fn.featureDim).toBe(8);
      expect(fn.classes).toBe(3);
      expect(fn.id).toBe('layers');
      expect(fn.inputShape).toEqual([28, 28, 1]);
      expect(fn.digest).toBe(createHash('sha256').update(fs.readFileSync(path.join(dir, 'model.json'))).update(fs.readFileSync(path.join(dir, 'weights.bin'))).digest('hex'));
      const again = await loadFeatureNetwork(path.join(dir, 'model.json'), [28, 28, 1], { featureNode: 'feat' });
      expect(again.digest).toBe(fn.digest);
      expect(again.classes).toBeUndefined();
      again.dispose();

      const got = fn.embed(x);
      const want = reference(x);
      expect(maxAbsDiff(got.features, want.features)).toBeLessThan(1e-5);
      expect(got.probs).toBeDefined();
      expect(maxAbsDiff(got.probs as tf.Tensor, want.probs)).toBeLessThan(1e-5);
      tf.dispose([got.features, got.probs, want.features, want.probs]);
    } finally {
      x.dispose();
      fn.dispose();
    }
  });

  it('maps [−1, 1] images to inputRange before the model', async () => {
    const fn = await loadFeatureNetwork(dir, [28, 28, 1], { featureNode: 'feat', inputRange: [0, 1] });
    const x = tf.randomUniform([3, 28, 28, 1], -1, 1, 'float32', 7);
    try {
      const got = fn.embed(x);
      const shifted = tf.div(tf.add(x, 1), 2);
      const want = reference(shifted);
      const plain = reference(x);
      expect(maxAbsDiff(got.features, want.features)).toBeLessThan(1e-5);
      expect(maxAbsDiff(got.features, plain.features)).toBeGreaterThan(1e-3);
      expect(got.probs).toBeUndefined();
      tf.dispose([got.features, shifted, want.features, want.probs, plain.features, plain.probs]);
    } finally {
      x.dispose();
      fn.dispose();
    }
  });

  it('resizes smaller images to the model input and takes the model output by default', async () => {
    const fn = await loadFeatureNetwork(dir, [14, 14, 1]);
    const x = tf.randomUniform([2, 14, 14, 1], -1, 1, 'float32', 8);
    try {
      expect(fn.featureDim).toBe(3); // the model's output: the softmax
      const got = fn.embed(x);
      const big = tf.image.resizeBilinear(x as tf.Tensor4D, [28, 28]);
      const want = reference(big);
      expect(maxAbsDiff(got.features, want.probs)).toBeLessThan(1e-5);
      tf.dispose([got.features, big, want.features, want.probs]);
    } finally {
      x.dispose();
      fn.dispose();
    }
  });
});

const DT_FLOAT = { type: 'DT_FLOAT' };
const dims = (...ds: number[]): { dim: Array<{ size: string }> } => ({ dim: ds.map((d) => ({ size: String(d) })) });

/** y = relu(x·W), W = [[1, −1], [2, 0], [0, 3], [−1, 1]]. */
const W = [1, -1, 2, 0, 0, 3, -1, 1];

/**
 * A graph model by hand: `x [−1, ...inShape]` (reshaped to [−1, 4] when it is an image), `feat = relu(x·w)` and
 * `probs = softmax(x·w)`.
 */
function writeGraphModel(dir: string, inShape: number[]): void {
  const image = inShape.length > 1;
  const weights: Array<{ name: string; shape: number[]; dtype: 'float32' | 'int32' }> = [{ name: 'w', shape: [4, 2], dtype: 'float32' }];
  const node: unknown[] = [
    { name: 'x', op: 'Placeholder', attr: { dtype: DT_FLOAT, shape: { shape: dims(-1, ...inShape) } } },
    { name: 'w', op: 'Const', attr: { dtype: DT_FLOAT, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(4, 2) } } } },
  ];
  let bytes = Buffer.from(Float32Array.from(W).buffer);
  if (image) {
    weights.push({ name: 'flat_shape', shape: [2], dtype: 'int32' });
    bytes = Buffer.concat([bytes, Buffer.from(Int32Array.from([-1, 4]).buffer)]);
    node.push(
      { name: 'flat_shape', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: dims(2) } } } },
      { name: 'flat', op: 'Reshape', input: ['x', 'flat_shape'], attr: { T: DT_FLOAT, Tshape: { type: 'DT_INT32' } } },
    );
  }
  node.push(
    { name: 'mm', op: 'MatMul', input: [image ? 'flat' : 'x', 'w'], attr: { T: DT_FLOAT, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'feat', op: 'Relu', input: ['mm'], attr: { T: DT_FLOAT } },
    { name: 'probs', op: 'Softmax', input: ['mm'], attr: { T: DT_FLOAT } },
  );
  fs.writeFileSync(
    path.join(dir, 'model.json'),
    JSON.stringify({ format: 'graph-model', modelTopology: { node, versions: { producer: 1 } }, weightsManifest: [{ paths: ['w.bin'], weights }] }),
  );
  fs.writeFileSync(path.join(dir, 'w.bin'), bytes);
}

/** relu(x·W) and softmax(x·W) by hand for rows of 4. */
function byHand(rows: number[][]): { feat: number[][]; probs: number[][] } {
  const mm = rows.map((r) => [0, 1].map((j) => r.reduce((s, v, i) => s + v * W[i * 2 + j], 0)));
  return {
    feat: mm.map((r) => r.map((v) => Math.max(0, v))),
    probs: mm.map((r) => {
      const e = r.map((v) => Math.exp(v - Math.max(...r)));
      const z = e[0] + e[1];
      return e.map((v) => v / z);
    }),
  };
}

function expectClose(got: number[][], want: number[][], digits = 5): void {
  expect(got.length).toBe(want.length);
  got.forEach((r, i) => r.forEach((v, j) => expect(v).toBeCloseTo(want[i][j], digits)));
}

describe('tfjs graph model from disk', () => {
  // x·W = [2.5, −1.5], [−1, 2.5], [−1, 1]: both ReLU branches are exercised.
  const rows = [
    [1, 0.5, 0, -0.5],
    [-0.5, 0, 0.5, 0.5],
    [0, 0, 0, 1],
  ];

  it('executes relu(x·w) with the manifest weights (4-wide input: loadTfjsModelFromDisk alone)', async () => {
    const dir = folder('graph-vec');
    writeGraphModel(dir, [4]);
    const loaded = await loadTfjsModelFromDisk(path.join(dir, 'model.json'));
    const model = loaded.model as tf.GraphModel;
    const x = tf.tensor2d(rows);
    try {
      expect(model).toBeInstanceOf(tf.GraphModel);
      expect(loaded.inputShape).toEqual([-1, 4]);
      expect(loaded.weightFiles).toEqual([path.join(dir, 'w.bin')]);
      const [feat, probs] = model.execute(x, ['feat', 'probs']) as tf.Tensor[];
      const want = byHand(rows);
      expect(want.feat).toEqual([
        [2.5, 0],
        [0, 2.5],
        [0, 1],
      ]);
      expectClose(feat.arraySync() as number[][], want.feat, 6);
      expectClose(probs.arraySync() as number[][], want.probs, 6);
      tf.dispose([feat, probs]);
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('embeds images through an image-shaped graph model (Reshape node): features, probabilities, logits, input range', async () => {
    const dir = folder('graph-img');
    writeGraphModel(dir, [2, 2, 1]);
    const fn = await loadFeatureNetwork(dir, [2, 2, 1], { featureNode: 'feat', probsNode: 'probs' });
    const x = tf.tensor4d(rows.flat(), [3, 2, 2, 1]);
    try {
      expect(fn.featureDim).toBe(2);
      expect(fn.classes).toBe(2);
      expect(fn.id).toBe('graph-img');
      const e = fn.embed(x);
      const want = byHand(rows);
      expectClose(e.features.arraySync(), want.feat);
      expectClose((e.probs as tf.Tensor2D).arraySync(), want.probs);
      tf.dispose([e.features, e.probs]);

      // Logits: with probsAreLogits the node's output goes through a softmax (again).
      const logits = await loadFeatureNetwork(dir, [2, 2, 1], { featureNode: 'feat', probsNode: 'feat', probsAreLogits: true });
      const l = logits.embed(x);
      expectClose((l.probs as tf.Tensor2D).arraySync(), want.feat.map(softmax));
      tf.dispose([l.features, l.probs]);
      logits.dispose();

      // Input range [0, 2]: images are mapped to x + 1 first.
      const ranged = await loadFeatureNetwork(dir, [2, 2, 1], { featureNode: 'feat', inputRange: [0, 2] });
      const r = ranged.embed(x);
      expectClose(r.features.arraySync(), byHand(rows.map((row) => row.map((v) => v + 1))).feat);
      r.features.dispose();
      ranged.dispose();
    } finally {
      x.dispose();
      fn.dispose();
    }
  });
});

function softmax(r: number[]): number[] {
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

describe('errors', () => {
  it('a folder with neither model.json nor a classifier file names the path', async () => {
    const dir = folder('empty');
    await expect(loadFeatureNetwork(dir)).rejects.toThrow(dir);
    await expect(loadFeatureNetwork(dir)).rejects.toThrow(/no tfjs model\.json/);
    const missing = path.join(dir, 'none.safetensors');
    await expect(loadFeatureNetwork(missing)).rejects.toThrow(`no ${missing}`);
    await expect(loadFeatureNetwork('no-such-network-id')).rejects.toThrow(/'no-such-network-id'/);
  });

  it('a classifier refuses images of another shape than MNIST digits, before reading its weights', async () => {
    const before = tf.memory().numTensors;
    await expect(loadFeatureNetwork('mnist-classifier-v1', [16, 16, 3])).rejects.toThrow(
      "feature network 'mnist-classifier-v1' is an MNIST classifier: it embeds [28, 28, 1] images, and these are [16, 16, 3]; give a feature network for this data (a tfjs model.json)",
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(locateFeatureNetwork('mnist-classifier-v1')).toMatchObject({ kind: 'classifier', file: expect.stringMatching(/mnist-classifier-v1\/model\.safetensors$/) });
    const dir = folder('located');
    writeGraphModel(dir, [4]);
    expect(locateFeatureNetwork(dir)).toEqual({ spec: dir, kind: 'tfjs', file: path.join(dir, 'model.json') });
  });

  it('a model.json whose weight shard is missing names the shard', async () => {
    const dir = folder('no-shard');
    writeGraphModel(dir, [4]);
    fs.rmSync(path.join(dir, 'w.bin'));
    const shard = path.join(dir, 'w.bin');
    await expect(loadTfjsModelFromDisk(path.join(dir, 'model.json'))).rejects.toThrow(`weight shard ${shard} is missing`);
    await expect(loadFeatureNetwork(dir)).rejects.toThrow(shard);
  });

  it('rejects files that are not tfjs models or diffpress classifiers', async () => {
    const dir = folder('bad');
    const json = path.join(dir, 'model.json');
    fs.writeFileSync(json, '{"format": "layers-model"}');
    await expect(loadTfjsModelFromDisk(json)).rejects.toThrow(/not a tfjs model\.json/);
    fs.writeFileSync(json, '{ nope');
    await expect(loadFeatureNetwork(dir)).rejects.toThrow(`cannot read tfjs model ${json}`);

    const lin = new Linear(2, 2, { rng: new Rng(0, 'l') });
    const file = path.join(dir, 'linear.safetensors');
    saveCheckpoint(lin, file);
    lin.dispose();
    const before = tf.memory().numTensors;
    await expect(loadFeatureNetwork(file)).rejects.toThrow(/metadata 'diffpress.classifier' is missing/);
    expect(tf.memory().numTensors).toBe(before);

    // A config that does not fit the tensors: the error, and the half-built network freed.
    const cls = new MnistClassifier(SMALL, new Rng(5, 'bad'));
    const good = saveFeatureClassifier(cls, folder('bad-config'), 'bad');
    cls.dispose();
    const { tensors, metadata } = readSafetensorsFile(good);
    writeSafetensorsFile(good, tensors, { ...metadata, 'diffpress.classifier': JSON.stringify({ ...SMALL, hidden: 7 }) });
    const before2 = tf.memory().numTensors;
    await expect(loadFeatureNetwork(good)).rejects.toThrow(/shape/);
    expect(tf.memory().numTensors).toBe(before2);
  });
});
