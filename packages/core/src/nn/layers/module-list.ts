import { AnyModule, Module } from '../module';

/**
 * An indexed list of child modules named `0`, `1`, … (like `torch.nn.ModuleList`): a container that gives lists of
 * blocks stable paths (`down.0.res.1.conv1`) without a forward of its own. {@link ModuleList.at} reads the child at
 * call time, so a block swapped in with {@link Module.replace} takes effect.
 */
export class ModuleList<M extends AnyModule = AnyModule> extends Module<never[], never> {
  /** @param modules the entries, registered as `0`, `1`, …. */
  constructor(modules: readonly M[] = []) {
    super();
    modules.forEach((m) => this.push(m));
  }

  /** Appends `module` under the next index and returns it. */
  push(module: M): M {
    return this.registerModule(String(this.length), module);
  }

  /** Number of entries. */
  get length(): number {
    return this.namedChildren().length;
  }

  /**
   * The entry at `index`, as currently registered.
   *
   * @throws RangeError when `index` is outside the list.
   */
  at(index: number): M {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`ModuleList: index ${index} outside [0, ${this.length})`);
    }
    return this.getModule(String(index)) as M;
  }

  /** The entries in order. */
  toArray(): M[] {
    return this.namedChildren().map(([, m]) => m as M);
  }

  /** A container has no computation of its own; call its entries. */
  forward(): never {
    throw new Error('ModuleList has no forward(); call its entries');
  }
}
