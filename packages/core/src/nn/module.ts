import * as tf from '@tensorflow/tfjs';
import { matchesAnyGlob } from './glob';

/** A module of any forward signature, as stored in a parent. */
// Methods are bivariant in their parameters, so every Module<In, Out> is assignable to this.
export type AnyModule = Module<never[], unknown>;

/** Options of {@link Module.select}. */
export interface SelectOptions {
  /** Paths matching any of these globs are left out (the default exclusion sets of methods go here). */
  exclude?: readonly string[];
  /** Further filter on the module itself, e.g. `(m) => m instanceof Conv2d`. */
  where?: (module: AnyModule, path: string) => boolean;
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateOptions {
  /** Require the names to match exactly (default `true`); with `false`, names absent on either side are skipped. */
  strict?: boolean;
  /** Label for error messages, e.g. the checkpoint's file path. */
  source?: string;
}

/** How many mismatches an error message lists before it summarises the rest. */
const MAX_LISTED = 8;

/**
 * Base class of every network part, modelled on PyTorch's `nn.Module` because compression methods work by module
 * surgery: they find layers by path ({@link Module.select}), wrap or swap them ({@link Module.replace}) and read
 * intermediate outputs.
 *
 * A module owns named children (other modules), named parameters (trainable `tf.Variable`s) and named buffers
 * (persistent non-trainable state such as quantizer ranges). Paths join names with dots:
 * `down.0.res.1.conv1.weight`. Subclasses register in their constructor and implement {@link Module.forward}; a
 * child stored in a field must use the field's name as its registered name, so that {@link Module.replace} can
 * update both.
 *
 * @typeParam TIn the argument list of `forward`.
 * @typeParam TOut what `forward` returns.
 *
 * @example
 * ```ts
 * class Block extends Module {
 *   readonly conv = this.registerModule('conv', new Conv2d(8, 8, 3));
 *   readonly act = this.registerModule('act', new SiLU());
 *   forward(x: tf.Tensor): tf.Tensor { return this.act.forward(this.conv.forward(x)); }
 * }
 * ```
 */
export abstract class Module<TIn extends unknown[] = [tf.Tensor], TOut = tf.Tensor> {
  private readonly childMap = new Map<string, AnyModule>();
  private readonly paramMap = new Map<string, tf.Variable>();
  private readonly bufferMap = new Map<string, tf.Variable>();
  private trainingMode = true;

  /** The computation. Tensors it creates are the caller's to dispose (run it inside `tf.tidy`). */
  abstract forward(...inputs: TIn): TOut;

  /** Whether the module is in training mode (affects dropout and the like). */
  get training(): boolean {
    return this.trainingMode;
  }

  /** Registers a child module under `name` and returns it, so it can initialise a field of the same name. */
  protected registerModule<M extends AnyModule>(name: string, module: M): M {
    this.checkName(name);
    this.childMap.set(name, module);
    return module;
  }

  /** Registers a parameter initialised with `value` (which the module takes ownership of and disposes). */
  protected registerParameter(name: string, value: tf.Tensor, trainable = true): tf.Variable {
    this.checkName(name);
    const v = tf.variable(value, trainable);
    value.dispose();
    this.paramMap.set(name, v);
    return v;
  }

  /** Registers a persistent, non-trainable buffer (saved in the state dict, never updated by optimisers). */
  protected registerBuffer(name: string, value: tf.Tensor): tf.Variable {
    this.checkName(name);
    const v = tf.variable(value, false);
    value.dispose();
    this.bufferMap.set(name, v);
    return v;
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.')) throw new Error(`invalid module entry name '${name}': non-empty, no dots`);
    if (this.childMap.has(name) || this.paramMap.has(name) || this.bufferMap.has(name)) {
      throw new Error(`'${name}' is already registered on ${this.constructor.name}`);
    }
  }

  /** Direct children in registration order. */
  namedChildren(): Array<[string, AnyModule]> {
    return [...this.childMap.entries()];
  }

  /** This module (path `''`, or `prefix`) and all its descendants, depth first, parents before children. */
  namedModules(prefix = ''): Array<[string, AnyModule]> {
    const out: Array<[string, AnyModule]> = [[prefix, this as unknown as AnyModule]];
    for (const [name, child] of this.childMap) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  /** Own and descendant parameters by full path (`down.0.conv.weight`). */
  namedParameters(): Array<[string, tf.Variable]> {
    return this.collect((m) => m.paramMap);
  }

  /** Own and descendant buffers by full path. */
  namedBuffers(): Array<[string, tf.Variable]> {
    return this.collect((m) => m.bufferMap);
  }

  private collect(pick: (m: Module<never[], unknown>) => Map<string, tf.Variable>): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [path, m] of this.namedModules()) {
      for (const [name, v] of pick(m)) out.push([join(path, name), v]);
    }
    return out;
  }

  /** All parameters (trainable or frozen). */
  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** The parameters an optimiser should update. */
  trainableVariables(): tf.Variable[] {
    return this.parameters().filter((v) => v.trainable);
  }

  /** Number of scalar parameters (trainable or not; buffers excluded). */
  numParameters(): number {
    return this.parameters().reduce((n, v) => n + v.size, 0);
  }

  /** Sets training mode on this module and all descendants; returns `this`. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) (m as Module<never[], unknown>).trainingMode = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** The descendant at `path` (`''` is this module). Throws naming the children available where the path breaks. */
  getModule(path: string): AnyModule {
    let m = this as unknown as AnyModule;
    if (path === '') return m;
    const parts = path.split('.');
    parts.forEach((name, i) => {
      const next = m.childMap.get(name);
      if (next == null) {
        const at = parts.slice(0, i).join('.') || '(root)';
        throw new Error(`no module '${path}': '${at}' has no child '${name}' (children: ${[...m.childMap.keys()].join(', ') || 'none'})`);
      }
      m = next;
    });
    return m;
  }

  /**
   * Puts `module` at `path` in place of the module there and returns the old one (not disposed: wrappers often
   * keep it). A field of the parent that held the old module is updated too.
   */
  replace(path: string, module: AnyModule): AnyModule {
    if (path === '') throw new Error('replace: cannot replace the root module');
    const cut = path.lastIndexOf('.');
    const parent = this.getModule(cut < 0 ? '' : path.slice(0, cut));
    const name = path.slice(cut + 1);
    const old = parent.childMap.get(name);
    if (old == null) throw new Error(`replace: no module '${path}'`);
    parent.childMap.set(name, module);
    const fields = parent as unknown as Record<string, unknown>;
    if (fields[name] === old) fields[name] = module;
    return old;
  }

  /**
   * Descendants (never the root) whose paths match any of the glob `patterns` (see {@link matchesGlob}), minus
   * those matching `exclude`, in depth-first order.
   *
   * @example
   * ```ts
   * unet.select('**', { exclude: ['stem', 'out', 'temb.**'], where: (m) => m instanceof Conv2d });
   * ```
   */
  select(patterns: string | readonly string[], options: SelectOptions = {}): Array<[string, AnyModule]> {
    const include = typeof patterns === 'string' ? [patterns] : patterns;
    const exclude = options.exclude ?? [];
    return this.namedModules().filter(
      ([path, m]) =>
        path !== '' &&
        matchesAnyGlob(path, include) &&
        !matchesAnyGlob(path, exclude) &&
        (options.where == null || options.where(m, path)),
    );
  }

  /** Parameters and buffers by full path (the variables themselves: read, do not dispose). */
  stateDict(): Map<string, tf.Variable> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Assigns values to parameters and buffers by path. All names and shapes are checked before anything is
   * assigned, so a mismatch leaves the module unchanged; the error lists the first mismatches.
   */
  loadStateDict(values: ReadonlyMap<string, tf.Tensor>, options: LoadStateOptions = {}): void {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const problems: string[] = [];
    if (strict) {
      for (const name of own.keys()) if (!values.has(name)) problems.push(`missing '${name}' ${shapeStr(own.get(name)?.shape)}`);
      for (const name of values.keys()) if (!own.has(name)) problems.push(`unexpected '${name}' ${shapeStr(values.get(name)?.shape)}`);
    }
    for (const [name, v] of own) {
      const t = values.get(name);
      if (t == null) continue;
      if (!tf.util.arraysEqual(t.shape, v.shape)) problems.push(`shape of '${name}': module ${shapeStr(v.shape)}, given ${shapeStr(t.shape)}`);
      else if (t.dtype !== v.dtype) problems.push(`dtype of '${name}': module ${v.dtype}, given ${t.dtype}`);
    }
    if (problems.length > 0) {
      const more = problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more` : '';
      const src = options.source ? ` from ${options.source}` : '';
      throw new Error(
        `cannot load state${src} into ${this.constructor.name}: ${problems.length} mismatch(es): ${problems.slice(0, MAX_LISTED).join('; ')}${more}`,
      );
    }
    for (const [name, v] of own) {
      const t = values.get(name);
      // Variable.assign releases the old buffer before taking the new one, so assigning a variable its own data
      // (e.g. a dict built from this module's stateDict) would free it.
      if (t != null && t.dataId !== v.dataId) v.assign(t);
    }
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const v of [...this.parameters(), ...this.namedBuffers().map(([, b]) => b)]) v.dispose();
  }
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function shapeStr(shape: readonly number[] | undefined): string {
  return shape == null ? '' : `[${shape.join(', ')}]`;
}
