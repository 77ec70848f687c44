import { MethodRegistry } from '../registry/registry';
import { ValidatedRecipe, validateRecipeText } from '../recipe/validate';

/**
 * A recipe text validated against `registry` (as `test.yaml`), for tests that run it.
 *
 * @throws Error listing the problems when the text is not a valid recipe.
 */
export function validRecipe(text: string, registry: MethodRegistry): ValidatedRecipe {
  const { result, problems } = validateRecipeText(text, 'test.yaml', { registry });
  if (!result) throw new Error(problems.map((p) => p.message).join('\n'));
  return result;
}
