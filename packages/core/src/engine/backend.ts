import * as tf from '@tensorflow/tfjs';
import { hasTrainingKernels, registerTrainingKernels } from './kernels/register';

/** The engines diffpress can run on, fastest first. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** All backend names, in preference order. */
export const BACKEND_PREFERENCE: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** Environment variable that overrides the automatic backend choice. */
export const BACKEND_ENV_VAR = 'DIFFPRESS_BACKEND';

/** What the engine runs on; recorded in every result row. */
export interface EngineInfo {
  /** Active tfjs backend. */
  backend: BackendName;
  /** Worker threads the backend computes with (1 for wasm in Node, where threaded wasm does not work). */
  threads: number;
  /** Whether wasm runs with SIMD (always `false` on the other backends). */
  simd: boolean;
  /** Version of `@tensorflow/tfjs-core` in use. */
  tfjsVersion: string;
  /** Whether the composed training kernels of this package are installed on the backend. */
  trainingKernels: boolean;
  /** Why this backend: `'option'`, `'env'` (from {@link BACKEND_ENV_VAR}) or `'auto'`. */
  chosenBy: 'option' | 'env' | 'auto';
}

/** Options of {@link initEngine}. */
export interface InitEngineOptions {
  /** Force a backend; an unavailable forced backend is an error, never a silent fallback. */
  backend?: BackendName;
  /** Do not print the chosen backend. */
  quiet?: boolean;
  /** Where the one-line backend report goes (default: standard error, so standard output stays clean). */
  log?: (line: string) => void;
  /** Environment to read {@link BACKEND_ENV_VAR} from (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Module loader, replaceable in tests (default: Node's `require`). Throws when the module cannot be found. */
  load?: (moduleId: string) => unknown;
}

/** Where each backend comes from. `cpu` ships inside `@tensorflow/tfjs`. */
const BACKEND_MODULES: Record<BackendName, string | null> = {
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: null,
};

let current: EngineInfo | undefined;

function isBackendName(s: string): s is BackendName {
  return (BACKEND_PREFERENCE as readonly string[]).includes(s);
}

/** The outcome of {@link requestedBackend}. */
export interface BackendRequest {
  /** The backend asked for, or `'auto'` for the first available in {@link BACKEND_PREFERENCE}. */
  name: BackendName | 'auto';
  /** Where the request came from. */
  chosenBy: EngineInfo['chosenBy'];
}

/**
 * Resolves which backend was asked for: the option wins over {@link BACKEND_ENV_VAR}, which wins over automatic
 * choice. Throws on an unknown name, listing the valid ones.
 */
export function requestedBackend(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): BackendRequest {
  const pick = (raw: string, source: string): BackendName | 'auto' => {
    const v = raw.trim().toLowerCase();
    if (v === 'auto' || v === '') return 'auto';
    if (!isBackendName(v)) {
      throw new Error(`diffpress: unknown backend '${raw}' (${source}); expected one of ${BACKEND_PREFERENCE.join(', ')} or auto`);
    }
    return v;
  };
  if (option != null) return { name: pick(option, 'option backend'), chosenBy: 'option' };
  const fromEnv = env[BACKEND_ENV_VAR];
  if (fromEnv != null && fromEnv.trim() !== '') {
    const name = pick(fromEnv, `environment variable ${BACKEND_ENV_VAR}`);
    return { name, chosenBy: name === 'auto' ? 'auto' : 'env' };
  }
  return { name: 'auto', chosenBy: 'auto' };
}

/**
 * Makes `name` available to tfjs by loading the module that registers it. Returns `false` (auto mode) when the
 * module is not installed or registers its backend on a different copy of tfjs-core.
 */
function loadBackend(name: BackendName, load: (id: string) => unknown): { ok: true } | { ok: false; why: string } {
  const moduleId = BACKEND_MODULES[name];
  if (moduleId != null && tf.findBackendFactory(name) == null) {
    try {
      load(moduleId);
    } catch (e) {
      return { ok: false, why: `${moduleId} could not be loaded (${(e as Error).message.split('\n')[0]})` };
    }
  }
  if (tf.findBackendFactory(name) == null) {
    return {
      ok: false,
      why:
        moduleId == null
          ? `backend '${name}' is not registered`
          : `${moduleId} loaded but registered no '${name}' backend with this @tensorflow/tfjs-core ` +
            `(${tf.version_core}); install versions that match it`,
    };
  }
  return { ok: true };
}

async function describe(name: BackendName, chosenBy: EngineInfo['chosenBy']): Promise<EngineInfo> {
  let threads = 1;
  let simd = false;
  if (name === 'wasm') {
    simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    const wasm = require(BACKEND_MODULES.wasm as string) as { getThreadsCount?: () => number };
    threads = wasm.getThreadsCount?.() ?? 1;
  } else if (name === 'tensorflow') {
    // libtensorflow sizes its intra-op pool to the machine's cores.
    threads = require('node:os').availableParallelism?.() ?? require('node:os').cpus().length;
  }
  return { backend: name, threads, simd, tfjsVersion: tf.version_core, trainingKernels: hasTrainingKernels(name), chosenBy };
}

/**
 * Selects and initialises the tfjs backend, installs the composed training kernels on it, silences tfjs's Node
 * banner (PROD mode) and prints the choice once, e.g. `diffpress: backend wasm (simd, 1 thread)`.
 *
 * Choice: the `backend` option, else {@link BACKEND_ENV_VAR}, else the first that loads of `tensorflow`
 * (`@tensorflow/tfjs-node`, used automatically wherever the user installed it; not a dependency because it does not
 * install everywhere), `wasm`, `cpu`. Calling it again returns the current engine unless another backend is forced.
 *
 * @example
 * ```ts
 * const engine = await initEngine();            // auto
 * await initEngine({ backend: 'cpu' });         // force; DIFFPRESS_BACKEND=cpu does the same
 * console.log(engineInfo()?.backend);
 * ```
 */
export async function initEngine(options: InitEngineOptions = {}): Promise<EngineInfo> {
  tf.env().set('PROD', true);
  const env = options.env ?? process.env;
  const load = options.load ?? ((id: string) => require(id));
  const req = requestedBackend(options.backend, env);
  if (current != null && (req.name === 'auto' || req.name === current.backend) && tf.getBackend() === current.backend) {
    return current;
  }
  const candidates: BackendName[] = req.name === 'auto' ? [...BACKEND_PREFERENCE] : [req.name];
  const failures: string[] = [];
  for (const name of candidates) {
    const loaded = loadBackend(name, load);
    if (!loaded.ok) {
      failures.push(loaded.why);
      continue;
    }
    let ok = false;
    try {
      ok = await tf.setBackend(name);
    } catch (e) {
      failures.push(`backend '${name}' failed to initialise (${(e as Error).message})`);
      continue;
    }
    if (!ok) {
      failures.push(`backend '${name}' failed to initialise`);
      continue;
    }
    await tf.ready();
    registerTrainingKernels(name);
    current = await describe(name, req.chosenBy);
    if (!options.quiet) {
      const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
      const detail = name === 'wasm' ? `${current.simd ? 'simd' : 'no simd'}, ` : '';
      log(`diffpress: backend ${name} (${detail}${current.threads} thread${current.threads === 1 ? '' : 's'}; ${current.chosenBy})`);
    }
    return current;
  }
  throw new Error(`diffpress: no usable backend. ${failures.join('; ')}`);
}

/** The engine chosen by {@link initEngine}, or `undefined` before it ran. */
export function engineInfo(): EngineInfo | undefined {
  return current;
}

/**
 * Bytes of the wasm backend's heap, or null when another backend is active. The heap grows on demand and never
 * shrinks, so this is the high-water mark of the process so far (capped at 4 GiB): what "memory of a run" means on
 * this engine.
 */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  return wasm?.HEAPU8?.length ?? null;
}
