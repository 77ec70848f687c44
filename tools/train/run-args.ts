import * as path from 'path';
import { BackendName, EngineInfo, initEngine } from '@diffpress/core';
import { ShippedModelSpec, shippedModelSpec, shippedModels } from '@diffpress/diffusion';
import { arg } from '../cli-args';

/** What the train and export tools share: the model chosen by `--model`, its run folder and the engine. */
export interface ShippedRun {
  /** Shipped model id. */
  id: string;
  /** Its training spec. */
  spec: ShippedModelSpec;
  /** Run folder: `--dir`, default `runs/train/<id>`. */
  dir: string;
  /** The engine started from `--backend` (default: the best available). */
  engine: EngineInfo;
}

/**
 * Reads `--model`, `--dir` and `--backend` and starts the engine.
 *
 * @throws Error when `--model` is missing or unknown.
 */
export async function shippedRunFromArgs(): Promise<ShippedRun> {
  const id = arg('model');
  if (!id) throw new Error(`--model=<id> is required (${Object.keys(shippedModels).join(' or ')})`);
  const spec = shippedModelSpec(id);
  const dir = path.resolve(arg('dir') ?? path.join('runs', 'train', id));
  const engine = await initEngine({ backend: arg('backend') as BackendName | undefined });
  return { id, spec, dir, engine };
}
