import { z } from 'zod';
import { CALIBRATION_STRATEGIES, CalibrationSpec, CalibrationStrategy } from '../calibration/calibration-set';
import { KEEP_FP_PRESETS, KeepFpPreset, KeepFpSets } from '../quant/quantize-unet';

/** Where calibration data comes from and how much (see `calibrationPlan`). */
export interface CalibrationSetting {
  /** Strategy. */
  strategy: CalibrationStrategy;
  /** The most steps taken, k: `uniform` takes every ⌈T/k⌉-th of the sampler's T steps, `first`/`last` at most k. */
  steps: number;
  /** Share of the trajectory `first`/`last` draw from. */
  fraction: number;
  /** Step index of `single` (default: the middle step). */
  step?: number;
  /** Samples per chosen step (trajectories drawn). */
  perStep: number;
}

/** Layers kept FP: a preset name or explicit globs. */
export type KeepFpSetting = KeepFpPreset | KeepFpSets;

/** The report tables a method adds. */
export interface DiagnosticsSetting {
  /** Trajectories of the teacher-forced per-step ε-MSE table (0: skip it). */
  trajectories: number;
}

/** AdaRound + BRECQ weight-reconstruction settings (ptq spec §1, §3.2). */
export interface WeightReconSetting {
  /** Per-channel range init before AdaRound. */
  init: 'minmax' | 'mse';
  /**
   * Optimisation steps per unit (default 1000; paper: 20 000 at lr 1e-3; 0 = round-to-nearest on the initial grid).
   * How far Adam moves each α is about `lr × iters`, and a rounding variable saturates (h(α) at 0 or 1) once α has
   * travelled about ±2.4: on unet-mnist-s-v, lr × iters = 5 left ~5 % of h(α) inside (0.01, 0.99), 7 about 1–2 %,
   * 10 at most 0.3 % (per unit; see the reconstruction table).
   */
  iters: number;
  /** Calibration rows per step. */
  batchSize: number;
  /**
   * Adam learning rate of the rounding variables α (default 1e-2: the spec's 1e-3 is the papers' rate at 20 000
   * steps; at 1000 steps the α's would travel a tenth of the way and most h(α) would stay unsaturated).
   */
  lr: number;
  /** Weight λ of the rounding regulariser. */
  lambda: number;
  /** Share of the steps with the regulariser off and β at `betaStart`. */
  warmup: number;
  /** β at the end of the warm-up. */
  betaStart: number;
  /** β at the last step. */
  betaEnd: number;
  /** Exponent of the reconstruction loss. */
  p: number;
}

/** Weight bits: 2…8 (ptq spec). */
export const weightBitsSchema: z.ZodType<number> = z.number().int().min(2).max(8);

/** Activation bits: 4…16, or 32 for FP activations (weight-only quantization, "A32"). */
export const activationBitsSchema: z.ZodType<number> = z.union([z.number().int().min(4).max(16), z.literal(32)]);

/** Schema of {@link KeepFpSetting}. */
export const keepFpSchema: z.ZodType<KeepFpSetting> = z.union([
  z.enum(['none', 'tfmq', 'tfmq-reference']),
  z.strictObject({
    layers: z.array(z.string()).default([]).describe('module-path globs whose weights and inputs stay FP'),
    activations: z.array(z.string()).default([]).describe('module-path globs whose input activations stay FP'),
  }),
]);

/** The globs a `keepFp` setting stands for. */
export function resolveKeepFp(value: KeepFpSetting): KeepFpSets {
  return typeof value === 'string' ? KEEP_FP_PRESETS[value] : value;
}

/** A calibration-set schema whose strategy and sizes default to `defaults`. */
export function calibrationSchema(defaults: Pick<CalibrationSetting, 'strategy' | 'steps' | 'perStep'>): z.ZodType<CalibrationSetting> {
  return z
    .strictObject({
      strategy: z.enum(CALIBRATION_STRATEGIES as [CalibrationStrategy, ...CalibrationStrategy[]]).default(defaults.strategy).describe('which sampler steps the data comes from'),
      steps: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(defaults.steps)
        .describe('k: uniform takes every c-th step of the T-step trajectory with c = ceil(T/k) (k ≥ T: every step); first/last take at most k steps; also the row budget (k × perStep)'),
      fraction: z.number().gt(0).max(1).default(0.25).describe('share of the trajectory first/last draw from'),
      step: z.number().int().min(0).optional().describe('step index of the single strategy (default: the middle step)'),
      perStep: z.number().int().min(1).max(4096).default(defaults.perStep).describe('samples per chosen step (trajectories drawn)'),
    })
    .prefault({});
}

/**
 * What every PTQ method's config has (ptq spec §1–§4). The defaults of `weightBits`, `keepFp` and `calibration`
 * are the method's (see {@link PtqBaseDefaults}); `activationBits` defaults to 8.
 */
export interface PtqConfigBase {
  /** Weight bits, 2…8 (per output channel, asymmetric). */
  weightBits: number;
  /** Activation bits, 4…16 or 32 = FP (per tensor; default 8). */
  activationBits: number;
  /** Bits of the attention softmax output, 4…16, or 32 = not quantized (default: `activationBits`). */
  softmaxBits?: number;
  /** Report tables. */
  diagnostics: DiagnosticsSetting;
  /** Layers kept FP. */
  keepFp: KeepFpSetting;
  /** Calibration rows. */
  calibration: CalibrationSetting;
}

/** What the reconstructing methods (Q-Diffusion, TFMQ-DM) add to {@link PtqConfigBase}. */
export interface ReconConfigBase extends PtqConfigBase {
  /** Split shortcut quantization of the decoder blocks (default true). */
  split: boolean;
  /** BRECQ + AdaRound weight reconstruction (TFMQ-DM's TIAR uses the same settings). */
  weights: WeightReconSetting;
  /** Most MiB of cached unit inputs; above it inputs are recomputed per mini-batch (default 1024). */
  cacheLimitMiB: number;
  /**
   * Calibration rows held out of every reconstruction (default 32, at most a quarter of the set; see `heldOutRows`):
   * each unit's loss with hard rounding is measured on them before and after, and no mini-batch draws them.
   */
  heldOutRows: number;
}

/** A method's defaults of the shared fields of {@link PtqConfigBase}. */
export interface PtqBaseDefaults {
  /** Default weight bits. */
  weightBits: number;
  /** Default FP-layer preset. */
  keepFp: KeepFpPreset;
  /** Default calibration strategy and sizes. */
  calibration: Pick<CalibrationSetting, 'strategy' | 'steps' | 'perStep'>;
  /** What the method takes its calibration rows for (the description of `calibration` in the schema). */
  calibrationUse: string;
}

/** A parsed calibration setting as the calibration-set builder takes it. */
export function calibrationSpec(c: CalibrationSetting): CalibrationSpec {
  return { strategy: c.strategy, steps: c.steps, fraction: c.fraction, step: c.step, perStep: c.perStep };
}

/** Bits of the attention softmax output: 4…16, or 32 for an unquantized softmax output (default: the activation bits). */
export const softmaxBitsSchema: z.ZodType<number | undefined> = z
  .union([z.number().int().min(4).max(16), z.literal(32)])
  .optional()
  .describe('bits of the attention softmax output, 4…16, or 32 = the softmax output is not quantized (default: activationBits)');

/** Schema of {@link DiagnosticsSetting}. */
export const diagnosticsSchema: z.ZodType<DiagnosticsSetting> = z
  .strictObject({
    trajectories: z.number().int().min(0).max(1024).default(16).describe('trajectories of the teacher-forced per-step ε-MSE diagnostic (0: skip it)'),
  })
  .prefault({})
  .describe('diagnostics added to the run report');

/** Schema of {@link WeightReconSetting}. */
export const weightReconSchema: z.ZodType<WeightReconSetting> = z
  .strictObject({
    init: z.enum(['minmax', 'mse']).default('mse').describe('per-channel range init before AdaRound'),
    iters: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(1000)
      .describe('optimisation steps per unit (paper: 20 000 at lr 1e-3; 0 = round-to-nearest); AdaRound saturates once lr × iters ≈ 10 (≥ 99 % of h(α) at 0 or 1 on unet-mnist-s-v)'),
    batchSize: z.number().int().min(1).max(256).default(32).describe('calibration rows per step'),
    lr: z.number().positive().default(1e-2).describe('Adam learning rate of the rounding variables α (the papers: 1e-3 over 20 000 steps; scaled up with the steps scaled down, so that lr × iters stays ≈ 10)'),
    lambda: z.number().min(0).default(0.01).describe('weight λ of the rounding regulariser'),
    warmup: z.number().min(0).max(1).default(0.2).describe('share of the steps with the regulariser off'),
    betaStart: z.number().positive().default(20).describe('β at the end of the warm-up'),
    betaEnd: z.number().positive().default(2).describe('β at the last step'),
    p: z.number().positive().default(2).describe('exponent of the reconstruction loss'),
  })
  .prefault({});
