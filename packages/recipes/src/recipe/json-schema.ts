import { z } from 'zod';
import { MethodRegistry } from '../registry/registry';
import { recipeSchema } from './schema';

/** A JSON Schema document (draft 2020-12) as a plain object. */
export type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema of recipes for editor completion and checking (YAML language servers read it through a
 * `# yaml-language-server: $schema=…` comment): the recipe schema, with each pipeline step's `config` tied to its
 * method's config schema. Generated from the registry, so it lists exactly the registered methods.
 *
 * @example
 * ```ts
 * fs.writeFileSync('recipe.schema.json', JSON.stringify(recipeJsonSchema(builtinRegistry()), null, 2));
 * ```
 */
export function recipeJsonSchema(registry: MethodRegistry): JsonSchema {
  const schema = z.toJSONSchema(recipeSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const props = schema.properties as Record<string, JsonSchema>;
  // The string shorthand of `model` (a shipped id) is accepted by a preprocessing step that JSON Schema cannot see.
  props.model = { anyOf: [{ type: 'string', description: 'shipped model id' }, props.model] };
  const methods = registry.list();
  const step = (props.pipeline.items ?? (props.pipeline.anyOf as JsonSchema[] | undefined)?.[0]) as JsonSchema;
  const steps = methods.map((m) => ({
    type: 'object',
    description: `${m.id} (${m.family}): ${m.description}`,
    properties: { method: { const: m.id }, config: z.toJSONSchema(m.config, { io: 'input', unrepresentable: 'any' }) },
    required: ['method'],
    additionalProperties: false,
  }));
  props.pipeline = {
    ...props.pipeline,
    items: steps.length > 0 ? { oneOf: steps } : { ...step, properties: { ...(step.properties as JsonSchema), method: { type: 'string', enum: [] } } },
  };
  return { ...schema, title: 'diffpress recipe', $id: 'https://diffpress.dev/schemas/recipe.schema.json' };
}
