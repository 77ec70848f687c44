import { DiagnosticTable } from '@diffpress/core';
import { Phase } from '../common/phase-timer';

/** Wall-clock seconds of the phases of a calibration, and what each costs when computed. */
export function timingTable(id: string, phases: readonly Phase[]): DiagnosticTable {
  const sum = (k: 'seconds' | 'cost'): number => phases.reduce((s, p) => s + p[k], 0);
  return {
    id: `${id}.calibration-time`,
    title: 'Calibration wall-clock',
    description:
      'Seconds per phase on this machine. "cost s" is what the phase takes when computed: for a phase reused from the cache (a calibration set, or a weight reconstruction shared by configs that differ only in activations) it is the time of the run that computed it.',
    columns: ['phase', 'seconds', 'cost s'],
    rows: [...phases.map((p) => [p.name, p.seconds, p.cost]), ['total', sum('seconds'), sum('cost')]],
  };
}
