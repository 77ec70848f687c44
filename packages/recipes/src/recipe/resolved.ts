import { AblationCell } from '../ablation/expand';
import { RegisteredMethod } from '../registry/registry';
import { Recipe } from './schema';

// What validation resolves a recipe into. Declared apart from the validator so that the modules validation calls
// (comparison checks) can name these types without importing the validator back.

/** A pipeline step with its method and its config parsed by the method's schema (defaults filled in). */
export interface ResolvedStep {
  /** The method. */
  method: RegisteredMethod;
  /** The parsed config. */
  config: unknown;
}

/** A valid cell of the ablation: its parsed recipe and resolved steps. */
export interface ResolvedCell extends AblationCell {
  /** The cell's recipe, parsed (defaults filled in). */
  recipe: Recipe;
  /** Its pipeline steps. */
  steps: ResolvedStep[];
}
