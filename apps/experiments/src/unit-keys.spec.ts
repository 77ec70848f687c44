import * as os from 'os';
import * as path from 'path';
import { ArtifactStore, baseModelKey, builtinRegistry, loadRecipe, planUnits, unitKey, validateRecipeText } from '@diffpress/recipes';
import { DEFAULT_RECIPE } from './commands';

// Stored results are found by their unit key, which hashes the parsed recipe: a schema change that adds a field
// (even a defaulted one) to every parsed recipe would silently orphan every stored result. These keys were
// computed before the data section grew (issue 24), the three further ptq recipes' at 636c5b0 (before the platform
// v2 change), default.yaml's when it gained the paired metrics and FD∞ (issue 26: its results really changed),
// and must not change unless a result really changes.
const PINNED: Record<string, { hash: string; units: string[] }> = {
  'default.yaml': {
    hash: 'c1e1841227683d75e82842542dd39bb76bd321d94d8fe2cf7f6ee1ea443fb34e',
    units: [
      '2c504d40617b82eb07431cfcc0fd8f7ff658670ebaa83b63bb31a0e48587c078',
      '28ba55fa19f028ee8b138f9e6c5cf385de75fa0078e65dbe7192298488e9ba81',
      '197f0b86fca2b9ad12db5e7fe95c50833dfa4aee85f02ae68f98654846dafc08',
      '03c131d76238e46c8603bac03523b93aaf9431bb59f893a7cbfb0b2b1307d283',
      '4e143e635c7c14a109274a45f76f0f56347225d8afb412e25715d0d6f2ef2962',
      'c81d3f1040c05ccf552e4a561bec757004408e693d54b6e8efac0410f3ba2ae8',
      '4ac55836973987343d4190d74c875cf3d2e6ee75c374bc76c9af220b495dee8b',
      'a820aa0dd8d5ceeef6f6887b25040e39e00602b20ae96cae781fe8beb111b06a',
      'ac0afdab3a14744e89cc5876c286787181d73fb45038f00c0bcf39e4901487ab',
      'be049e86f01da8e152da522c9a52f581d560b98af2db9f61aab22bd72cb9ba22',
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
  'ptq/calibration.yaml': {
    hash: 'ace4890b10e0a33996507016861f3abc8b296ef59318ad8d51d2b204cf69ff7b',
    units: [
      '701bf6a84fd481e5ba8485db32da262a768b41977d74456c0c91395aae89c38d',
      '4b559083cb8dce458ef425163d315f301f117e755cfc49091ed1a45061c27c11',
      '81053a31666fa45916463250f117cd539e755bc072e09aa6b241d75386691d6b',
      '633fcebcf40334478b00bdd7532208ca6dff3bfdbe8647b334c0a8e51a602887',
      'e7a851a439a5de8b6e08ebfff674dc8868aad4f63c6872f54e67abe323d610cb',
      'fabddc1850dc8e839cc998a93b06d34487a232ac897c1eba0750f9131a0a9b2a',
      '9851a979b3d16f6d3108472872e47579d9a7606272f58a11166800436692ae38',
      'cd1f5c87e1a7b8324c0701c5725911d435fc56a0cf3ad514349ccb253dd25341',
      '006c3b2d7147f11d42154e9e649aec3b666142dddea5b1dbd4ab4b261240ca9d',
      '8fc772e14aaa6f2e6f994e9e542680f5db4492cf1ee2aa6c4b85e9e3dc1c63dd',
      '93c9a1ef74e88766de7841c3c6902816dd02737e3410e5f48094c49b7444aa32',
      '804d24ea08eb577fafc7e8fc078b1d2485ba1a98513bebbd75885626ea4ffd77',
    ],
  },
  'ptq/methods-bits.yaml': {
    hash: '445b5882cb14e93b488dffbac2d79f8906c6352977a1a927ce8d8734262c37ad',
    units: [
      '79c88233c6bdeb43d41898aa1058d4da21a7c7307ff47adc72a0c9a48fa62734',
      '4c673a95a0f772d14dfdf4cc7f849bba8ac155735166ae2f3fe100e2652341ea',
      'a25792181aa9ff51daa3da45f2273857e9f4c9b9d26adad4707d90a0b00441c5',
      '62b2c8b653068d9174071e9a3f783bbbcc4ca3e264680017d0627c9793ba6edb',
      '28be5b3486fe58162020b8c30968bb3db83d3870ab200f6cf31491387513c27e',
      'aca742cd6657d2e0c2b23d8a5f47139cb1232c987a80124559dfedb1e8c75cb0',
      '47873c1434b027da86563e3e2f5b1ee5158b63aba1069bd11eebb122faf0b02f',
      '4eacfe4ff237bfec55e61a56080b0706d303e44f3fe1f32aafc1fcf7e54a91a6',
      'a9c9ac81749e6fd2fd6c80450226e08112f2ce340e0647983f3c3b364a788420',
      '7a79aadd9b70f211560ac59083b3ae2741bf51197d1cb28b2e5eac1b749ee8cc',
      '188e7b29aefd85538a0d3b088cfd6c8caace0502601bc8162e1fad4f5dd055c0',
      '0e0f22dfef9a32d8d8b89ad8f0de66a54b8da6fbc17411784bb216e9a4e5dd00',
      'abf8f416038455f1c21661b5a68d392566e08fe2736a4978d0b434cba5139fbb',
      '02b16b74817a95af45f6610f21a99afac70100399aa5c42155e0bb8bf057e07e',
      '462938d5ab2d39ce5d0296325d08537688ba2d620d2c302425c2d9d7998fff2e',
      'f94b593ad07d8b03215d6e64e9b803e8f6628e265b5c70dc51784a8e9ebb0a57',
      'f2c9628f50da9293d58e1be3f643630520f58fe3664eeb91aa2173bb040ef510',
      '05cbafcd35b67b1ecb74b2ef2f9aa3d24ba2e103cd61e8ae512dd7ac7dd510ed',
      '1d590a1bab4a1a46b6d6a4fde5dbcd84ab906aee6bc1b8d6e0c42b995a75c268',
      'afa2e06f9614f72fba8cc4479b32b5445a82a5246811e032a79aa157768fa6b7',
      '62e3dc196ce3c10596b6ca93df1c9c8e7992db4c5ed55b6e0229bc8497d08c12',
      '34a9f91fcde3fc4508f338d84cd70d5e1257daab32c3b8c8ae1b5ad5f402be8d',
      'cb293025e71bf0ee5b26ef3d974f31065b1d8638465846887c3e5fd5fd1ad4d6',
      '3ce6f61cfa55c92e4e43a105b5b7fe70d92b840fe02e754491dcd2d2f58a9880',
      'f6423ea6c69f552ec2a9b0fe7a797e477a00838b2e1b16a18658c850d9198346',
      '7f3efdfbad6226b9bed1efd5afa914afe08ae6cbc4dbf38fc2be30259c7ca271',
      'bc4ba1ef62facfc9473fca579db7b01897918df611f88d568426dd7cfd9ae1f1',
    ],
  },
  'ptq/tfmq-components.yaml': {
    hash: 'cd09a30a30bee99513dca7c8fa89c0c78e75fff14ea0f3b801c5d91ad6768b80',
    units: [
      'b77f14a8ac90dfed6034269f133370327ee7115d9064d4eafcf9a542c7e52178',
      '451eb729ba9fc09c1a8d297df1d141d317691af0779747463611393031d1ae83',
      '38b6dc03127f79a403b75ce8ec86c4959277b1de8d2ecbcf7037665c2457f891',
      'ec51913745c9276503aaccb78cb5f1047a50936b78d92f6441ce4dfc55111985',
      '73461d36f37f9e1add4847c74540432781af70d4b5d3d8e06d2341dd8be453e8',
      '11a3972df774563949d012f4a8813250616f3819099361ed039296f9c41fc2a1',
      '773144ff771002be88e3adb8becedf97fee410a98da4df5a09d143f8def1e220',
      'df13c6218edf2219bd3f7c3fb329391e02666f1ba5ededd8157c1d245182c5d9',
      '2d3c614c0edea020ffcbe470215d3e6459bd8ba72b3057789cf42b8b8f93a38c',
      '5c3a8158967416c6618b21b1dfd29ee00d714ee28878e5da2e0ff1499b4b9953',
      'd7c4e70f9da10b570abec90b355343dbb960b06ab8ee06b995935c2fc18aa91f',
      '56f2feb9fff5180768ae3fd1c225f190b45ae2a06db78153b129786069894aa5',
      '661fa4ae00749d64175b63b05bffd23348b906bfc93a4bc2f931f9af88b64b7a',
      'd4e2e9e4827a98486fd9e2d0aa941d1755bfc3fb9bb9e8d97cf5e7a9fc1b19e1',
      '3ed17a350ad416cbcb15695d246cd588d43e19fb26ec9908cc11f74478ec3911',
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
