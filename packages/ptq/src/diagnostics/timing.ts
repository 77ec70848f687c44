import { DiagnosticTable } from '@diffpress/core';
import { Phase } from '../common/phase-timer';

/**
 * The calibration cost table (id `<id>.calibration-time`): one row per phase — name, wall-clock in this run, cost
 * (the wall-clock of computing the phase; for a phase reused from the store, that of the run that computed it, never
 * the reuse time) and whether it was reused (1) or computed (0) — and a last row `total` with the sums: this run's
 * wall-clock, the cost of the calibration, and the number of reused phases (0: everything computed in this run).
 * The report's compression cost is the total row's `cost s`; a positive `reused` marks it as partly reused.
 */
export function timingTable(id: string, phases: readonly Phase[]): DiagnosticTable {
  const sum = (k: 'seconds' | 'cost'): number => phases.reduce((s, p) => s + p[k], 0);
  return {
    id: `${id}.calibration-time`,
    title: 'Calibration cost',
    description:
      'Seconds per phase on this machine. "cost s" is the wall-clock of computing the phase; a phase reused from the store (a calibration set, or a weight reconstruction shared by configs that differ only in activations) counts with the time of the run that computed it and has "reused" = 1. "this run s" is the wall-clock here (for a reused phase, reading it). The total row\'s "reused" counts the reused phases. Diagnostics (these tables) are not part of the cost.',
    columns: ['phase', 'this run s', 'cost s', 'reused'],
    rows: [...phases.map((p) => [p.name, p.seconds, p.cost, p.reused ? 1 : 0]), ['total', sum('seconds'), sum('cost'), phases.filter((p) => p.reused).length]],
  };
}
