import * as os from 'os';
import * as path from 'path';
import { ArtifactStore, baseModelKey, builtinRegistry, loadRecipe, planUnits, unitKey, validateRecipeText } from '@diffpress/recipes';
import { DEFAULT_RECIPE } from './commands';

// Stored results are found by their unit key, which hashes the parsed recipe: a schema change that adds a field
// (even a defaulted one) to every parsed recipe would silently orphan every stored result. These keys were
// computed before the data section grew (issue 24); default.yaml's and the ptq recipes' when they gained FD∞ (and
// default.yaml the paired metrics; methods-bits both keepFp presets for either method), issue 26 — their results
// really changed. They must not change unless a result really changes.
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
    hash: '61c34925609d6562f913c2bfd7dc718f0abfd7cc93a9b905f2b0db62f1dfb2fd',
    units: [
      '666e4698822b86f83dd209d27b812b9b637fd1a7a6796dcbd1123462edd1bea8',
      '8b74ba6a30d999804395eb7b3b62d235c5a7385bc4dc0cd6f2863194d0ef4ae6',
      'd8f46030160d07deddd652f7c1a48f59dc26dcf5cf5e52990a1d7fa72116f018',
      '5ca58a78d4df31b0706edb67379978457acaa9ab82e6a1776a6fcb3fcbd78cd6',
      'fa8698adb1d28e041396e1bf730cd1127bcaa8c7700615eca49a3c19435529b8',
      'b193c1b478443c653bce0e706f8f2df3215ecccc32a70d9485954da4e89f1d3a',
    ],
  },
  'ptq/calibration.yaml': {
    hash: '1c3ac7ddf0fbb642190783e853ef9a83068a8e49209de3be03678ad7aae6989e',
    units: [
      'e044787f6a679864a11d8f402076060b49d9ee75dc4592a3ef91f8fbcc055dd8',
      '2abe6a150c3e9620375d799cebb1f3c0f41c6b819286798a7620dc868dd34143',
      '3bedcb565f5a53ecf9dd1f13557cfcb6cad666f279c381497933502e4b4c43c7',
      'a06431efd761765d54ac6c6aef9d0fb836a9e185dd813d0c34d921ca704aa324',
      '33c433b1b1c67115a0f0aed76d187cec3e070da8938a0aaa17ba41e974b7acbd',
      '2aa719f3725b1a29745197b1757f3480ccb82b047910e1f3c92ff5e7274452fd',
      '0f807e43f2e355765a671e98eb4f2817de25f805fcd1dee56b075fdad3c31eb8',
      '7b581419bd75ae2dac184eae00146415935ed65ba5d6ba0a6ab54ace5f798f09',
      '3e82a6c325455f92e6a1597733a44d5093e13757784edc695e5076bc3098e6f3',
      '3e6ce003f9115ee3e0267977d31caf2687e28ab464781f12a6bd68d1cd9ec681',
      '616af79adec7f5ce78101b5b76bf3a46f932a58deea31df1a4479c1cd72ddb58',
      '379c2a8c6c02a691311b8fc767b422ccf895944ce89e0e0ffe31bec2d3693157',
    ],
  },
  'ptq/methods-bits.yaml': {
    hash: '41884d12636a3c078a2be08e3ef992535582570480dcbf18cb60f632b14173de',
    units: [
      '79527fb6ba187413bcd364b563717c5d4c3a6a6bb5d815891f90c83f8047d972',
      '308425de5e64558623d02d144a04aaaa476fe50cb3e15581f4e649203932392b',
      'c26e1872794087be826d85b7f9e00169475683e633f612d49e44a5443459922f',
      'e1ca5beab7b5e23730c1f13356253685695c02253425b27a41080f28b16997e0',
      'ce9a204002fc2ef40bf9d29bd2889d28860d511a73000518c4cc4421e059c2df',
      '1385919d6d5b5a9907ab1b212c1dd1de0b02029271452903e410dae0e830bc1a',
      '33eb2dc265c608ccd353681b5ee1164935b96d43dab130f4e7cd8b84d2609682',
      '0f39afc7b6439688973244745dc9937a2d19e65e571f105fa114583a2d8614dd',
      'a3e98ed8303a29abb26326d9a646ccf27170b9bb6019d0c390f6f7e65118ee01',
      'a6ea6ad46d66d55e582892cd1918a92465bb33c3d4e031583ea7f98ad210819c',
      'e2e868f0c728b1a5baca7705077687885d054c1fa713955e84e9045f18dac560',
      'e176d2fc0d0e8122d1588da65d6de0f35d85aebf1d14b476193fbdd9d34f66a6',
      '861ea666d236060a3e9f7f6699c70aded3aab5786455ee2ff3d5149d6b6f2586',
      'ec5f065f6dcf617777d89012d69ba1634aaa3e55fa8b0c2b8fa63b2592638227',
      'ef3144445bf6f7c45b26dfee0b1628747558dc2b06dc38fe97f78cc3958f8ace',
      'df8eaa22b595b0bee0d15a2e4ac4987b33ec406b160e5ac7c145fc0f0c32879c',
      'a3d0e1a79f0843133a84cb2b580fb9989ad18310b89ce11f5e819d2eac89be0b',
      '1f2e08214298e767bda42d995bb3a1f94730ac8e8b3ab19a67c19b2c40d65485',
      '7a28db03225e5274a1f3682751b5c0c186a3f6f3995093ec4178f239ceb59198',
      '87c9c0154451370470d313d92149b60b14c344e91d3ef581125e44f1adea6087',
      '98b15f9ada7e088037aa3ab54cba047bc4104ba3e7adbdc453692f7f74d47c31',
      '8085c4ba3b44b504428e1acce059e4a3681832b779147752872125628c6fdf5d',
      'fbdcdf609f716ab8730b1262cd2846269f162d84cfeb03c53b438adf2b78198b',
      'dcfe965b7f9aebe3fee2d91c2f9956b0f145bd88c588dc44ee7b4937a7042992',
      '6af3f1f50fd94e0cc33742d4a15c3e836df26c0bb328af2f2aa1a9586ce9bf44',
      '14f734ee0189cf7d3fef4840f34788bb5efd76fd3b893c88af980f6f1aca050a',
      '139e6873d82e5e653a02f18c7eefb3f67449c46aa728d8be876347d96a8854f7',
      '98c033d6001def40fff18efffeb4ac0d862b500721cc6a4abaf580e93c23eceb',
      '432fff9051763095031993a1a81b0efa94816d9460a60ea3f1e7643e194ae2f5',
      '87d9701bae75e97fde90848e2f52b811637928e717539a645d03b1789029cc4d',
      'ac595a47f2eaf5c0ad1b568bb416b31507fa55a7ed230137c4b4a669f32ec45a',
      '7f9e64ebce1a9f81b1a94a3df29a7a2febdcebbc41300a3fa1eb8cfb2fc6f63f',
      '41e5f971d9813f541015d05b0f4a370b83a09fe546f8f21e269a1316450908ec',
      'c1211dcc805c992d6e90177a3ae1640bf37799801a9386319741850fd87c63f5',
      '36b98123a7cd730888ad3cfdb15fa022044d0e8d605dbefdb6bab0fc54167332',
      'aab07ac3f82bfef7502ed9241ffe08e1b23ee78573a71390dc0f237401bce8e6',
      'bd74b3baa66614b4b29aff4084c5672b5e45f0c506e46583a403e8b506b88875',
      '7527fb5351aa54145954cfce20c76ff26525229a10510e4ff8b00d8842579a0f',
      'c76402e36354e20b47b6952296db3f62552130df36449ff397d7e5d40911ec47',
      '2af4577ff53504f908528ac5f34abeadfbd2ee33ef6e3f0721575d3c8754a9a1',
      'eb40420a7634a2aecd05cdb63b4b91067221a2831dba328f3e4b3be50fb2dc97',
      '5dce320a1b5bcdd97c42b4cb4bf1d67b25cb9d665f2cff4e51f63661a5a09a77',
      '776b9e0d16ba00ac41c9ef48b90be973e6e49c2bddb0f2ac1e3a72bda09ef89b',
      '0f466bc89b3bfcd45b0d56a03bb203c5c40e7694109fe59219b3bc98e9540486',
      'cd80ce389f10a9b787a64b4e4156ab9ceabc59019cff68e28b09bcda8888f6dc',
    ],
  },
  'ptq/tfmq-components.yaml': {
    hash: '33d093743860acf6c14adc36bd1f1cf6072a5d1c444557600cbf10a58088e165',
    units: [
      '7af27d55b3336cb2f6ece36ef8c293487ffc4f2152a99a3545d92238bea5cc98',
      '276053110f51c99c736af8a95678a9fdb2b8ad9c627d008dda8accfcb4009cc9',
      '0c70367718e92dbe7979db54beebff220ba9776f4335d48a7c201783f8b4d88a',
      '615d3fdea5af20977e8303f8676e80736db40ba090df87b4555097986ea68815',
      '926e286073aec1045983012e5ed925a9e559d747d2929cd4e448ae5e8b9e57f1',
      '61feddbe120a00d0411abdeebf4f2036fc526eb14bbd825c1c90a1b68d2e42d1',
      '766e9ccc2b45e85762b7c76353dc58a7c92636d86a2e9387bbc92b4cc0fde8e4',
      '6ee99f77f95867ce120c0bb96077f8d4d0bac20d23d7ed29554c5d33705339ad',
      '1d8213554a5ab342621990fc871b79853c088e576b5a1d0703884d20eb3f3cbd',
      '5684856bb26dad72b8445b9ddb05b5c52c40a45b3416684ff6fb2ec304607a77',
      '9ed0e54e05eef81a5a0c728ee706d6c871d3fb6d7bab849654daeb5a09e0b911',
      'f7428db34b1a0fd48ecd7ff50ec24f6f295cba7256a8e9b358d0f1fcf37d99fe',
      '8008c7c9f8e564f2cdf404ddcb53b9d31bd706cda89c4f50d92da792232a5159',
      'b3db9b86dd028867bd996dce8d9e18393a74e574be93707898a6d11a60cb7614',
      '141b80ebe857b225ca04ed86c00fa31d9e7eb4c064b3da592d5d9cb117a2edf2',
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
