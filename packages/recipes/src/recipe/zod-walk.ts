import type { ZodType } from 'zod';
import { PathSegment } from '../ablation/paths';

/** The part of zod's internal definition that the walkers below read. */
interface Def {
  type: string;
  shape?: Record<string, ZodType>;
  element?: ZodType;
  innerType?: ZodType;
  out?: ZodType;
  in?: ZodType;
  valueType?: ZodType;
  options?: ZodType[];
}

function def(schema: ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Strips the wrappers that do not change the shape of the data (optional, default, nullable, preprocess, refine). */
export function unwrapSchema(schema: ZodType): ZodType {
  let s = schema;
  for (let i = 0; i < 20; i++) {
    const d = def(s);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'prefault' || d.type === 'readonly') && d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.out && def(d.out).type !== 'transform') s = d.out;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
  return s;
}

/** The keys an object schema allows (empty when the schema is not an object). */
export function objectKeys(schema: ZodType): string[] {
  const d = def(unwrapSchema(schema));
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}

/**
 * The sub-schema at `path`, or undefined when the path leaves the schema (an unknown key, an index into a non-list).
 * Records (`config` of a pipeline step) accept any key and yield their value schema.
 */
export function schemaAt(schema: ZodType, path: readonly PathSegment[]): ZodType | undefined {
  let s: ZodType | undefined = schema;
  for (const seg of path) {
    if (!s) return undefined;
    const d = def(unwrapSchema(s));
    if (d.type === 'object' && typeof seg === 'string') s = d.shape?.[seg];
    else if (d.type === 'array' && typeof seg === 'number') s = d.element;
    else if (d.type === 'record' && typeof seg === 'string') s = d.valueType;
    else if (d.type === 'unknown' || d.type === 'any') return s;
    else return undefined;
  }
  return s;
}
