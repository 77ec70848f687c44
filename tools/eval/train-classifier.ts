/**
 * Trains the shipped MNIST feature network (`mnist-classifier-v1`) with the diffusion package's trainer, then exports
 * its EMA weights and model card to models/<id>/.
 *
 *   npx nx run tools:train-classifier                 # run folder runs/train/mnist-classifier-v1, resumable
 *   npx nx run tools:train-classifier --args="--dir=/tmp/c --out=/tmp/models"
 *
 * Options: --dir (run folder), --out (default models), --backend. Kill it at any time: rerunning resumes from the
 * last checkpoint (every 250 updates) and reproduces the same updates; a finished run is only re-exported.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BackendName, initEngine, manualSeed, readCheckpoint, Rng } from '@diffpress/core';
import { Trainer, TrainLogEntry, loadMnist } from '@diffpress/diffusion';
import {
  MNIST_CLASSIFIER_SPEC, MnistClassifier, augmentedBatches, classifierAccuracy, classifierLoss, saveFeatureClassifier,
} from '@diffpress/eval';
import { arg } from '../cli-args';

async function main(): Promise<void> {
  const spec = MNIST_CLASSIFIER_SPEC;
  const dir = path.resolve(arg('dir') ?? path.join('runs', 'train', spec.id));
  const outDir = path.resolve(arg('out') ?? 'models', spec.id);
  const engine = await initEngine({ backend: arg('backend') as BackendName | undefined });
  manualSeed(spec.seed);
  const net = new MnistClassifier(spec.config, new Rng(spec.seed, 'classifier/init'));
  const train = loadMnist({ split: 'train' });
  const test = loadMnist({ split: 'test' });
  if (!train.labels) throw new Error('the MNIST loader returned no labels');
  console.log(`[classifier] ${spec.id}: ${net.numParameters()} parameters, ${train.size} training digits, batch ${spec.batchSize}, ${spec.steps} updates, backend ${engine.backend}, run folder ${dir}`);
  const trainer = new Trainer({
    model: net,
    loss: classifierLoss(train.labels, spec.config.classes),
    batches: augmentedBatches(train, spec.batchSize, spec.seed, spec.maxShift),
    steps: spec.steps,
    seed: spec.seed,
    lr: spec.lr,
    optimizer: { weightDecay: spec.weightDecay },
    emaDecay: spec.emaDecay,
    dir,
    checkpointEvery: 250,
    logEvery: 50,
    runConfig: { spec: spec as unknown as Record<string, unknown> },
    validate: { every: 500, run: (model) => ({ testAccuracy: classifierAccuracy(model, test).accuracy }) },
  });
  const result = await trainer.run();
  if (!result.finished) throw new Error(`stopped at update ${result.step}/${spec.steps}; rerun to resume`);

  const latest = JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')) as { path: string };
  const ema = readCheckpoint(path.join(dir, latest.path, 'ema.safetensors'));
  net.loadStateDict(ema.tensors, { strict: true });
  tf.dispose([...ema.tensors.values()]);
  net.eval();
  const acc = classifierAccuracy(net, test);
  const trainAcc = classifierAccuracy(net, train);
  const file = saveFeatureClassifier(net, outDir, spec.id);
  const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainLogEntry);
  const seconds = log.reduce((s, e) => s + e.seconds, 0);
  const tail = log.slice(-100);
  const finalLoss = tail.reduce((s, e) => s + e.loss, 0) / tail.length;
  const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
  const card = `# ${spec.id}

The MNIST feature network of \`@diffpress/eval\`: a LeNet-style CNN whose ${spec.config.hidden}-wide penultimate layer is
the feature space of \`fd-mnist-classifier-v1\`, KID and precision/recall, and whose softmax feeds the classifier score and the
class-histogram entropy.

| | |
|---|---|
| Architecture | conv 5×5 → ${spec.config.channels[0]}, conv 5×5 stride 2 → ${spec.config.channels[1]}, conv 3×3 stride 2 → ${spec.config.channels[2]} (ReLU each), linear → ${spec.config.hidden} (ReLU; the features), dropout ${spec.config.dropout}, linear → ${spec.config.classes}; ${net.numParameters().toLocaleString('en-US')} parameters |
| Input | \`[n, 28, 28, 1]\` digits scaled to [−1, 1] (the diffusion models' data range) |
| Data | MNIST train split (${train.size} digits, \`loadMnist({ split: 'train' })\`), random shifts of up to ${spec.maxShift} px |
| Training | ${spec.steps} updates, batch ${spec.batchSize}, softmax cross-entropy, AdamW (weight decay ${spec.weightDecay}), lr \`${JSON.stringify(spec.lr)}\`, EMA ${spec.emaDecay}, seed ${spec.seed}; ${(seconds / 60).toFixed(1)} min of updates on ${engine.backend} (${engine.threads} thread, sharing the machine with other runs) |
| Final training loss (mean of the last ${tail.length} updates) | ${finalLoss.toFixed(4)} |
| **Test accuracy** (EMA weights, all ${test.size} test digits) | **${pct(acc.accuracy)}** |
| Per-class test accuracy, digits 0–9 | ${acc.perClass.map((a) => pct(a)).join(', ')} |
| Train accuracy (un-augmented) | ${pct(trainAcc.accuracy)} |
| Weights | \`model.safetensors\` (EMA, float32, config in its metadata) |

Load it with \`loadFeatureNetwork('${spec.id}')\` (the default of every feature metric).

## Reproduce

\`\`\`sh
npx nx run tools:train-classifier    # resumable: rerun after an interruption
\`\`\`
`;
  fs.writeFileSync(path.join(outDir, 'README.md'), card);
  console.log(`[classifier] test accuracy ${pct(acc.accuracy)} (train ${pct(trainAcc.accuracy)}); wrote ${file} and README.md`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
