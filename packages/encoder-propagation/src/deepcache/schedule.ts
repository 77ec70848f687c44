/**
 * DeepCache's schedules of full steps (the steps that run the whole UNet and refresh the cached deep feature).
 * Step indices count from the noisy end, 0 = the first step.
 */

/** Uniform: every N-th step from 0 (the reference's `i % cache_interval == 0`). */
export function uniformFullSteps(steps: number, interval: number): number[] {
  if (!Number.isInteger(interval) || interval < 1) throw new RangeError(`deepcache: interval must be a positive integer, got ${interval}`);
  return Array.from({ length: Math.ceil(steps / interval) }, (_, i) => i * interval);
}

/** A complex number as [re, im]. */
type Complex = [number, number];

/** z^p on the principal branch, as numpy (C `cpow`) computes it: exp(p · log z). */
function cpow([re, im]: Complex, p: number): Complex {
  if (re === 0 && im === 0) return [0, 0];
  const r = Math.pow(Math.hypot(re, im), p);
  const a = Math.atan2(im, re) * p;
  return [r * Math.cos(a), r * Math.sin(a)];
}

/** numpy's `linspace(start, stop, num)` for complex endpoints: `start + k·(stop − start)/(num − 1)`, the last = stop. */
function linspace(start: Complex, stop: Complex, num: number): Complex[] {
  const div = num - 1;
  const step: Complex = [(stop[0] - start[0]) / div, (stop[1] - start[1]) / div];
  return Array.from({ length: num }, (_, k) => (k === div ? stop : [k * step[0] + start[0], k * step[1] + start[1]]));
}

/** Result of {@link nonUniformFullSteps}: the steps and the power the search settled on. */
export interface NonUniformSchedule {
  /** Full steps, ascending, starting with 0. */
  steps: number[];
  /** The power used (the requested one, lowered in 0.02 decrements until the count came out right). */
  power: number;
}

/**
 * DeepCache's non-uniform schedule (its `sample_from_quad_center`): `count` full steps packed around `center`, more
 * densely the larger `power`. Points are spaced linearly between `(−center)^(1/p)` and `(steps − center)^(1/p)`,
 * raised to `p`, truncated to integers, deduplicated, the two extremes dropped, shifted by `center`, and step 0
 * prepended; if that does not give `count` steps, p is lowered by 0.02 and the search repeats.
 *
 * The quirk reproduced here: the reference raises a negative number to a fractional power in Python, which yields
 * a complex number; numpy carries the complex values through the spacing and the power, and the integer cast keeps
 * the real part. So the points left of the center are `Re(((−c)^(1/p) + …)^p)`, not `−|…|^p` — the schedule is not
 * the symmetric one the paper's figure suggests. We compute exactly that (principal branch, as numpy does), so the
 * tables match the reference (T = 50, N = 5, c = 15, p = 1.4 → [0, 5, 9, 13, 17, 21, 26, 31, 37, 43]).
 *
 * @param steps - Sampler steps T.
 * @param count - Full steps wanted (the reference passes ⌈T / N⌉: T // N, plus one when N does not divide T).
 * @param center - Step the schedule is dense around (the reference's default is 15 for 50 steps).
 * @param power - Initial power p > 1 (the reference's SD default is 1.4).
 * @throws RangeError when no power above 1 gives `count` steps (fewer steps, or a smaller center, help).
 */
export function nonUniformFullSteps(steps: number, count: number, center: number, power: number): NonUniformSchedule {
  if (!Number.isInteger(count) || count < 1 || count > steps) throw new RangeError(`deepcache: need 1 ≤ full steps ≤ ${steps}, got ${count}`);
  if (!(center >= 0 && center < steps)) throw new RangeError(`deepcache: center must be in [0, ${steps}), got ${center}`);
  let p = power;
  while (p > 1) {
    // Python: (-center) ** (1/p) is complex for center > 0 (principal branch); (steps - center) ** (1/p) is real.
    const start = cpow([-center, 0], 1 / p);
    const stop: Complex = [Math.pow(steps - center, 1 / p), 0];
    // int32 of a complex value keeps its real part, truncated toward zero.
    const ints = linspace(start, stop, count + 1).map((x) => Math.trunc(cpow(x, p)[0]));
    const unique = [...new Set(ints)].sort((a, b) => a - b);
    const indices = [0, ...unique.slice(1, -1).map((x) => x + center)];
    if (indices.length === count) return { steps: indices, power: p };
    p -= 0.02;
  }
  throw new RangeError(`deepcache: no power in (1, ${power}] gives ${count} full steps of ${steps} around step ${center}; use fewer full steps or a smaller center`);
}
