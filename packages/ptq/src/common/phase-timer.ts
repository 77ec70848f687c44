/** One timed phase of a calibration. */
export interface Phase {
  /** Name (the same whether the phase was computed or reused, so that tables of several seeds line up). */
  name: string;
  /** Wall-clock seconds in this run (for a reused phase: reading it from the store). */
  seconds: number;
  /**
   * What the phase costs: the wall-clock of computing it — `seconds` when computed here, the stored wall-clock of
   * the run that computed it when reused (never the reuse time).
   */
  cost: number;
  /** Whether the phase was reused from the store (its `cost` then comes from the run that computed it). */
  reused: boolean;
}

/** Wall-clock seconds of named phases, in order. */
export class PhaseTimer {
  /** Phases measured so far. */
  readonly phases: Phase[] = [];

  /** Runs `f`, recording its wall-clock seconds under `name` as a computed phase. */
  run<T>(name: string, f: () => T): T {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      const seconds = (performance.now() - t0) / 1000;
      this.phases.push({ name, seconds, cost: seconds, reused: false });
    }
  }

  /** Records a phase timed elsewhere (e.g. reused from the store, whose cost is that of the run that computed it). */
  record(phase: Phase): void {
    this.phases.push(phase);
  }

  /** What the calibration costs: the sum of the phases' `cost` (reused phases at their original cost). */
  cost(): number {
    return this.phases.reduce((s, p) => s + p.cost, 0);
  }

  /** Wall-clock seconds of this run (reused phases at their reuse time). */
  total(): number {
    return this.phases.reduce((s, p) => s + p.seconds, 0);
  }

  /** How many phases were reused from the store. */
  reusedCount(): number {
    return this.phases.filter((p) => p.reused).length;
  }

  /** One line for a log: the cost, and with reused phases how many and this run's wall-clock. */
  summary(): string {
    const reused = this.reusedCount();
    return `cost ${this.cost().toFixed(0)} s${reused > 0 ? ` (${reused} phase${reused === 1 ? '' : 's'} reused, ${this.total().toFixed(0)} s in this run)` : ''}`;
  }
}
