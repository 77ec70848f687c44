import { DiffusionMethod } from '@diffpress/diffusion';
import { methods as ptqMethods } from '@diffpress/ptq';
import { methods as encoderPropagationMethods } from '@diffpress/encoder-propagation';
import { methods as binarizationMethods } from '@diffpress/binarization';
// tools:method inserts one import per method package above this line.

/**
 * The method packages of this repository: each exports `methods`, the array of its methods, and appears here once.
 * `npx nx g @diffpress/tools:method` adds new packages; registering another method of a package is one line in that
 * package's index.
 */
export const BUILTIN_METHOD_PACKAGES: ReadonlyArray<readonly DiffusionMethod<unknown>[]> = [
  ptqMethods,
  encoderPropagationMethods,
  binarizationMethods,
  // tools:method inserts one entry per method package above this line.
];
