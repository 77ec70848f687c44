import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { manualSeed, readCheckpoint } from '@diffpress/core';
import { datasetBatches } from '../data/batches';
import { ArrayDataset } from '../data/dataset';
import { loadMnist } from '../data/mnist';
import { ShippedModelSpec, shippedUNetConfig } from '../models/shipped';
import { Prediction } from '../schedule/parameterization';
import { scheduleFromConfig } from '../schedule/schedule';
import { UNetConfig, resolveUNetConfig } from '../unet/config';
import { UNet } from '../unet/unet';
import { DataBatch, diffusionLoss, heldOutLoss } from './diffusion-loss';
import { TrainResult, Trainer } from './trainer';

/** Options of {@link trainSpec}. */
export interface TrainSpecOptions {
  /** Run folder: checkpoints, `latest.json`, `log.jsonl`. An existing run resumes from its last checkpoint. */
  dir: string;
  /** Updates between checkpoints (default 100). */
  checkpointEvery?: number;
  /** Updates between log lines (default 20). */
  logEvery?: number;
  /** Stop after this many updates in this call (the run stays resumable). */
  stopAfter?: number;
  /** Held-out loss on the first 256 held-out images every this many updates (default 500; 0 = never). */
  validateEvery?: number;
  /** Log lines (default: the trainer's, to stdout). */
  log?: (line: string) => void;
  /**
   * The images to train on (default: the MNIST training split, what every shipped model trained on). Their shape
   * must be the UNet's input; `spec.data` should name them, since it is what the run records.
   */
  train?: ArrayDataset;
  /** Held-out images of the validation loss (default: the MNIST test split; with `train` given, none: no validation). */
  heldOut?: ArrayDataset;
}

/**
 * Checks that a dataset's images fit a UNet: `[imageSize, inChannels]` in, the same channels out (twice as many for
 * the `both` parameterization).
 *
 * @throws Error naming the dataset, its sample shape and the network's.
 */
export function checkDataFitsUNet(ds: Pick<ArrayDataset, 'name' | 'sampleShape'>, config: UNetConfig, prediction: Prediction): void {
  const c = resolveUNetConfig(config);
  const [h, w, ch] = ds.sampleShape;
  const out = prediction === 'both' ? 2 * ch : ch;
  if (ds.sampleShape.length !== 3 || h !== c.imageSize[0] || w !== c.imageSize[1] || ch !== c.inChannels || c.outChannels !== out) {
    throw new Error(
      `${ds.name} has samples [${ds.sampleShape.join(', ')}], but the UNet takes [${c.imageSize.join(', ')}, ${c.inChannels}] and gives ${c.outChannels} channels` +
        ` (${prediction} prediction needs ${out})`,
    );
  }
}

/** What {@link trainSpec} returns. */
export interface TrainSpecRun {
  /** How the run ended (step reached, finished or stopped, last checkpoint). */
  result: TrainResult;
  /** The trainer (its run folder, total trained seconds). */
  trainer: Trainer<UNet, DataBatch>;
}

/** The EMA weights of a run, loaded ({@link loadEmaWeights}). */
export interface EmaWeights {
  /** A UNet of the spec's architecture holding the EMA weights, in eval mode. */
  unet: UNet;
  /** The update the checkpoint was written at. */
  step: number;
  /** The checkpoint folder read. */
  checkpoint: string;
}

/**
 * Trains a diffusion model from a training spec (a shipped model's, or one derived from it by a recipe's training
 * stage) with the framework's {@link Trainer}: seeded initialisation, batches, noise and dropout, AdamW with the
 * spec's learning-rate schedule, gradient clipping and EMA. Killed at any point, the next call with the same folder
 * resumes from the last checkpoint and reproduces the same updates.
 *
 * @example
 * ```ts
 * const { result } = await trainSpec({ ...shippedModelSpec('unet-mnist-s-eps'), steps: 200 }, { dir: 'runs/short' });
 * const unet = loadEmaWeights(spec, 'runs/short');
 * ```
 */
export async function trainSpec(spec: ShippedModelSpec, options: TrainSpecOptions): Promise<TrainSpecRun> {
  const unetConfig = shippedUNetConfig(spec);
  const train = options.train ?? loadMnist({ split: 'train' });
  const test = options.train ? options.heldOut : (options.heldOut ?? loadMnist({ split: 'test' }));
  checkDataFitsUNet(train, unetConfig, spec.prediction);
  manualSeed(spec.seed);
  const unet = new UNet(unetConfig);
  const schedule = scheduleFromConfig(spec.schedule);
  const loss = diffusionLoss({ schedule, prediction: spec.prediction, weighting: spec.weighting });
  // Validation on the first 256 held-out images (one batch), t and ε fixed by HELD_OUT_SEED: comparable across steps.
  const validationRows = Array.from({ length: Math.min(256, test?.size ?? 0) }, (_, i) => i);
  const validateEvery = test && validationRows.length > 0 ? (options.validateEvery ?? 500) : 0;
  const trainer = new Trainer({
    model: unet,
    loss,
    batches: datasetBatches(train, spec.batchSize, spec.seed),
    steps: spec.steps,
    seed: spec.seed,
    lr: spec.lr,
    optimizer: { weightDecay: spec.weightDecay },
    emaDecay: spec.emaDecay,
    clipGradNorm: spec.clipGradNorm,
    dir: options.dir,
    checkpointEvery: options.checkpointEvery ?? 100,
    logEvery: options.logEvery ?? 20,
    log: options.log,
    runConfig: { spec: spec as unknown as Record<string, unknown>, unet: unetConfig as unknown as Record<string, unknown> },
    stopAfter: options.stopAfter,
    validate:
      validateEvery > 0
        ? { every: validateEvery, run: (model) => ({ heldOutLoss: heldOutLoss(loss, model, test as ArrayDataset, { indices: validationRows, batchSize: 256 }) }) }
        : undefined,
  });
  const result = await trainer.run();
  return { result, trainer };
}

/**
 * The EMA weights of a training run's last checkpoint, in a new UNet of the spec's architecture (eval mode).
 *
 * @throws Error when the folder has no checkpoint.
 */
export function loadEmaWeights(spec: ShippedModelSpec, dir: string): EmaWeights {
  const latestFile = path.join(dir, 'latest.json');
  if (!fs.existsSync(latestFile)) throw new Error(`no checkpoint in ${dir} (latest.json is missing)`);
  const latest = JSON.parse(fs.readFileSync(latestFile, 'utf8')) as { step: number; path: string };
  const checkpoint = path.join(dir, latest.path);
  const unet = new UNet(shippedUNetConfig(spec));
  const file = path.join(checkpoint, 'ema.safetensors');
  const ema = readCheckpoint(file);
  try {
    unet.loadStateDict(ema.tensors, { strict: true, source: file });
  } finally {
    tf.dispose([...ema.tensors.values()]);
  }
  unet.eval();
  return { unet, step: latest.step, checkpoint };
}
