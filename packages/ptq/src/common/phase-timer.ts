/** One timed phase of a calibration. */
export interface Phase {
  /** Name. */
  name: string;
  /** Wall-clock seconds in this run. */
  seconds: number;
  /** Seconds the phase costs when computed: `seconds`, or the original run's for a phase reused from the cache. */
  cost: number;
}

/** Wall-clock seconds of named phases, in order. */
export class PhaseTimer {
  /** Phases measured so far. */
  readonly phases: Phase[] = [];

  /** Runs `f`, recording its wall-clock seconds under `name`. */
  run<T>(name: string, f: () => T): T {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      const seconds = (performance.now() - t0) / 1000;
      this.phases.push({ name, seconds, cost: seconds });
    }
  }

  /** Records a phase whose cost differs from its wall-clock here (reused from the cache). */
  record(phase: Phase): void {
    this.phases.push(phase);
  }

  /** Total wall-clock seconds. */
  total(): number {
    return this.phases.reduce((s, p) => s + p.seconds, 0);
  }
}
