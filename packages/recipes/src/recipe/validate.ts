import * as fs from 'fs';
import * as path from 'path';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument } from 'yaml';
import type { ZodType, core } from 'zod';
import { SamplerConfig } from '@diffpress/diffusion';
import { jsonDigest } from '@diffpress/eval';
import { AblationCell, expandAblation } from '../ablation/expand';
import { PathSegment, formatPath, getPath, parsePath, setPath } from '../ablation/paths';
import { MethodRegistry } from '../registry/registry';
import { nearest } from '../registry/suggest';
import { checkComparisons } from './compare';
import { InputFinding, checkInputs } from './inputs';
import { ResolvedCell } from './resolved';
import { Recipe, recipeSchema, samplerSchema } from './schema';
import { studentSamplerConflict } from './student-sampler';
import { objectKeys, schemaAt } from './zod-walk';

/** One problem found in a recipe. */
export interface RecipeProblem {
  /** The recipe file. */
  file: string;
  /** Recipe path of the offending value, e.g. `pipeline[1].config.bits` (empty for the whole file). */
  path: string;
  /** What was expected and what was found. */
  message: string;
  /** 1-based line of the value in the file, when known. */
  line?: number;
  /** 1-based column. */
  column?: number;
  /** Errors stop the run; warnings are printed. */
  severity: 'error' | 'warning';
}

/** `file:line:col: path: message` (the form editors and terminals link). */
export function formatProblem(p: RecipeProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
  return `${where}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** Thrown by {@link loadRecipe}: every problem of the recipe, not just the first. */
export class RecipeError extends Error {
  /** All problems, errors and warnings. */
  readonly problems: RecipeProblem[];

  /** @param problems - The problems; the message lists the errors. */
  constructor(problems: RecipeProblem[]) {
    const errors = problems.filter((p) => p.severity === 'error');
    super(`${errors.length} problem${errors.length === 1 ? '' : 's'} in recipe:\n${errors.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    this.name = 'RecipeError';
    this.problems = problems;
  }
}

/** A recipe that passed validation. */
export interface ValidatedRecipe {
  /** Source file (or a label for text). */
  file: string;
  /** Folder relative paths in the recipe are resolved against. */
  baseDir: string;
  /** The recipe as written. */
  raw: Record<string, unknown>;
  /** The base recipe, parsed. */
  recipe: Recipe;
  /** Valid cells (invalid ones are listed as warnings and skipped). */
  cells: ResolvedCell[];
  /** SHA-256 of the parsed recipe without its output section: recorded in every result row. */
  hash: string;
  /** Warnings (skipped cells, ordering hints). */
  warnings: RecipeProblem[];
}

/** The outcome of validating a recipe: the validated recipe when there is no error, and every problem found. */
export interface RecipeValidation {
  /** The recipe, when it has no errors (warnings allowed). */
  result?: ValidatedRecipe;
  /** Errors and warnings, in file order of discovery. */
  problems: RecipeProblem[];
}

/** Options of {@link validateRecipeText}. */
export interface ValidateOptions {
  /** Methods a recipe may name. */
  registry: MethodRegistry;
  /** Folder for relative paths: checkpoints, data, feature networks (default: the file's folder). */
  baseDir?: string;
  /** Values to set before checking, by recipe path (command-line overrides such as `seeds`). */
  overrides?: Record<string, unknown>;
  /** Expand the ablation section (default true); false validates and runs the base recipe alone. */
  ablation?: boolean;
}

type Locate = (p: readonly PathSegment[], atKey?: boolean) => { line: number; column: number } | undefined;

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the key is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' && !Number.isInteger(v)) return `${v} (not an integer)`;
  return String(v);
}

function expectedType(e: string): string {
  return ({ int: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false', object: 'an object', array: 'a list', record: 'an object' } as Record<string, string>)[e] ?? e;
}

/** A problem before it is located in the file; `atKey` points at the key rather than the value (unknown keys). */
interface Finding extends InputFinding {
  atKey?: boolean;
  warning?: boolean;
}

function issueMessages(issue: core.$ZodIssue, data: unknown, schema: ZodType): Finding[] {
  const p = issue.path as PathSegment[];
  const found = getPath(data, p);
  switch (issue.code) {
    case 'invalid_type':
      return [{ path: p, message: `expected ${expectedType(issue.expected)}, found ${describe(found)}` }];
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = Number(small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum);
      const incl = issue.inclusive !== false;
      if (issue.origin === 'array') {
        const hint = formatPath(p) === 'pipeline' ? ' (omit pipeline to evaluate the base model alone)' : '';
        return [{ path: p, message: `expected ${small ? 'at least' : 'at most'} ${bound} entr${bound === 1 ? 'y' : 'ies'}, found ${describe(found)}${hint}` }];
      }
      if (issue.origin === 'string') return [{ path: p, message: `expected ${small ? 'at least' : 'at most'} ${bound} characters, found ${describe(found)}` }];
      return [{ path: p, message: `expected a number ${small ? (incl ? '≥' : '>') : incl ? '≤' : '<'} ${bound}, found ${describe(found)}` }];
    }
    case 'invalid_value': {
      const allowed = issue.values.map(String);
      const hint = typeof found === 'string' ? nearest(found, allowed) : undefined;
      return [{ path: p, message: `expected one of ${allowed.join(', ')}, found ${describe(found)}${hint ? ` — did you mean '${hint}'?` : ''}` }];
    }
    case 'unrecognized_keys': {
      const allowed = objectKeys(schemaAt(schema, p) ?? schema);
      return issue.keys.map((k) => {
        const hint = nearest(k, allowed);
        return { path: [...p, k], atKey: true, message: `unknown key '${k}'${hint ? ` — did you mean '${hint}'?` : allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}` };
      });
    }
    case 'invalid_format':
      return [{ path: p, message: `${issue.message.replace(/^Invalid string: /, 'expected ')}, found ${describe(found)}` }];
    case 'invalid_union':
      if (p[p.length - 2] === 'positions') return [{ path: p, message: `expected baseline, final or after:<step index>, found ${describe(found)}` }];
      return [{ path: p, message: `does not match any allowed form, found ${describe(found)}` }];
    default:
      return [{ path: p, message: issue.message }];
  }
}

function checkSchema(schema: ZodType, data: unknown, prefix: PathSegment[]): Finding[] {
  const r = schema.safeParse(data);
  if (r.success) return [];
  return r.error.issues.flatMap((i) => issueMessages(i, data, schema)).map((m) => ({ ...m, path: [...prefix, ...m.path] }));
}

/** Checks the raw pipeline against the registry: method ids, their configs, the ordering rules. */
function checkPipeline(raw: Record<string, unknown>, registry: MethodRegistry): Finding[] {
  const pipeline = raw.pipeline;
  if (!Array.isArray(pipeline)) return [];
  const out: Finding[] = [];
  const ids = pipeline.map((s) => (s && typeof s === 'object' ? (s as { method?: unknown }).method : undefined));
  // Only the last student decides how the final model is sampled; earlier ones (a chain of halvings) have theirs.
  const students = ids.map((id, i) => (typeof id === 'string' && registry.get(id)?.studentSampler ? i : -1));
  const lastStudent = Math.max(-1, ...students);
  pipeline.forEach((step, i) => {
    const id = ids[i];
    if (typeof id !== 'string') return; // the schema reports it
    const method = registry.get(id);
    if (!method) {
      out.push({ path: ['pipeline', i, 'method'], message: registry.unknownMessage(id) });
      return;
    }
    const config = (step as { config?: unknown }).config ?? {};
    out.push(...checkSchema(method.config, config, ['pipeline', i, 'config']));
    const before = ids.slice(0, i);
    const c = method.compatibility ?? {};
    if (c.mustFollow?.length && !c.mustFollow.some((m) => before.includes(m))) {
      out.push({ path: ['pipeline', i, 'method'], message: `'${id}' must come after ${c.mustFollow.map((m) => `'${m}'`).join(' or ')} in the pipeline` });
    }
    for (const other of c.conflictsWith ?? []) {
      const j = ids.findIndex((m, k) => k !== i && m === other);
      if (j >= 0) out.push({ path: ['pipeline', i, 'method'], message: `'${id}' cannot be combined with '${other}' (pipeline[${j}])` });
    }
    for (const other of c.warnAfter ?? []) {
      if (before.includes(other)) out.push({ path: ['pipeline', i, 'method'], message: `'${id}' after '${other}' is allowed but not what its paper evaluates`, warning: true });
    }
    const conflict = i === lastStudent ? studentSamplerConflict(method, config, raw.sample) : null;
    if (conflict) out.push({ path: ['sample', 'steps'], message: `pipeline[${i}] ${conflict}` });
    if (method.warnings) {
      const parsed = method.config.safeParse(config);
      const sampler = samplerAt(pipeline, ids, i, registry, raw.sample);
      if (parsed.success && sampler) {
        for (const message of method.warnings(parsed.data, { sampler, before: before.filter((m): m is string => typeof m === 'string') })) out.push({ path: ['pipeline', i, 'config'], message, warning: true });
      }
    }
  });
  return out;
}

/**
 * The sampler position `i` is sampled with: the student sampler of the last earlier step that has one, else the
 * recipe's sample section (`null` when that is invalid: the schema reports it).
 */
function samplerAt(pipeline: unknown[], ids: unknown[], i: number, registry: MethodRegistry, rawSample: unknown): SamplerConfig | null {
  for (let j = i - 1; j >= 0; j--) {
    const method = typeof ids[j] === 'string' ? registry.get(ids[j] as string) : undefined;
    if (!method?.studentSampler) continue;
    const parsed = method.config.safeParse((pipeline[j] as { config?: unknown }).config ?? {});
    return parsed.success ? method.studentSampler(parsed.data) : null;
  }
  const sample = samplerSchema.safeParse(rawSample);
  return sample.success ? sample.data : null;
}

/**
 * eps-mse with `eval.pairedSteps`: the teacher-forced ε-MSE runs the row's hooks along FP's trajectory at the paired
 * steps, which the hooks (caches, per-step quantizers) were not built for.
 */
function checkPairedSteps(raw: Record<string, unknown>): Finding[] {
  const ev = raw.eval as { pairedSteps?: unknown; metrics?: unknown } | undefined;
  if (ev?.pairedSteps == null || !Array.isArray(ev.metrics) || !ev.metrics.includes('eps-mse')) return [];
  return [{ path: ['eval', 'pairedSteps'], message: 'eps-mse is teacher-forced along the FP trajectory of the paired sampler, and a row\'s sampling hooks and per-step quantizers are built for its own steps: drop eps-mse or pairedSteps (sample-mse and sample-psnr use it)' }];
}

/** Everything wrong with one (ablation-free) recipe as plain data. */
function checkRecipe(raw: Record<string, unknown>, registry: MethodRegistry, baseDir: string): Finding[] {
  return [...checkSchema(recipeSchema, raw, []), ...checkPipeline(raw, registry), ...checkInputs(raw, baseDir), ...checkPairedSteps(raw)];
}

/** Whether `p` names a place the recipe schema (or the named method's config schema) has. */
function knownPath(raw: Record<string, unknown>, p: PathSegment[], registry: MethodRegistry): { ok: boolean; hint?: string } {
  if (p[0] === 'pipeline' && typeof p[1] === 'number') {
    const pipeline = Array.isArray(raw.pipeline) ? raw.pipeline : [];
    if (p[1] >= pipeline.length) return { ok: false };
    if (p[2] === 'config' && p.length > 3) {
      const id = (pipeline[p[1]] as { method?: unknown }).method;
      const method = typeof id === 'string' ? registry.get(id) : undefined;
      if (!method) return { ok: true }; // reported as an unknown method
      const ok = schemaAt(method.config, p.slice(3)) !== undefined;
      return { ok, hint: ok ? undefined : nearest(String(p[p.length - 1]), objectKeys(schemaAt(method.config, p.slice(3, -1)) ?? method.config)) };
    }
  }
  const ok = schemaAt(recipeSchema, p) !== undefined;
  if (ok) return { ok };
  const parent = schemaAt(recipeSchema, p.slice(0, -1));
  return { ok, hint: parent ? nearest(String(p[p.length - 1]), objectKeys(parent)) : undefined };
}

function parseText(text: string, file: string): { data?: unknown; locate: Locate; problems: RecipeProblem[] } {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true });
  const at = (offset: number): { line: number; column: number } => {
    const pos = counter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  // A scalar is located at its value, a section (map or list) at its key: where a reader looks for either.
  const locate: Locate = (p, atKey = false) => {
    for (let k = p.length; k >= 1; k--) {
      const node = doc.getIn(p.slice(0, k), true);
      if (isScalar(node) && node.range && !(atKey && k === p.length)) return at(node.range[0]);
      const parent = k === 1 ? doc.contents : doc.getIn(p.slice(0, k - 1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((it) => isScalar(it.key) && it.key.value === p[k - 1]);
        if (pair && isNode(pair.key) && pair.key.range) return at(pair.key.range[0]);
      }
      if (isNode(node) && node.range) return at(node.range[0]);
    }
    return isNode(doc.contents) && doc.contents.range ? at(doc.contents.range[0]) : undefined;
  };
  if (doc.errors.length > 0) {
    return {
      locate,
      problems: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const what = file.endsWith('.json') ? 'JSON' : 'YAML';
        return { file, path: '', message: `invalid ${what}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, line: pos?.line, column: pos?.col, severity: 'error' as const };
      }),
    };
  }
  const contents = doc.contents;
  if (!isMap(contents)) {
    const found = isSeq(contents) ? 'a list' : contents === null ? 'an empty file' : 'a single value';
    return { locate, problems: [{ file, path: '', message: `a recipe is a mapping of sections (name, model, sample, eval, …), found ${found}`, line: 1, column: 1, severity: 'error' }] };
  }
  return { data: doc.toJS(), locate, problems: [] };
}

/**
 * Validates a recipe given as YAML or JSON text, without touching any tensor: the schema (unknown keys are errors),
 * each step's method id and config, the methods' ordering rules, the files it names (data, checkpoint, feature
 * network: they exist, can be read and fit together; see `checkInputs`), and the ablation (axis
 * paths, and every cell; invalid cells become warnings and are skipped, unless none is valid). Reports every
 * problem with its file, line and recipe path.
 *
 * @example
 * ```ts
 * const { result, problems } = validateRecipeText(fs.readFileSync(f, 'utf8'), f, { registry: builtinRegistry() });
 * problems.forEach((p) => console.error(formatProblem(p)));
 * ```
 */
export function validateRecipeText(text: string, file: string, options: ValidateOptions): RecipeValidation {
  const baseDir = options.baseDir ?? path.dirname(path.resolve(file));
  const parsed = parseText(text, file);
  if (!parsed.data) return { problems: parsed.problems };
  let raw = parsed.data as Record<string, unknown>;
  for (const [p, value] of Object.entries(options.overrides ?? {})) raw = setPath(raw, parsePath(p), value);
  // Without its ablation a recipe has one cell: comparisons that name rows of the ablation cannot apply.
  const ablationDropped = options.ablation === false && raw.ablation !== undefined;
  if (options.ablation === false) delete raw.ablation;
  const problems: RecipeProblem[] = [];
  const add = (p: PathSegment[], message: string, severity: 'error' | 'warning' = 'error', atKey = false): void => {
    const key = `${formatPath(p)}\u0000${message}`;
    if (problems.some((q) => `${q.path}\u0000${q.message}` === key)) return;
    problems.push({ file, path: formatPath(p), message, severity, ...parsed.locate(p, atKey) });
  };
  const base = { ...raw };
  delete base.ablation;
  for (const p of checkRecipe(base, options.registry, baseDir)) add(p.path, p.message, p.warning ? 'warning' : 'error', p.atKey);

  // The ablation section: its own schema, then the axis paths, then every cell.
  const ablation = raw.ablation as { mode?: unknown; axes?: unknown } | undefined;
  let cells: AblationCell[] = [{ index: 0, params: {}, raw: base }];
  const ablationOk = ablation === undefined || !problems.some((p) => p.path.startsWith('ablation'));
  const axes = ablation && Array.isArray(ablation.axes) ? (ablation.axes as Array<{ path: string; values: unknown[]; name?: string }>) : [];
  let axesOk = ablationOk && ablation !== undefined;
  if (ablation !== undefined && ablationOk) {
    axes.forEach((axis, i) => {
      let p: PathSegment[];
      try {
        p = parsePath(axis.path);
      } catch (err) {
        add(['ablation', 'axes', i, 'path'], (err as Error).message);
        axesOk = false;
        return;
      }
      const known = knownPath(base, p, options.registry);
      if (!known.ok) {
        add(['ablation', 'axes', i, 'path'], `'${axis.path}' is not a path of this recipe${known.hint ? ` — did you mean '${formatPath([...p.slice(0, -1), known.hint])}'?` : ''}`);
        axesOk = false;
      } else if (p[0] === 'data') {
        // A run loads its data, reference statistics and floor row once, for all cells.
        add(['ablation', 'axes', i, 'path'], `'${axis.path}': every cell of a run uses the same data; write one recipe per dataset`);
        axesOk = false;
      } else if (p[0] === 'compare') {
        add(['ablation', 'axes', i, 'path'], `'${axis.path}': comparisons are between the rows of all cells; they cannot vary by cell`);
        axesOk = false;
      }
    });
  }
  if (axesOk) {
    const expanded = expandAblation(raw, ((ablation?.mode as 'grid' | 'zip' | undefined) ?? 'grid'), axes);
    for (const e of expanded.problems) add(e.axis < 0 ? ['ablation'] : e.value === undefined ? ['ablation', 'axes', e.axis] : ['ablation', 'axes', e.axis, 'values', e.value], e.message);
    cells = expanded.cells;
  }
  const baseErrors = new Set(problems.map((p) => `${p.path}\u0000${p.message}`));
  const valid: ResolvedCell[] = [];
  if (!problems.some((p) => p.severity === 'error')) {
    for (const cell of cells) {
      const found = checkRecipe(cell.raw, options.registry, baseDir).filter((p) => !baseErrors.has(`${formatPath(p.path)}\u0000${p.message}`));
      const cellProblems = found.filter((p) => !p.warning);
      const label = Object.entries(cell.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
      if (cellProblems.length > 0) {
        add(['ablation'], `cell ${cell.index} (${label}) is invalid and will be skipped: ${cellProblems.map((p) => `${formatPath(p.path)}: ${p.message}`).join('; ')}`, 'warning');
        continue;
      }
      // Warnings a cell has and the base recipe has not (a method on a pipeline axis warning about its position).
      for (const w of found) add(['ablation'], `cell ${cell.index} (${label}): ${formatPath(w.path)}: ${w.message}`, 'warning');
      const recipe = recipeSchema.parse(cell.raw);
      const steps = (recipe.pipeline ?? []).map((s) => {
        const method = options.registry.require(s.method);
        return { method, config: method.config.parse(s.config) };
      });
      valid.push({ ...cell, recipe, steps });
    }
    if (cells.length > 0 && valid.length === 0) add(['ablation'], `none of the ${cells.length} cells is valid (see the warnings)`);
  }
  if (problems.some((p) => p.severity === 'error')) return { problems };
  const recipe = recipeSchema.parse(base);
  if (recipe.compare) {
    const pipelineAxes = new Set(axes.filter((a) => a.path.startsWith('pipeline')).map((a) => a.name ?? a.path));
    const stepsAxes = new Set(axes.filter((a) => a.path === 'sample.steps').map((a) => a.name ?? a.path));
    for (const f of checkComparisons(recipe.compare, valid, pipelineAxes, recipe.eval.floor, stepsAxes)) {
      const where: PathSegment[] = f.field ? ['compare', f.index, f.field] : ['compare', f.index];
      if (ablationDropped) add(where, `${f.message} — without the ablation this comparison is skipped`, 'warning');
      else add(where, f.message);
    }
    if (problems.some((p) => p.severity === 'error')) return { problems };
  }
  // The output folder, the description and the comparisons do not change any computed number, so they do not
  // change the hash (a comparison can be added to a finished run and its report re-rendered, or shards merged).
  const hashed: Partial<Recipe> = { ...recipe };
  delete hashed.output;
  delete hashed.description;
  delete hashed.compare;
  return {
    result: { file, baseDir, raw, recipe, cells: valid, hash: jsonDigest({ recipe: hashed, ablation: raw.ablation ?? null }), warnings: problems },
    problems,
  };
}

/**
 * Reads and validates a recipe file (`.yaml`, `.yml` or `.json`).
 *
 * @throws RecipeError listing every problem.
 */
export function loadRecipe(file: string, options: ValidateOptions): ValidatedRecipe {
  const problems = validateRecipeFile(file, options);
  if (!problems.result) throw new RecipeError(problems.problems);
  return problems.result;
}

/** {@link validateRecipeText} of a file, with a problem (not an exception) for an unreadable file or a wrong extension. */
export function validateRecipeFile(file: string, options: ValidateOptions): RecipeValidation {
  if (!/\.(ya?ml|json)$/i.test(file)) return { problems: [{ file, path: '', message: 'a recipe file must end in .yaml, .yml or .json', severity: 'error' }] };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { problems: [{ file, path: '', message: `cannot read the recipe: ${(err as Error).message}`, severity: 'error' }] };
  }
  return validateRecipeText(text, file, options);
}
