import * as tf from '@tensorflow/tfjs';
import { Conv2d } from '../nn/layers/conv2d';
import { Linear } from '../nn/layers/linear';
import { AnyModule, Module } from '../nn/module';
import { Rng } from '../random/seeded';

/**
 * A layer with one weight tensor that it can run with a substitute weight: core's `Conv2d` and `Linear`, and any
 * wrapper a method puts around one that lets a later method still transform the weight (a quantizer after a
 * binarizer or a sampling-time wrapper). Such a wrapper exposes the inner layer's weight variable as `weight` and
 * applies its own change around the inner `forwardWith`, so that `forwardWith(x, weight)` is its normal output.
 *
 * {@link WeightLayerWrapper} implements the plumbing.
 */
export interface WeightLayer {
  /** The weight variable, output channels on the last axis (conv kernels `[kh, kw, in, out]`, linear `[in, out]`). */
  readonly weight: tf.Variable;
  /** The layer's output with its weight replaced by `w` (same shape as `weight`). */
  forwardWith(x: tf.Tensor, w: tf.Tensor): tf.Tensor;
  /** The layer's output, `forwardWith(x, weight)`. */
  forward(x: tf.Tensor): tf.Tensor;
}

/** Whether `m` is a module that implements {@link WeightLayer} (e.g. `Conv2d`, `Linear`, a wrapper of one). */
export function isWeightLayer(m: unknown): m is WeightLayer & AnyModule {
  const l = m as Partial<WeightLayer> | null;
  return m instanceof Module && l?.weight instanceof tf.Variable && typeof l.forwardWith === 'function';
}

/**
 * A module that a method put in place of a layer and that can build an independent copy of itself, so that a later
 * method can work on a copy of a model containing it (see {@link copyModuleInto}).
 */
export interface CopyableModule {
  /**
   * A module of the same class, structure and settings with parameters and buffers of its own (their values may be
   * anything: {@link copyModuleInto} loads them afterwards).
   */
  copyModule(): AnyModule;
}

/** Whether `m` implements {@link CopyableModule}. */
export function isCopyableModule(m: unknown): m is CopyableModule {
  return m instanceof Module && typeof (m as Partial<CopyableModule>).copyModule === 'function';
}

/**
 * A module of the same class and settings as `layer`, with weights of its own (drawn from a private generator, so
 * the shared one is not advanced; their values are meant to be overwritten): `Conv2d` and `Linear` are rebuilt from
 * their settings, a {@link CopyableModule} copies itself.
 *
 * @throws Error for any other module.
 */
export function freshLayerLike(layer: AnyModule): AnyModule {
  const rng = new Rng(0, 'fresh-layer');
  if (layer instanceof Conv2d) {
    const options = { stride: layer.stride, padding: layer.padding, dilation: layer.dilation, bias: layer.bias != null, rng };
    return new Conv2d(layer.inChannels, layer.outChannels, layer.kernelSize, options) as unknown as AnyModule;
  }
  if (layer instanceof Linear) return new Linear(layer.inFeatures, layer.outFeatures, { bias: layer.bias != null, rng }) as unknown as AnyModule;
  if (isCopyableModule(layer)) return layer.copyModule();
  throw new Error(`freshLayerLike: a ${layer.constructor.name} is neither a Conv2d, a Linear nor copyable`);
}

/**
 * Base of a method's wrapper around a weight layer that keeps it a {@link WeightLayer} (a later method can still
 * quantize the inner weight) and a {@link CopyableModule}: the child `inner`, `weight` (the inner one), `forward`
 * and `copyModule` are done; a subclass gives its change around the inner layer in `forwardWith` and how to wrap a
 * fresh inner layer with its own settings in `rewrap`.
 *
 * @example
 * ```ts
 * class Doubled extends WeightLayerWrapper {
 *   forwardWith(x: tf.Tensor, w: tf.Tensor): tf.Tensor { return tf.tidy(() => tf.mul(this.inner.forwardWith(x, w), 2)); }
 *   protected rewrap(inner: WeightLayer & AnyModule): Doubled { return new Doubled(inner); }
 * }
 * unet.replace('down.0.res.0.conv1', new Doubled(unet.getModule('down.0.res.0.conv1') as Conv2d));
 * ```
 */
export abstract class WeightLayerWrapper extends Module implements WeightLayer, CopyableModule {
  /** The wrapped layer. */
  readonly inner: WeightLayer & AnyModule;

  /** @param inner - The layer to wrap (kept, not copied). */
  constructor(inner: WeightLayer & AnyModule) {
    super();
    this.inner = this.registerModule('inner', inner);
  }

  /** The inner layer's weight. */
  get weight(): tf.Variable {
    return this.inner.weight;
  }

  /** See {@link WeightLayer.forwardWith}. */
  abstract forwardWith(x: tf.Tensor, w: tf.Tensor): tf.Tensor;

  /** A wrapper of this class and settings around `inner`. */
  protected abstract rewrap(inner: WeightLayer & AnyModule): WeightLayerWrapper;

  /** `forwardWith(x, weight)`. */
  forward(x: tf.Tensor): tf.Tensor {
    return this.forwardWith(x, this.weight);
  }

  /** See {@link CopyableModule.copyModule}: the same wrapper around a fresh copy of the inner layer. */
  copyModule(): AnyModule {
    return this.rewrap(freshLayerLike(this.inner) as unknown as WeightLayer & AnyModule) as unknown as AnyModule;
  }
}

function moduleAt(root: AnyModule, path: string): AnyModule | null {
  try {
    return root.getModule(path);
  } catch {
    return null;
  }
}

/**
 * Makes `target`, a freshly built instance of `source`'s architecture, a copy of `source` with variables of its own:
 * every module of `source` that `target` lacks or holds with another class (a layer some method replaced) is put in
 * from its {@link CopyableModule.copyModule} (the fresh module there is disposed), then every parameter and buffer is
 * loaded from `source`. This is how a method copies a model that earlier methods already changed, without knowing
 * their wrapper classes.
 *
 * @throws Error naming the module when a replaced module is not copyable, the roots differ in class, or the states
 *   differ after the replacements (nothing in `source` is changed).
 * @example
 * ```ts
 * const copy = new UNet(parent.plan.config);
 * copyModuleInto(parent, copy);
 * ```
 */
export function copyModuleInto(source: AnyModule, target: AnyModule): void {
  if (source.constructor !== target.constructor) throw new Error(`copyModuleInto: a ${source.constructor.name} cannot be copied into a ${target.constructor.name}`);
  const replaced: string[] = [];
  for (const [path, m] of source.namedModules()) {
    if (path === '' || replaced.some((r) => path.startsWith(`${r}.`))) continue;
    const own = moduleAt(target, path);
    if (own && own.constructor === m.constructor) continue;
    if (!isCopyableModule(m)) {
      throw new Error(
        `cannot copy '${path}' (${m.constructor.name}): it replaced a ${own ? own.constructor.name : 'module the architecture does not have'}, and a module that replaces a layer must implement copyModule() for later methods to work on a copy of the model`,
      );
    }
    if (!own) throw new Error(`cannot copy '${path}' (${m.constructor.name}): the architecture has no module there to replace`);
    target.replace(path, m.copyModule()).dispose();
    replaced.push(path);
  }
  target.loadStateDict(source.stateDict(), { strict: true, source: 'the model being copied' });
}
