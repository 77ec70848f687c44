import * as tf from '@tensorflow/tfjs';
import { Linear, Module, ModuleList, Rng, silu } from '@diffpress/core';
import { TimeEmbedding } from '../unet/timestep-embedding';

/** Configuration of {@link MlpDenoiser}; every field has a default. */
export interface MlpDenoiserConfig {
  /** Size `d` of a data point (default 2, the toy sets). */
  dataDim?: number;
  /** Width of the hidden layers and of the time vector (default 128). */
  hidden?: number;
  /** Number of residual blocks (default 3; 0 gives `output(SiLU(input(x)))`, which ignores `t`). */
  depth?: number;
  /** Size of the sinusoidal timestep embedding (default 64). */
  timeEmbedDim?: number;
  /** Generator for the initial weights; each layer forks it by its path. Default: the shared one (`manualSeed`). */
  rng?: Rng;
}

/** One residual block of {@link MlpDenoiser}: `h + linear(SiLU(h)) + time(SiLU(temb))`. */
export class MlpResBlock extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  /** Hidden → hidden, on the activated features. */
  readonly linear: Linear;
  /** Time vector → hidden, this block's own projection of the shared time vector. */
  readonly time: Linear;

  /**
   * @param hidden - Feature width.
   * @param rng - Weight generator (forked per layer), or undefined for the shared one.
   */
  constructor(hidden: number, rng?: Rng) {
    super();
    this.linear = this.registerModule('linear', new Linear(hidden, hidden, { rng: rng?.fork('linear') }));
    this.time = this.registerModule('time', new Linear(hidden, hidden, { rng: rng?.fork('time') }));
  }

  /**
   * @param h - Features `[n, hidden]`.
   * @param tembAct - The activated time vector `SiLU(temb)` `[n, hidden]` (activated once by the caller, shared by
   *   all blocks).
   * @returns `[n, hidden]`.
   */
  forward(h: tf.Tensor, tembAct: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(tf.add(h, this.linear.forward(silu(h))), this.time.forward(tembAct)));
  }
}

/**
 * The small MLP denoiser for 2-D (or any flat `d`-dimensional) data, the preset for the toy sets:
 *
 * ```text
 * temb = time.linear2(SiLU(time.linear1(sinusoidal(t))))
 * h    = input(x)
 * h    = h + blocks.i.linear(SiLU(h)) + blocks.i.time(SiLU(temb))      for i = 0 … depth−1
 * out  = output(SiLU(h))
 * ```
 *
 * The time vector is activated before each block's projection as in DDPM's ResNet blocks. Paths: `time.linear1`,
 * `time.linear2`, `input`, `blocks.<i>.linear`, `blocks.<i>.time`, `output` (all {@link Linear}). With `d` =
 * dataDim, `H` = hidden, `E` = timeEmbedDim and `D` = depth it has
 * `(E + 1)H + (H + 1)H + (d + 1)H + 2D(H + 1)H + (H + 1)d` parameters (124,546 with the defaults). What the output
 * means (ε, x₀, v) is the parameterisation's business, not the network's.
 *
 * @example
 * ```ts
 * const net = new MlpDenoiser({ hidden: 128, depth: 3, rng: new Rng(0, 'init') });
 * const eps = tf.tidy(() => net.forward(xt, t)); // xt [n, 2], t [n] in 0…999 → [n, 2]
 * ```
 */
export class MlpDenoiser extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  /** Size of a data point. */
  readonly dataDim: number;
  /** Hidden width. */
  readonly hidden: number;
  /** Number of residual blocks. */
  readonly depth: number;
  /** Size of the sinusoidal embedding. */
  readonly timeEmbedDim: number;
  /** Time MLP. */
  readonly time: TimeEmbedding;
  /** Data → hidden. */
  readonly input: Linear;
  /** Residual blocks `blocks.0` … `blocks.<depth − 1>`. */
  readonly blocks: ModuleList<MlpResBlock>;
  /** Hidden → data. */
  readonly output: Linear;

  /**
   * @param config - Sizes and weight generator, see {@link MlpDenoiserConfig}.
   * @throws RangeError on a non-integer or non-positive size (depth may be 0; timeEmbedDim at least 2).
   */
  constructor(config: MlpDenoiserConfig = {}) {
    super();
    this.dataDim = config.dataDim ?? 2;
    this.hidden = config.hidden ?? 128;
    this.depth = config.depth ?? 3;
    this.timeEmbedDim = config.timeEmbedDim ?? 64;
    const sizes: Array<[string, number, number]> = [
      ['dataDim', this.dataDim, 1],
      ['hidden', this.hidden, 1],
      ['depth', this.depth, 0],
      ['timeEmbedDim', this.timeEmbedDim, 2],
    ];
    for (const [key, value, min] of sizes) {
      if (!Number.isInteger(value) || value < min) throw new RangeError(`MlpDenoiser: ${key} must be an integer ≥ ${min}, got ${value}`);
    }
    const rng = config.rng;
    const H = this.hidden;
    this.time = this.registerModule('time', new TimeEmbedding(this.timeEmbedDim, H, rng?.fork('time')));
    this.input = this.registerModule('input', new Linear(this.dataDim, H, { rng: rng?.fork('input') }));
    this.blocks = this.registerModule(
      'blocks',
      new ModuleList(Array.from({ length: this.depth }, (_, i) => new MlpResBlock(H, rng?.fork(`blocks.${i}`)))),
    );
    this.output = this.registerModule('output', new Linear(H, this.dataDim, { rng: rng?.fork('output') }));
  }

  /**
   * @param x - Noisy data `[n, dataDim]`.
   * @param t - Timesteps `[n]` in model time units (0…999 for a 1000-step schedule; fractional values allowed).
   * @returns `[n, dataDim]`.
   * @throws RangeError on shapes that do not match.
   */
  forward(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.dataDim) {
      throw new RangeError(`MlpDenoiser: x must be [n, ${this.dataDim}], got [${x.shape.join(', ')}]`);
    }
    if (t.rank !== 1 || t.shape[0] !== x.shape[0]) {
      throw new RangeError(`MlpDenoiser: t must be [${x.shape[0]}] (one timestep per row of x), got [${t.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const tembAct = silu(this.time.forward(t));
      let h = this.input.forward(x);
      // Read through the list at call time so a block swapped in by `replace` takes effect.
      for (const block of this.blocks.toArray()) h = block.forward(h, tembAct);
      return this.output.forward(silu(h));
    });
  }
}
