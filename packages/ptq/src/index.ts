import { DiffusionMethod } from '@diffpress/diffusion';
export * from './ptq-naive/config';
export * from './ptq-naive/ptq-naive';
import { ptqNaive } from './ptq-naive/ptq-naive';
// tools:method inserts one import per method above this line.

/** The methods of this package, registered by the recipes package (one line each). */
export const methods: DiffusionMethod<unknown>[] = [
  ptqNaive as DiffusionMethod<unknown>,
  // tools:method inserts one entry per method above this line.
];
