import { DiagnosticTable, JsonValue } from '@diffpress/core';
import { DiffusionStageContext, DiffusionStageResult, PipelineModel, UNet, copyUNet } from '@diffpress/diffusion';
import { BinarizeOptions, BinarizedUNet, binarizeUNet, binarizedBitWidths } from '../layers/binarize-unet';
import { FeatureDistillOptions } from './feature-distillation';
import { QatHooks, QatResult, QatTrainConfig, runQat } from './qat';

/** A student being built by a binarization method: its network and handles on its binarized parts. */
export interface Student {
  /** The pipeline model carrying the student network. */
  model: PipelineModel;
  /** The binarized layers and attention products. */
  parts: BinarizedUNet;
}

/**
 * A binarized copy of the step's parent model (the parent is not touched): the FP weights become the latent weights
 * of the binary layers `options` describes. `restore` builds the same structure, and the caller loads the weights.
 */
export function buildStudent(ctx: DiffusionStageContext, methodId: string, options: BinarizeOptions): Student {
  const unet: UNet = copyUNet(ctx.model.unet);
  const parts = binarizeUNet(unet, options);
  return { model: { ...ctx.model, id: `${ctx.model.id}+${methodId}`, unet }, parts };
}

/** Everything binarized: the state the trained student is sampled, saved and restored in. */
export function binarizeAll(parts: BinarizedUNet): void {
  for (const l of parts.layers.values()) l.binarized = true;
  for (const a of parts.attention.values()) a.quantized = true;
}

/** The report tables of a QAT run: the training curves and its cost. */
export function qatDiagnostics(methodId: string, result: QatResult, train: QatTrainConfig, distill: FeatureDistillOptions): DiagnosticTable[] {
  const heap = result.heapBytes == null ? null : result.heapBytes / 2 ** 20;
  const ranks = Object.values(result.lrmRanks);
  return [
    {
      id: `${methodId}.training-curve`,
      title: 'Training curve',
      description:
        'Mean training objective since the previous point, and the denoising loss and feature term of a fixed monitor batch (the same training samples, t and ε at every point); a curve that has flattened is the evidence that the updates sufficed. The wasm heap at each point shows whether training grows it.',
      columns: ['update', 'train objective', 'monitor loss', 'monitor feature term', 'heap MiB'],
      rows: result.curve.map((p) => [p.step, p.trainLoss, p.monitorLoss, p.monitorDistill, p.heapMiB]),
    },
    {
      id: `${methodId}.training-cost`,
      title: 'Training cost',
      description:
        'Updates and batch of the QAT run, mean wall-clock seconds per update on this machine (resumed parts included), the wasm heap after training (its high-water mark; null on another backend), and the feature-distillation setting used.',
      columns: ['updates', 'batch', 's / update', 'heap MiB', 'distillation', 'λ', 'LRM ranks'],
      rows: [
        [
          result.train.step,
          train.batchSize,
          result.secondsPerUpdate,
          heap,
          distill.kind === 'lrm' ? `lrm (${distill.axis}, K = ${distill.factor})` : distill.kind,
          distill.kind === 'none' ? null : distill.lambda,
          ranks.length ? ranks.map(([d, r]) => `${d}→${r}`).join(' ') : '—',
        ],
      ],
    },
  ];
}

/**
 * Runs QAT on a built student and returns the step's result: the student (everything binarized, in eval mode), its
 * bit-widths, the method's state and the QAT report tables. `finish` puts the trained student in its final state
 * (e.g. EBB's second basis removed) before the bit-widths are read.
 */
export async function trainStudent(
  ctx: DiffusionStageContext,
  methodId: string,
  student: Student,
  train: QatTrainConfig,
  distill: FeatureDistillOptions,
  hooks: QatHooks & { finish?: () => void; state?: JsonValue; diagnostics?: DiagnosticTable[] },
): Promise<DiffusionStageResult> {
  const result = await runQat(ctx, student.model.unet, train, distill, hooks);
  if (!result.train.finished) throw new Error(`${methodId}: QAT stopped at update ${result.train.step} of ${train.steps}`);
  binarizeAll(student.parts);
  hooks.finish?.();
  student.model.unet.eval();
  ctx.log(`${result.train.step} updates, ${result.secondsPerUpdate.toFixed(2)} s/update, last loss ${result.train.lastLoss.toPrecision(4)}`);
  return {
    model: student.model,
    bitWidths: binarizedBitWidths(student.parts),
    state: hooks.state ?? null,
    diagnostics: [...qatDiagnostics(methodId, result, train, distill), ...(hooks.diagnostics ?? [])],
  };
}
