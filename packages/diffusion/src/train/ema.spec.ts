import * as tf from '@tensorflow/tfjs';
import { Ema } from './ema';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

/** A variable created without leaving its initial-value tensor behind. */
function variable(values: number[], shape = [values.length]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, shape), true));
}

/** Assigns `values` to `v` without leaking the temporary tensor. */
function set(v: tf.Variable, values: number[]): void {
  tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
}

function read(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

describe('Ema', () => {
  it('decayAt follows min(decay, (1 + k)/(10 + k))', () => {
    const ema = new Ema(new Map(), 0.999);
    // k = 0: 1/10; k = 1: 2/11; k = 2: 3/12 = 0.25; k = 8: 9/18 = 0.5; k = 100: 101/110 = 0.918181…
    expect(ema.decayAt(0)).toBeCloseTo(0.1, 15);
    expect(ema.decayAt(1)).toBeCloseTo(2 / 11, 15);
    expect(ema.decayAt(2)).toBe(0.25);
    expect(ema.decayAt(8)).toBe(0.5);
    expect(ema.decayAt(100)).toBeCloseTo(0.9181818181818182, 15);
    // (1 + k)/(10 + k) ≥ 0.999 ⇔ 1 + k ≥ 0.999·(10 + k) ⇔ 0.001·k ≥ 8.99 ⇔ k ≥ 8990.
    expect(ema.decayAt(8989)).toBeLessThan(0.999);
    expect(ema.decayAt(8990)).toBe(0.999);
    expect(ema.decayAt(1e6)).toBe(0.999);
  });

  it('decayAt is capped by a small target decay', () => {
    const ema = new Ema(new Map(), 0.5);
    // (1 + k)/(10 + k) reaches 0.5 at k = 8: min(0.5, 9/18) = 0.5; before, 8/17 < 0.5.
    expect(ema.decayAt(7)).toBeCloseTo(8 / 17, 15);
    expect(ema.decayAt(8)).toBe(0.5);
    expect(ema.decayAt(50)).toBe(0.5);
    // Decay 0 means the EMA just tracks the parameters.
    expect(new Ema(new Map(), 0).decayAt(5)).toBe(0);
  });

  it.each([1, -0.1, 1.5, NaN])('rejects decay %p', (d) => {
    expect(() => new Ema(new Map(), d)).toThrow(`EMA decay must be in [0, 1), got ${d}`);
  });

  it('update folds parameters in, checked by hand over 3 updates', () => {
    const p = variable([2]);
    const ema = new Ema(new Map([['w', p]]), 0.999);
    // The average starts at the initial parameter value 2.
    expect(read(ema.tensors().get('w') as tf.Tensor)).toEqual([2]);
    const expected = [
      // step 0, d = 0.1: 0.1·2 + 0.9·4 = 0.2 + 3.6 = 3.8
      [4, 3.8],
      // step 1, d = 2/11: (2/11)·3.8 + (9/11)·(−1) = (7.6 − 9)/11 = −1.4/11 = −0.12727273
      [-1, -1.4 / 11],
      // step 2, d = 0.25: 0.25·(−1.4/11) + 0.75·10 = −0.35/11 + 7.5 = 7.46818182
      [10, 7.5 - 0.35 / 11],
    ];
    expected.forEach(([value, average], step) => {
      set(p, [value]);
      ema.update(step);
      expect(read(ema.tensors().get('w') as tf.Tensor)[0]).toBeCloseTo(average, 5);
      // The live parameter is only read.
      expect(read(p)).toEqual([value]);
    });
    expect(7.5 - 0.35 / 11).toBeCloseTo(7.46818182, 8);
    ema.dispose();
    p.dispose();
  });

  it('averages every named parameter elementwise', () => {
    const a = variable([1, 2, 3, 4], [2, 2]);
    const b = variable([-1]);
    const ema = new Ema(
      new Map([
        ['a', a],
        ['b', b],
      ]),
      0.9,
    );
    set(a, [11, 12, 13, 14]);
    set(b, [9]);
    // d = 0.1: a → 0.1·a0 + 0.9·a1 = [0.1 + 9.9, 0.2 + 10.8, 0.3 + 11.7, 0.4 + 12.6] = [10, 11, 12, 13];
    // b → 0.1·(−1) + 0.9·9 = −0.1 + 8.1 = 8.
    ema.update(0);
    const t = ema.tensors();
    expect(t.get('a')?.shape).toEqual([2, 2]);
    read(t.get('a') as tf.Tensor).forEach((v, i) => expect(v).toBeCloseTo([10, 11, 12, 13][i], 5));
    expect(read(t.get('b') as tf.Tensor)[0]).toBeCloseTo(8, 5);
    // tensors() returns a fresh map.
    t.delete('a');
    expect(ema.tensors().has('a')).toBe(true);
    ema.dispose();
    tf.dispose([a, b]);
  });

  it('copyTo writes the averages into the targets, which then evolve independently', () => {
    const p = variable([1, 2]);
    const ema = new Ema(new Map([['w', p]]), 0.999);
    set(p, [11, 22]);
    ema.update(0); // 0.1·[1, 2] + 0.9·[11, 22] = [10, 20]
    const target = variable([0, 0]);
    ema.copyTo(new Map([['w', target]]));
    read(target).forEach((v, i) => expect(v).toBeCloseTo([10, 20][i], 5));
    set(target, [-5, -5]);
    read(ema.tensors().get('w') as tf.Tensor).forEach((v, i) => expect(v).toBeCloseTo([10, 20][i], 5));
    expect(() => ema.copyTo(new Map([['other', target]]))).toThrow("EMA copy: target lacks 'w'");
    ema.dispose();
    tf.dispose([p, target]);
  });

  it('load overwrites the averages and later updates continue from them', () => {
    const p = variable([0]);
    const ema = new Ema(new Map([['w', p]]), 0.999);
    const saved = tf.tensor1d([5]);
    ema.load(new Map([['w', saved]]));
    saved.dispose(); // the EMA does not depend on the caller's tensor
    expect(read(ema.tensors().get('w') as tf.Tensor)).toEqual([5]);
    set(p, [1]);
    ema.update(2); // d = 0.25: 0.25·5 + 0.75·1 = 2
    expect(read(ema.tensors().get('w') as tf.Tensor)[0]).toBeCloseTo(2, 6);
    expect(() => ema.load(new Map())).toThrow("EMA state lacks 'w'");
    ema.dispose();
    p.dispose();
  });

  it('leaks no tensors across updates, copies and loads', () => {
    const p = variable([1, 2, 3]);
    const target = variable([0, 0, 0]);
    const ema = new Ema(new Map([['w', p]]), 0.99);
    const before = tf.memory().numTensors;
    for (let step = 0; step < 5; step++) {
      set(p, [step, step + 1, step + 2]);
      ema.update(step);
      expect(tf.memory().numTensors).toBe(before);
    }
    ema.copyTo(new Map([['w', target]]));
    tf.tidy(() => ema.load(new Map([['w', tf.zeros([3])]])));
    expect(tf.memory().numTensors).toBe(before);
    ema.dispose();
    tf.dispose([p, target]);
  });

  // BUG (ema.ts, constructor): `tf.variable(p.clone(), false)` never disposes the clone, so every Ema leaks one
  // tensor per parameter, and that clone keeps the parameter's initial data buffer alive for the whole process
  // once the parameter and the average have been reassigned. Marked `failing` until fixed (e.g.
  // `tf.variable(p, false)`, or dispose the clone after creating the variable); then turn it into a plain `it`.
  it('constructing and disposing an Ema frees everything it allocated', () => {
    const p = variable([1, 2, 3]);
    const before = tf.memory();
    const ema = new Ema(new Map([['w', p]]), 0.99);
    ema.dispose();
    const after = tf.memory();
    p.dispose();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
  });
});
