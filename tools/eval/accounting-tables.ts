/**
 * The efficiency tables of `tools:accounting` and `docs/baselines.md`: the paper-architecture checks of the
 * binarization spec §3 and the accounting of unet-mnist-s at the papers' bit settings, both styles.
 */
import { LayerInfo, UNetPresetName, unetLayerInventory, unetPresets } from '@diffpress/diffusion';
import { AccountingStyle, EfficiencyReport, Precision, accountEfficiency, isDefaultFpLayer, uniformBits } from '@diffpress/eval';

const G = 1e9;

/** One row of the paper check: what we compute next to the papers' figure. */
interface Check {
  what: string;
  ours: string;
  paper: string;
  residual: string;
}

function fmt(x: number, digits: number): string {
  // Rounds first so a tiny negative residual prints as 0.00, not -0.00.
  const r = Number(x.toFixed(digits));
  return (r === 0 ? 0 : r).toFixed(digits);
}

/** The paper-architecture checks as a Markdown table. */
export function paperChecksTable(): string {
  const ldm4 = unetLayerInventory(unetPresets['ldm4-bedrooms']);
  const ldm8 = unetLayerInventory(unetPresets['ldm8-churches']);
  const fp4 = accountEfficiency(ldm4);
  const fp8 = accountEfficiency(ldm8);
  const at = (w: number, a: number): EfficiencyReport => accountEfficiency(ldm4, { bits: uniformBits(ldm4, { weightBits: w, activationBits: a }) });
  const w4a4 = at(4, 4);
  const w2a4 = at(2, 4);
  const bidm = accountEfficiency(ldm4, {
    bits: uniformBits(ldm4, { weightBits: 1, activationBits: 1 }, { keepFp: (l) => isDefaultFpLayer(l) || l.role === 'shortcut' }),
  });
  const cifar = accountEfficiency(unetLayerInventory(unetPresets['ddim-cifar10']));
  const rows: Check[] = [
    { what: 'LDM-4 Bedrooms params (M)', ours: fmt(fp4.params / 1e6, 2), paper: '274.06', residual: fmt(fp4.params / 1e6 - 274.06, 2) },
    { what: 'LDM-4 size FP32 (MiB)', ours: fmt(fp4.sizeMiB, 1), paper: '1045.4', residual: fmt(fp4.sizeMiB - 1045.4, 1) },
    { what: 'LDM-4 conv+linear MACs (G)', ours: fmt(fp4.macs / G, 2), paper: '96.02', residual: fmt(fp4.macs / G - 96.02, 2) },
    { what: 'LDM-4 W4A4 size (MiB)', ours: fmt(w4a4.sizeMiB, 2), paper: '134.9', residual: fmt(w4a4.sizeMiB - 134.9, 2) },
    { what: 'LDM-4 W4A4 OPs (G)', ours: fmt(w4a4.ops / G, 2), paper: '24.3', residual: fmt(w4a4.ops / G - 24.3, 2) },
    { what: 'LDM-4 W2A4 size (MiB)', ours: fmt(w2a4.sizeMiB, 2), paper: '69.8', residual: fmt(w2a4.sizeMiB - 69.8, 2) },
    { what: 'LDM-4 W2A4 OPs (G)', ours: fmt(w2a4.ops / G, 2), paper: '12.3', residual: fmt(w2a4.ops / G - 12.3, 2) },
    { what: 'LDM-4 BiDM W1A1 BOPs (G)', ours: fmt(bidm.bops / G, 2), paper: '92.09', residual: fmt(bidm.bops / G - 92.09, 2) },
    { what: 'LDM-8 Churches params (M)', ours: fmt(fp8.params / 1e6, 2), paper: '294.97', residual: fmt(fp8.params / 1e6 - 294.97, 2) },
    { what: 'LDM-8 size FP32 (MiB)', ours: fmt(fp8.sizeMiB, 1), paper: '1125.2', residual: fmt(fp8.sizeMiB - 1125.2, 1) },
    { what: 'DDIM CIFAR-10 params', ours: cifar.params.toLocaleString('en-US'), paper: '35,746,307', residual: String(cifar.params - 35746307) },
  ];
  return ['| quantity | ours | paper | ours − paper |', '|---|---:|---:|---:|', ...rows.map((r) => `| ${r.what} | ${r.ours} | ${r.paper} | ${r.residual} |`)].join('\n');
}

const SETTINGS: Array<[string, Precision | null]> = [
  ['FP32', null],
  ['W8A8', { weightBits: 8, activationBits: 8 }],
  ['W4A8', { weightBits: 4, activationBits: 8 }],
  ['W1A4', { weightBits: 1, activationBits: 4 }],
  ['W1A1', { weightBits: 1, activationBits: 1 }],
];

/**
 * Accounting of a preset at FP32, W8A8, W4A8, W1A4 and W1A1 (every conv/linear quantized except the time MLP, stem
 * and output conv; attention matmuls at the same bits in the as-implemented style), as a Markdown table.
 */
export function modelAccountingTable(preset: UNetPresetName): string {
  const layers: LayerInfo[] = unetLayerInventory(unetPresets[preset]);
  const lines = [
    '| setting | style | params | size (MiB) | MACs (M) | FP MACs (M) | BOPs (G) | OPs (M) | size × | OPs × |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const style of ['paper', 'as-implemented'] as AccountingStyle[]) {
    const base = accountEfficiency(layers, { style });
    for (const [name, p] of SETTINGS) {
      const r = p ? accountEfficiency(layers, { style, bits: uniformBits(layers, p, { matmuls: style === 'as-implemented' }) }) : base;
      lines.push(
        `| ${name} | ${style} | ${r.params.toLocaleString('en-US')} | ${r.sizeMiB.toFixed(3)} | ${(r.macs / 1e6).toFixed(1)} | ${(r.fpMacs / 1e6).toFixed(1)} | ${(r.bops / G).toFixed(2)} | ${(r.ops / 1e6).toFixed(1)} | ${(base.sizeBytes / r.sizeBytes).toFixed(1)} | ${(base.ops / r.ops).toFixed(1)} |`,
      );
    }
  }
  return lines.join('\n');
}

/** MACs and params of a preset per UNet part (what encoder propagation can skip), as a Markdown table. */
export function partsTable(preset: UNetPresetName): string {
  const r = accountEfficiency(unetLayerInventory(unetPresets[preset]));
  const lines = ['| part | params | MACs (M) | share of MACs |', '|---|---:|---:|---:|'];
  for (const [part, t] of Object.entries(r.byPart)) lines.push(`| ${part} | ${t.params.toLocaleString('en-US')} | ${(t.macs / 1e6).toFixed(2)} | ${((100 * t.macs) / r.macs).toFixed(1)} % |`);
  return lines.join('\n');
}
