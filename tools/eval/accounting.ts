/**
 * Prints the efficiency accounting: the paper-architecture checks (LDM-4 / LDM-8 / DDIM CIFAR-10 against the
 * papers' figures, with residuals) and the accounting of a preset at FP32, W8A8, W4A8, W1A4 and W1A1 in the
 * paper-style and as-implemented conventions, plus its per-part split.
 *
 *   npx nx run tools:accounting                               # unet-mnist-s
 *   npx nx run tools:accounting --args="--preset=ddim-cifar10"
 */
import { UNetPresetName, unetPresets } from '@diffpress/diffusion';
import { argOr } from '../cli-args';
import { modelAccountingTable, paperChecksTable, partsTable } from './accounting-tables';

const preset = argOr('preset', 'unet-mnist-s') as UNetPresetName;
if (!(preset in unetPresets)) {
  console.error(`unknown preset '${preset}' (available: ${Object.keys(unetPresets).join(', ')})`);
  process.exit(1);
}
console.log('## Paper-architecture checks (architecture-only, no weights allocated)\n');
console.log(paperChecksTable());
console.log(`\n## ${preset}: accounting by bit setting\n`);
console.log(modelAccountingTable(preset));
console.log(`\n## ${preset}: per UNet part (FP32)\n`);
console.log(partsTable(preset));
