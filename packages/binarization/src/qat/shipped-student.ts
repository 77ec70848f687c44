import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { CompressionState, DiagnosticTable, JsonValue, checkCompressionState, readCheckpoint } from '@diffpress/core';
import { shippedModelsDir } from '@diffpress/diffusion';

/**
 * `student.json` of a shipped trained student (a folder under `models/` next to the FP models): which FP model it was
 * trained from and where it came from. The folder also holds the student's `model.safetensors`, the store's
 * `compression-state.json` (method, version, config, state) and a model card.
 */
export interface ShippedStudentInfo {
  /** Shipped id of the FP model it was trained from (its step's parent). */
  base: string;
  /** The recipe and cell it was trained by (for the model card). */
  recipe: string;
  /** Label of the cell. */
  cell: string;
  /** Seed of the run. */
  seed: number;
  /** The training step's report tables (training curve and cost), shown again where the student is used. */
  diagnostics: DiagnosticTable[];
}

/** A shipped student, read by {@link readShippedStudent}. */
export interface ShippedStudent extends ShippedStudentInfo {
  /** Its folder. */
  dir: string;
  /** The method that trained it. */
  method: string;
  /** The method's parsed config it was trained with (raw JSON; parse it with the method's schema). */
  config: JsonValue;
  /** The method's state. */
  state: JsonValue;
}

/** The folder of a shipped student: an id under `models/`, or a folder path. */
export function shippedStudentDir(idOrDir: string): string {
  return idOrDir.includes('/') || idOrDir.includes(path.sep) ? path.resolve(idOrDir) : path.join(shippedModelsDir(), idOrDir);
}

/**
 * Reads a shipped student's description.
 *
 * @throws Error naming the file when the folder lacks a file, or when the student is not a single step of `method`.
 */
export function readShippedStudent(idOrDir: string, method: string): ShippedStudent {
  const dir = shippedStudentDir(idOrDir);
  const read = (name: string): unknown => {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new Error(`shipped student ${idOrDir}: no ${file}`);
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  };
  const state: CompressionState = checkCompressionState(read('compression-state.json'), path.join(dir, 'compression-state.json'));
  const info = read('student.json') as ShippedStudentInfo;
  if (state.history.length !== 1 || state.history[0].method !== method) {
    throw new Error(`shipped student ${idOrDir} was made by [${state.history.map((h) => h.method).join(' → ')}], not by a single ${method} step`);
  }
  if (!fs.existsSync(path.join(dir, 'model.safetensors'))) throw new Error(`shipped student ${idOrDir}: no ${path.join(dir, 'model.safetensors')}`);
  return { ...info, dir, method, config: state.history[0].config, state: state.history[0].state };
}

/** Loads a shipped student's weights into a student network of its structure (strict: every tensor must match). */
export function loadShippedWeights(student: ShippedStudent, unet: { loadStateDict(v: ReadonlyMap<string, tf.Tensor>, o: { strict: boolean; source: string }): void }): void {
  const file = path.join(student.dir, 'model.safetensors');
  const { tensors } = readCheckpoint(file);
  try {
    unet.loadStateDict(tensors, { strict: true, source: file });
  } finally {
    tf.dispose([...tensors.values()]);
  }
}
