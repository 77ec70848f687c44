import * as os from 'os';
import * as path from 'path';
import { ArtifactStore, baseModelKey, builtinRegistry, loadRecipe, planUnits, unitKey, validateRecipeText } from '@diffpress/recipes';
import { DEFAULT_RECIPE } from './commands';

// Stored results are found by their unit key, which hashes the parsed recipe: a schema change that adds a field
// (even a defaulted one) to every parsed recipe would silently orphan every stored result. These keys were
// computed before the data section grew (issue 24) and must not change unless a result really changes.
const PINNED: Record<string, { hash: string; units: string[] }> = {
  'default.yaml': {
    hash: '6ce41d479efc716520444ca945de8bbe808081e1b9bfb06581afd17f1c9bda7b',
    units: [
      '1db45ebd912a281cdae245f1f8b43609c3ecefd47fa4768d37568800a2ae0e41',
      'a4d3100c8b03ade06267b811113f882e4c36e99bf5bb0c295d158cc396117d29',
      '86da382cee47d74f411a6977f90bbc0c94a99ad3344b9d9722288b0d8ee3f533',
      '59811b0f84d7bc86506e07b618a9068f6597c1c64c7a9d45ec3aa427e36e4edf',
      '2507f450f90d3078a19b2269995d4a0f9866feea759ab8c157fc8a0614ebddcd',
      '03ba18656044cc3ee8f0ac029bd705774f95562e590ea0a15226575bf943c42a',
      '536c1001613f9bb29d4f169b1b4e87175e8c07020625b2ef88e863bb1be8839a',
      '57f6461448a43f1a1566a2c24b9d17437f953df9f7d976647836539adf40a8b3',
      '3d063664eed0ac2de62b8c5bd5283dae0e151b0500c765494fe5687113236eaf',
      '7be641d1d115ad2e60db4f72c480e2291b21b80a01d45acb57e3796c3a2f8945',
    ],
  },
  'ptq/split.yaml': {
    hash: '4ce5d6387b14fe41a00993d33332e11f36450c7d128a5c1f4ea83b5f88f62e88',
    units: [
      '2e6bcbd4cb7118d4e445f59a9c25203c408b15ad98634a0b40dcd688dd8c6c57',
      'd06a12aeecaafbcbef4b78de6fb444362c1719c4cf4b6f9f707584bd23f2df65',
      '464a399625dabb0504ab09fe046dd658d0614105a77dcf21d94e0efd941acfd5',
      'bb994b4a57deca4000bd2c0d6107cbd1ef24c8028cc85bd533d75687a2edfa04',
      'f02ec801be5df2cd62d6bb568483e85fab3ee8424ebacfa0e1be7925df67440f',
      'f22288981861d6a9ada17a7d1f583f23ee57b5bd204b9b5e2e14439b8eaab6bc',
    ],
  },
};

/** A recipe whose base model is a training stage on the shipped spec's data (MNIST). */
const TRAINING_STAGE = `name: trained
model: { train: { like: unet-mnist-s-eps, steps: 2000, batchSize: 32 } }
sample: { kind: ddim, steps: 20 }
eval: { samples: 16, metrics: [fd] }
`;

describe('keys of stored results', () => {
  // Keys do not depend on the store's folder: any root gives the same key.
  const store = new ArtifactStore(path.join(os.tmpdir(), 'dp-unit-keys-unused'));
  const registry = builtinRegistry();

  it.each(Object.keys(PINNED))('%s keeps its recipe hash and the keys of its stored units', (file) => {
    const v = loadRecipe(path.join(path.dirname(DEFAULT_RECIPE), file), { registry });
    expect({ hash: v.hash, units: planUnits(v).map((u) => unitKey(v, u, store)) }).toEqual(PINNED[file]);
  });

  it('a training stage on MNIST keeps the key of its trained model', () => {
    const v = validateRecipeText(TRAINING_STAGE, 'trained.yaml', { registry }).result;
    if (!v) throw new Error('the training-stage recipe is invalid');
    expect(baseModelKey(v.recipe, store, v.baseDir).key).toBe('7a386ac5efde409ffda2163403e00157c4833fc48dda0f0f8e42f728886cccd5');
  });
});
