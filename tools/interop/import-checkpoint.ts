/**
 * Converts a PyTorch UNet checkpoint into a diffpress checkpoint that recipes load with `model: { checkpoint: <file> }`.
 *
 *   npx nx run tools:import-checkpoint --checkpoint=ema_cifar10/model-790000.ckpt --config=ddim/configs/cifar10.yml --out=models/ddim-cifar10.safetensors
 *   npx nx run tools:import-checkpoint --checkpoint=ddpm-cifar10-32/unet/diffusion_pytorch_model.safetensors \
 *     --config=ddpm-cifar10-32/unet/config.json --scheduler-config=ddpm-cifar10-32/scheduler/scheduler_config.json --out=ddpm-cifar10.safetensors
 *   npx nx run tools:import-checkpoint --checkpoint=my.pt --config=ddim-cifar10 --layout=ddim --out=my.safetensors
 *
 * Options:
 *   --checkpoint   a .safetensors file or a torch.save file (.pt/.pth/.ckpt/.bin; read without executing code)
 *   --config       the architecture: a DDIM-style YAML/JSON config (data/model/diffusion sections, or the flat keyword
 *                  arguments of pytorch_diffusion's Model), a diffusers UNet2DModel config.json, or a UNet preset name
 *   --out          the diffpress checkpoint to write (default: the checkpoint's name with .diffpress.safetensors)
 *   --layout       ddim | diffusers | auto (default auto: from the key names)
 *   --entry        the entry of a torch.save file holding the state dict (ema, model, state_dict, 0, …; default: found)
 *   --scheduler-config  a diffusers scheduler_config.json (schedule and prediction)
 *   --schedule     linear-beta:<T>:<betaStart>:<betaEnd> | cosine-logsnr:<min>:<max> | a ScheduleConfig as JSON
 *   --prediction   eps | x | v | both
 *   --flip-sin-to-cos=true|false  diffusers' flip_sin_to_cos, when --config is a preset
 *   --image-size   input size, for a diffusers config whose sample_size is null
 *   --id           model id recorded in the metadata (default: the output file's name)
 *   --f16          store float16 (half the size; about 3 significant digits)
 *   --verbose      print every tensor's source and transform
 *   --backend      tfjs backend for the reload check
 *
 * Without --schedule, --scheduler-config or a DDIM config's linear schedule, DDPM's linear β schedule (T = 1000,
 * 1e-4 … 0.02) is assumed and said so; without --prediction, ε. After writing, the file is reloaded with
 * loadDiffusionModel (what a recipe does) and its output on a random input compared with the imported network's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as YAML from 'yaml';
import { BackendName, initEngine, saveCheckpoint } from '@diffpress/core';
import {
  PREDICTIONS, Prediction, ScheduleConfig, TorchUNetArchitecture, TorchUNetImportReport, importTorchUNet, loadDiffusionModel, modelMetadata, scheduleFromConfig,
  scheduleFromDiffusersConfig, unetConfigFromDdimConfig, unetConfigFromDiffusersConfig, unetPreset, unetPresets,
} from '@diffpress/diffusion';
import { arg, flag } from '../cli-args';

/** What {@link importCheckpoint} needs: the command-line options, parsed. */
export interface ImportCheckpointOptions {
  /** The PyTorch checkpoint. */
  checkpoint: string;
  /** Architecture: a config file or a preset name. */
  config: string;
  /** Output file. */
  out: string;
  /** Layout, default auto. */
  layout?: 'ddim' | 'diffusers' | 'auto';
  /** torch.save entry. */
  entry?: string;
  /** diffusers scheduler_config.json. */
  schedulerConfig?: string;
  /** Schedule as text (see the file comment). */
  schedule?: string;
  /** Parameterization. */
  prediction?: Prediction;
  /** diffusers flip_sin_to_cos for preset architectures. */
  flipSinToCos?: boolean;
  /** Input size for diffusers configs without sample_size. */
  imageSize?: number;
  /** Model id in the metadata. */
  id?: string;
  /** Store float16. */
  f16?: boolean;
}

/** What was written, and how. */
export interface ImportCheckpointResult {
  /** The output file. */
  out: string;
  /** The importer's report. */
  report: TorchUNetImportReport;
  /** The schedule recorded. */
  schedule: ScheduleConfig;
  /** The parameterization recorded. */
  prediction: Prediction;
  /** Lines to print: the mapping summary and what was assumed. */
  lines: string[];
  /** max |reloaded − imported| on a random input (0 for F32 storage). */
  reloadDifference: number;
}

const DDPM_LINEAR: ScheduleConfig = { type: 'linear-beta', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 };

/** The architecture named by `--config`: a preset, a diffusers config.json, or a DDIM-style config. */
export function architectureFrom(config: string, options: Pick<ImportCheckpointOptions, 'layout' | 'flipSinToCos' | 'imageSize'>): TorchUNetArchitecture {
  if (Object.prototype.hasOwnProperty.call(unetPresets, config)) {
    const layout = options.layout === 'diffusers' ? 'diffusers' : 'ddim';
    return { layout, unet: unetPreset(config), flipSinToCos: options.flipSinToCos, notes: [`architecture: the preset ${config}`] };
  }
  if (!fs.existsSync(config)) throw new Error(`--config '${config}' is neither a file nor a UNet preset (presets: ${Object.keys(unetPresets).join(', ')})`);
  const parsed: unknown = YAML.parse(fs.readFileSync(config, 'utf8'));
  const obj = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  if ('block_out_channels' in obj || '_class_name' in obj || '_diffusers_version' in obj) {
    return unetConfigFromDiffusersConfig(parsed, { imageSize: options.imageSize });
  }
  if ('model' in obj || 'ch' in obj) return unetConfigFromDdimConfig(parsed);
  throw new Error(`--config ${config}: neither a diffusers UNet2DModel config (block_out_channels) nor a DDIM config (model.ch)`);
}

/** Parses `--schedule`: `linear-beta:T:start:end`, `cosine-logsnr:min:max`, or JSON. */
export function parseSchedule(text: string): ScheduleConfig {
  let config: ScheduleConfig;
  if (text.trim().startsWith('{')) config = JSON.parse(text) as ScheduleConfig;
  else {
    const [type, ...rest] = text.split(':');
    const n = rest.map(Number);
    if (type === 'linear-beta' && n.length === 3) config = { type, timesteps: n[0], betaStart: n[1], betaEnd: n[2] };
    else if (type === 'cosine-logsnr' && n.length === 2) config = { type, logSnrMin: n[0], logSnrMax: n[1] };
    else throw new Error(`--schedule '${text}': expected linear-beta:<T>:<betaStart>:<betaEnd>, cosine-logsnr:<min>:<max> or a JSON ScheduleConfig`);
  }
  scheduleFromConfig(config); // validates
  return config;
}

/**
 * Imports `options.checkpoint`, writes it with diffpress metadata to `options.out`, reloads it the way a recipe
 * does and checks the reloaded network computes what the imported one does.
 */
export function importCheckpoint(options: ImportCheckpointOptions): ImportCheckpointResult {
  const arch = architectureFrom(options.config, options);
  const lines: string[] = [];
  const { unet, report } = importTorchUNet(options.checkpoint, {
    layout: options.layout ?? 'auto',
    unet: arch.unet,
    flipSinToCos: options.flipSinToCos ?? arch.flipSinToCos,
    entry: options.entry,
  });
  try {
    let schedule: ScheduleConfig | undefined;
    let prediction: Prediction | undefined = options.prediction;
    if (options.schedule) schedule = parseSchedule(options.schedule);
    else if (options.schedulerConfig) {
      const fromScheduler = scheduleFromDiffusersConfig(JSON.parse(fs.readFileSync(options.schedulerConfig, 'utf8')));
      schedule = fromScheduler.schedule;
      prediction ??= fromScheduler.prediction;
    } else schedule = arch.schedule;
    prediction ??= arch.prediction;
    if (!schedule) {
      schedule = DDPM_LINEAR;
      lines.push("schedule: none given, assumed DDPM's linear β (T = 1000, 1e-4 … 0.02); pass --schedule or --scheduler-config otherwise");
    }
    if (!prediction) {
      prediction = 'eps';
      lines.push('prediction: none given, assumed eps; pass --prediction otherwise');
    }
    const id = options.id ?? path.basename(options.out).replace(/(\.diffpress)?\.safetensors$/, '');
    const where = report.entry === null ? '' : `, entry '${report.entry}'`;
    lines.unshift(
      `${report.source} (${report.format}${where}): ${report.layout} layout${report.layoutDetected ? ' (detected)' : ''}`,
      `mapped ${report.mapped.length} tensors onto the UNet, ${report.parameters.toLocaleString('en-US')} parameters${report.ignored.length > 0 ? `; skipped ${report.ignored.join(', ')}` : ''}`,
      ...[...(arch.notes ?? []), ...report.notes].map((n) => `note: ${n}`),
      `schedule ${JSON.stringify(schedule)}, prediction ${prediction}`,
    );
    saveCheckpoint(unet, options.out, {
      floatDtype: options.f16 ? 'F16' : 'F32',
      metadata: {
        ...modelMetadata(id, arch.unet, schedule, prediction),
        'diffpress.import.source': path.basename(options.checkpoint),
        'diffpress.import.layout': report.layout,
        'diffpress.import.entry': report.entry ?? '',
      },
    });

    // What a recipe does with model: { checkpoint: <out> }.
    const reloaded = loadDiffusionModel(options.out);
    const [h, w] = reloaded.unet.plan.config.imageSize;
    const reloadDifference = tf.tidy(() => {
      const x = tf.randomNormal([1, h, w, arch.unet.inChannels], 0, 1, 'float32', 1);
      const t = tf.tensor1d([500]);
      return tf.max(tf.abs(tf.sub(reloaded.unet.forward(x, t), unet.forward(x, t)))).dataSync()[0];
    });
    reloaded.unet.dispose();
    lines.push(`wrote ${options.out}; reloaded as a diffpress model: max |reloaded − imported| = ${reloadDifference.toExponential(2)} on a random input`);
    return { out: options.out, report, schedule, prediction, lines, reloadDifference };
  } finally {
    unet.dispose();
  }
}

function boolArg(name: string): boolean | undefined {
  const v = arg(name);
  if (v === undefined) return flag(name) ? true : undefined;
  if (v !== 'true' && v !== 'false') throw new Error(`--${name} must be true or false, got '${v}'`);
  return v === 'true';
}

async function main(): Promise<void> {
  const checkpoint = arg('checkpoint');
  const config = arg('config');
  if (!checkpoint || !config) throw new Error('usage: npx nx run tools:import-checkpoint --checkpoint=<.pt|.ckpt|.safetensors> --config=<config file or preset> [--out=<file.safetensors>] (see tools/interop/import-checkpoint.ts)');
  const layout = arg('layout');
  if (layout !== undefined && !['ddim', 'diffusers', 'auto'].includes(layout)) throw new Error(`--layout must be ddim, diffusers or auto, got '${layout}'`);
  const prediction = arg('prediction');
  if (prediction !== undefined && !PREDICTIONS.includes(prediction as Prediction)) throw new Error(`--prediction must be one of ${PREDICTIONS.join(', ')}, got '${prediction}'`);
  const imageSize = arg('image-size');
  await initEngine({ backend: arg('backend') as BackendName | undefined });
  const out = arg('out') ?? checkpoint.replace(/\.(pt|pth|ckpt|bin|safetensors)$/, '') + '.diffpress.safetensors';
  const result = importCheckpoint({
    checkpoint,
    config,
    out,
    layout: layout as ImportCheckpointOptions['layout'],
    entry: arg('entry'),
    schedulerConfig: arg('scheduler-config'),
    schedule: arg('schedule'),
    prediction: prediction as Prediction | undefined,
    flipSinToCos: boolArg('flip-sin-to-cos'),
    imageSize: imageSize === undefined ? undefined : Number(imageSize),
    id: arg('id'),
    f16: flag('f16'),
  });
  for (const l of result.lines) console.log(`[import] ${l}`);
  if (flag('verbose')) for (const m of result.report.mapped) console.log(`[import]   ${m.to} ← ${m.from} (${m.transform})`);
  console.log(`[import] use it in a recipe: model: { checkpoint: ${path.resolve(result.out)} }  (relative paths are read from the recipe's folder)`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`[import] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
