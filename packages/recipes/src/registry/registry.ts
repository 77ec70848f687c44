import { DiffusionMethod } from '@diffpress/diffusion';
import { METHOD_FAMILIES } from '@diffpress/core';
import { BUILTIN_METHOD_PACKAGES } from './builtin';
import { nearest } from './suggest';

/** A registered method with its config type erased (recipes hold configs as parsed JSON). */
export type RegisteredMethod = DiffusionMethod<unknown>;

const ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * The methods a recipe may name. Method packages export their methods as an array; {@link builtinRegistry} collects
 * them, and tests build small registries of their own.
 *
 * @example
 * ```ts
 * const registry = new MethodRegistry().register(myMethod);
 * registry.require('my-method').config.parse({});
 * ```
 */
export class MethodRegistry {
  private readonly methods = new Map<string, RegisteredMethod>();

  /**
   * Adds methods.
   *
   * @throws Error for an id that is not kebab-case, an unknown family or an id registered twice.
   */
  register(...methods: RegisteredMethod[]): this {
    for (const m of methods) {
      if (!ID_PATTERN.test(m.id)) throw new Error(`method id '${m.id}' must be kebab-case (e.g. 'q-diffusion')`);
      if (!METHOD_FAMILIES.includes(m.family)) throw new Error(`method '${m.id}': unknown family '${String(m.family)}' (expected one of ${METHOD_FAMILIES.join(', ')})`);
      if (this.methods.has(m.id)) throw new Error(`method '${m.id}' is registered twice`);
      this.methods.set(m.id, m);
    }
    return this;
  }

  /** The method with this id, if registered. */
  get(id: string): RegisteredMethod | undefined {
    return this.methods.get(id);
  }

  /**
   * The method with this id.
   *
   * @throws Error naming the nearest registered id, or listing them all.
   */
  require(id: string): RegisteredMethod {
    const m = this.methods.get(id);
    if (m) return m;
    throw new Error(this.unknownMessage(id));
  }

  /** The error text for an unknown id: the nearest registered id as a suggestion, or the list of ids. */
  unknownMessage(id: string): string {
    const hint = this.suggest(id);
    if (hint) return `unknown method '${id}' — did you mean '${hint}'?`;
    return this.methods.size === 0
      ? `unknown method '${id}' (no methods are registered)`
      : `unknown method '${id}' (registered: ${this.ids().join(', ')})`;
  }

  /** The registered id nearest to `id` by edit distance, if close enough to be a typo. */
  suggest(id: string): string | undefined {
    return nearest(id, this.ids());
  }

  /** Registered ids, sorted. */
  ids(): string[] {
    return [...this.methods.keys()].sort();
  }

  /** Registered methods, sorted by family then id. */
  list(): RegisteredMethod[] {
    return [...this.methods.values()].sort((a, b) => METHOD_FAMILIES.indexOf(a.family) - METHOD_FAMILIES.indexOf(b.family) || a.id.localeCompare(b.id));
  }
}

/**
 * The registry of every method package in this repository ({@link BUILTIN_METHOD_PACKAGES}).
 *
 * @throws Error when two packages register the same id.
 */
export function builtinRegistry(): MethodRegistry {
  return new MethodRegistry().register(...BUILTIN_METHOD_PACKAGES.flat());
}
