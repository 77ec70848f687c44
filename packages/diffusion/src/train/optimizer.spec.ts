import * as tf from '@tensorflow/tfjs';
import { AdamOptions, AdamW } from './optimizer';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

function variable(values: number[], shape = [values.length]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, shape), true));
}

function read(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** One step on the single parameter `w` with gradient `g`. */
function stepScalar(opt: AdamW, w: tf.Variable, g: number, lr: number): void {
  const grad = tf.tensor1d([g]);
  opt.apply(new Map([['w', w]]), new Map([['w', grad]]), lr);
  grad.dispose();
}

describe('AdamW', () => {
  it('resolves the default options', () => {
    const opt = new AdamW();
    expect(opt.options).toEqual({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: true });
    expect(opt.step).toBe(0);
    expect(new AdamW({ beta1: 0, weightDecay: 0.1 }).options).toEqual({ beta1: 0, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: true });
  });

  it.each<[AdamOptions, string]>([
    [{ beta1: 1 }, '1, 0.999'],
    [{ beta1: -0.1 }, '-0.1, 0.999'],
    [{ beta2: 1 }, '0.9, 1'],
    [{ beta2: NaN }, '0.9, NaN'],
  ])('rejects betas %p', (options, shown) => {
    expect(() => new AdamW(options)).toThrow(`AdamW: betas must be in [0, 1), got ${shown}`);
  });

  it('first step moves by lr·sign(g); second step by hand', () => {
    const w = variable([1]);
    const opt = new AdamW();
    // Step 1, g = 2: m = 0.1·2 = 0.2, v = 0.001·4 = 0.004; m̂ = 0.2/0.1 = 2, v̂ = 0.004/0.001 = 4;
    // update = 2/(√4 + 1e-8) = 1 − 5e-9 → w = 1 − 0.1 = 0.9 (up to eps).
    stepScalar(opt, w, 2, 0.1);
    expect(opt.step).toBe(1);
    expect(read(w)[0]).toBeCloseTo(0.9, 6);
    const s1 = opt.stateTensors();
    expect(read(s1.get('m.w') as tf.Tensor)[0]).toBeCloseTo(0.2, 7);
    expect(read(s1.get('v.w') as tf.Tensor)[0]).toBeCloseTo(0.004, 9);
    // Step 2, g = −1: m = 0.9·0.2 + 0.1·(−1) = 0.08, v = 0.999·0.004 + 0.001·1 = 0.004996;
    // c1 = 1 − 0.81 = 0.19, c2 = 1 − 0.998001 = 0.001999; m̂ = 0.4210526, v̂ = 2.4992496, √v̂ = 1.5809015;
    // update = 0.4210526/1.5809015 = 0.2663370 → w = 0.9 − 0.0266337 = 0.8733663.
    stepScalar(opt, w, -1, 0.1);
    expect(opt.step).toBe(2);
    expect(read(w)[0]).toBeCloseTo(0.8733663, 6);
    const s2 = opt.stateTensors();
    expect(read(s2.get('m.w') as tf.Tensor)[0]).toBeCloseTo(0.08, 7);
    expect(read(s2.get('v.w') as tf.Tensor)[0]).toBeCloseTo(0.004996, 9);
    opt.dispose();
    w.dispose();
  });

  it('the first step has size lr whatever the gradient scale (bias correction)', () => {
    // m̂/√v̂ = g/|g| on step 1, so parameters move by exactly lr·sign(g) (up to eps/|g|).
    const w = variable([0, 0, 0, 0]);
    const g = tf.tensor1d([1e-3, -50, 7, -0.2]);
    const opt = new AdamW();
    opt.apply(new Map([['w', w]]), new Map([['w', g]]), 0.01);
    // Exactly: −lr·g/(|g| + 1e-8); for g = 1e-3 the eps is visible: 0.01·1e-3/(1e-3 + 1e-8) = 0.0099999.
    const gs = [1e-3, -50, 7, -0.2];
    read(w).forEach((v, i) => expect(v).toBeCloseTo((-0.01 * gs[i]) / (Math.abs(gs[i]) + 1e-8), 8));
    expect(read(w)[0]).toBeCloseTo(-0.0099999, 8);
    // The gradient is not disposed by the optimizer.
    expect(g.isDisposed).toBe(false);
    opt.dispose();
    tf.dispose([w, g]);
  });

  it('decoupled weight decay and L2 decay differ as computed by hand', () => {
    const run = (decoupled: boolean): number[] => {
      const w = variable([1]);
      const opt = new AdamW({ weightDecay: 0.1, decoupled });
      const out: number[] = [];
      for (let i = 0; i < 2; i++) {
        stepScalar(opt, w, 2, 0.1);
        out.push(read(w)[0]);
      }
      opt.dispose();
      w.dispose();
      return out;
    };
    // Decoupled: a constant gradient gives m̂/√v̂ = 1 at every step; update = 1 + wd·w.
    // Step 1: w = 1 − 0.1·(1 + 0.1·1) = 0.89; step 2: w = 0.89 − 0.1·(1 + 0.089) = 0.7811.
    const dec = run(true);
    expect(dec[0]).toBeCloseTo(0.89, 6);
    expect(dec[1]).toBeCloseTo(0.7811, 6);
    // L2: the decay enters the gradient, g' = g + wd·w, and is normalised away by Adam on step 1:
    // step 1: g' = 2.1, update = 2.1/2.1 = 1 → w = 0.9.
    // step 2: g' = 2 + 0.09 = 2.09; m = 0.9·0.21 + 0.1·2.09 = 0.398, m̂ = 0.398/0.19 = 2.0947368;
    // v = 0.999·0.00441 + 0.001·4.3681 = 0.00877369, v̂ = 4.3890395, √v̂ = 2.0950034;
    // update = 0.9998727 → w = 0.9 − 0.0999873 = 0.8000127.
    const l2 = run(false);
    expect(l2[0]).toBeCloseTo(0.9, 6);
    expect(l2[1]).toBeCloseTo(0.8000127, 6);
    expect(Math.abs(dec[1] - l2[1])).toBeGreaterThan(0.01);
  });

  it('weight decay 0 makes the two modes identical', () => {
    const run = (decoupled: boolean): number => {
      const w = variable([1]);
      const opt = new AdamW({ weightDecay: 0, decoupled });
      stepScalar(opt, w, 2, 0.1);
      stepScalar(opt, w, -1, 0.1);
      const out = read(w)[0];
      opt.dispose();
      w.dispose();
      return out;
    };
    expect(run(true)).toBe(run(false));
  });

  it('beta1 = 0 makes every step lr·g/|g| for scalars (ADD discriminator setting)', () => {
    // m = g, m̂ = g; with a constant |g| = 3: v̂ = 9 at every step → update = sign(g).
    const w = variable([0]);
    const opt = new AdamW({ beta1: 0 });
    stepScalar(opt, w, 3, 0.5);
    stepScalar(opt, w, -3, 0.5);
    stepScalar(opt, w, -3, 0.5);
    // 0 − 0.5 + 0.5 + 0.5 = 0.5
    expect(read(w)[0]).toBeCloseTo(0.5, 6);
    opt.dispose();
    w.dispose();
  });

  it('updates only parameters with a gradient and names its state m.<param>, v.<param>', () => {
    const a = variable([1, 2]);
    const b = variable([3]);
    const params = new Map([
      ['a', a],
      ['b', b],
    ]);
    const opt = new AdamW();
    const g = tf.tensor1d([1, -1]);
    opt.apply(params, new Map([['a', g]]), 0.1);
    read(a).forEach((v, i) => expect(v).toBeCloseTo([0.9, 2.1][i], 6));
    expect(read(b)).toEqual([3]);
    expect([...opt.stateTensors().keys()]).toEqual(['m.a', 'v.a']);
    opt.dispose();
    tf.dispose([a, b, g]);
  });

  it('rejects a gradient for an unknown parameter', () => {
    const w = variable([1]);
    const g = tf.tensor1d([1]);
    const opt = new AdamW();
    expect(() => opt.apply(new Map([['w', w]]), new Map([['u', g]]), 0.1)).toThrow("AdamW: gradient for unknown parameter 'u'");
    expect(read(w)).toEqual([1]);
    opt.dispose();
    tf.dispose([w, g]);
  });

  it('stateTensors/loadState round trip continues bitwise like an uninterrupted optimizer', () => {
    const options: AdamOptions = { weightDecay: 0.05, beta1: 0.8, beta2: 0.99 };
    const grads = [
      [0.3, -1.2, 2.5],
      [-0.7, 0.4, 0.1],
      [1.1, 0.9, -2.2],
      [0.05, -0.3, 0.6],
    ];
    const lrs = [1e-2, 2e-2, 3e-2, 1e-2];
    const apply = (opt: AdamW, w: tf.Variable, k: number): void => {
      const g = tf.tensor(grads[k], [3, 1]);
      opt.apply(new Map([['w', w]]), new Map([['w', g]]), lrs[k]);
      g.dispose();
    };

    // Uninterrupted run: 4 steps.
    const wA = variable([0.5, -0.25, 1], [3, 1]);
    const a = new AdamW(options);
    for (let k = 0; k < 2; k++) apply(a, wA, k);
    // Checkpoint after 2 steps, through plain arrays as a file would hold them.
    const saved = new Map([...a.stateTensors()].map(([k, t]) => [k, { values: read(t), shape: t.shape }]));
    const savedW = read(wA);
    const savedStep = a.step;
    for (let k = 2; k < 4; k++) apply(a, wA, k);

    // Resumed run.
    const wB = variable(savedW, [3, 1]);
    const b = new AdamW(options);
    const state = new Map([...saved].map(([k, s]) => [k, tf.tensor(s.values, s.shape)]));
    b.loadState(state, savedStep);
    tf.dispose([...state.values()]); // loadState keeps its own references
    expect(b.step).toBe(2);
    for (let k = 2; k < 4; k++) apply(b, wB, k);

    expect(b.step).toBe(a.step);
    expect(read(wB)).toEqual(read(wA));
    const sa = a.stateTensors();
    const sb = b.stateTensors();
    expect([...sb.keys()].sort()).toEqual(['m.w', 'v.w']);
    for (const k of sa.keys()) expect(read(sb.get(k) as tf.Tensor)).toEqual(read(sa.get(k) as tf.Tensor));

    // Without the step count the bias correction differs, so the state alone is not enough.
    const wC = variable(savedW, [3, 1]);
    const c = new AdamW(options);
    const stateC = new Map([...saved].map(([k, s]) => [k, tf.tensor(s.values, s.shape)]));
    c.loadState(stateC, 0);
    tf.dispose([...stateC.values()]);
    for (let k = 2; k < 4; k++) apply(c, wC, k);
    expect(read(wC)).not.toEqual(read(wA));

    for (const o of [a, b, c]) o.dispose();
    tf.dispose([wA, wB, wC]);
  });

  it('loadState rejects an entry that is neither m.* nor v.*', () => {
    const opt = new AdamW();
    const t = tf.zeros([1]);
    expect(() => opt.loadState(new Map([['x.w', t]]), 3)).toThrow("AdamW: unexpected optimizer state entry 'x.w'");
    opt.dispose();
    t.dispose();
  });

  it('leaks no tensors: state is allocated once, freed by dispose', () => {
    const w = variable([1, 2, 3]);
    const g = tf.tensor1d([0.1, 0.2, 0.3]);
    const before = tf.memory().numTensors;
    const opt = new AdamW({ weightDecay: 0.01 });
    opt.apply(new Map([['w', w]]), new Map([['w', g]]), 1e-3);
    expect(tf.memory().numTensors).toBe(before + 2); // m.w and v.w
    for (let i = 0; i < 3; i++) opt.apply(new Map([['w', w]]), new Map([['w', g]]), 1e-3);
    expect(tf.memory().numTensors).toBe(before + 2);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(opt.stateTensors().size).toBe(0);
    tf.dispose([w, g]);
  });
});
