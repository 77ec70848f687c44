import * as os from 'os';
import * as path from 'path';
import { ArtifactStore, baseModelKey, builtinRegistry, loadRecipe, planUnits, unitKey, validateRecipeText } from '@diffpress/recipes';
import { DEFAULT_RECIPE } from './commands';

// Stored results are found by their unit key, which hashes the parsed recipe: a schema change that adds a field
// (even a defaulted one) to every parsed recipe would silently orphan every stored result. These keys were
// computed before the data section grew (issue 24); default.yaml's and the ptq recipes' when they gained FD∞ (and
// default.yaml the paired metrics; methods-bits both keepFp presets for either method) and again after the PTQ
// fixes (held-out rows, AdaRound to convergence, uniform ≠ all), issue 26 — their results really changed. They must
// not change unless a result really changes.
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
      'c1b14037e0afb620903e1fea6dac01a55628f1df271c7262403c4ffeeead669b',
      '8ecd70d7419af2522998bf03ff2148ff73098dc31e720b8ad8f2a0ad0360fafe',
      '0d13bd182dc5b64a2afc6c5aeb27f6067fb1c98bb20d76e770b5eefbeca925f7',
      '9dff6b5260d156dc8ccdc56da748a6a2ff5ed602bf952fb0962fd2dbe11fa3fa',
    ],
  },
  'ptq/split.yaml': {
    hash: '494314367bc98acb6edead52ef4ff80bcf133484bb88c49baab6e0193697b212',
    units: [
      'e5069dc1c2aea39952b21ee94a13bdb2c6a3b5be35eff80c8f9b96a1ba1d18db',
      'db48bb3ef1e637088ffb0151199d419bb790ded3bf493ef168d5a7af550bfa74',
      '9792cf401b427fbeb72c30d91ef30930b8f6ab3c18381157241942a7d689e29f',
      '55ec3853ae76152c6a66c4b0ba9f2ae2723127f05d158e7d20528ed474be6980',
      'aa78ad6509244a8926efd1fdbbc4fc20a06763f0128aaba8a324d615b303e976',
      'a7b791c1a3f91a0bccf9563c6ebb941c348cc31530ef40decaca2cd1fd8d91b2',
    ],
  },
  'ptq/calibration.yaml': {
    hash: '82ae735645857afe81f636af78c6f351f4a32e00268f0191395b5782b45a7652',
    units: [
      'e09cb6a4097e6c7ed2d5f5de901fe00919fe2426af446b024763c1a481d86003',
      'da0b043f8815ed9d2851fe1b6ba99215bf35932ec8de04c1e237f0d32add7f7f',
      '638198852dc2ae3e834a8ee9b358c253821347befd4a8e00f9ceafbb5d5ac668',
      'ab8b9c25bbe128d679827e6114ab9c91ec763ddabc457d40154bcd467322ac35',
      '809acb966593125e54b6cbe60238e036f9cae9d1ca4000becea322eb56390be7',
      '4874e17db37b714bfce719763dde8739a84c23423a8bb46c4af4450d99b3396b',
      '4ca174d9f6ad234d36369793878b84911d028d217a05d49dc348bbe40ec3358e',
      '59c880d14e34b6779739389b3fdda7a7484843340c30d15dd6f561b207b35dbc',
      'f40a9c58ec206ebe13c8e28c5b23df4651af8d7ce1587eed0bd689e64200a7c1',
      '5bede1cc4848d334743d24d683d2ac205e0f1568f272097a5a8cc4ccd23a25b8',
      'e0cbc17eb8e39108ce25e81af918088ce5ab7a505e273ee2c407509b47562717',
      '53f7eafaadf8bda994f4793466a421b2220078bfd15d274040491d0b47498e7a',
    ],
  },
  'ptq/methods-bits.yaml': {
    hash: '0c61ed06ec88a02569b3482db17bbc7ae05920b44bf97b5cec5d96a114bb19ac',
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
      '2a7d3ec8a8e788451c90305dd831b4e329d3480a8d174d323322021a24215f10',
      '81118fffe222d7dc686d8dce41dc2303bc5e731f517cf80f45637afa84035cb0',
      'a4aeee48d6f07d3b74ab55a40c177f694d520a477ad1c074954a3c646a26ad04',
      '1adf6a6920222ba4a216c44656b05b663a2fbfca871bf1f2a30ff10ce9614a9a',
      '394c0d636f9119b6a73cc3328249a259cd8b90ab0a946ac09bb82aaac4750bfa',
      'c6ddad09d601c0df495af1517d5b7e3e02f59e1807df1341fd8c7edf65438d9c',
      'b75377a10eb36de586234df718f8c7e6f1bc5d5652df13ad663fe988856a2913',
      '2475cbc23777f67197dc085c5096cffb930a9115ef92e5430b859de7cdd94010',
      '5305a0be8f78cbf6ef05b169b4e91c2cbe305ffdb46fc4d66713849e4f17a8d4',
      '2efc11ef29c00f13fd4012fc65157769b417c56cd364b91982855850488c85aa',
      '4babca4b6f1d2b623398cc86cedc6eca0d90539c0e5fabec8cd0b1b4ab32876f',
      '0dc62376c2258f52e8437a47fa8fc870a20d96189092aaeaaa6834c2194bbdd7',
      'e194502ca26e08b1de8ad1938000b1e521758346e4d7d9c762c2432a356acdcd',
      'f08eb120c760672ca201e857f9310275bb8ab2f0c2342a6987d2338d8edd0507',
      '6d0c71e9cc9478aa67115ce64e99ae669b946b1b18b3dffc07dbac5c95fdf446',
      '18d7dfe5b4f4a54c1efcf9c8e06ba3a309fd9e0fb410014d51164394052799da',
      '5e7555b027c4d73a7d70c30975bab594a0dce7d1f89c7c597d20c8977973c774',
      '014633c371527de7764b09c7fd89d89baf2b0f1209655ab955351585320d35df',
      '48f67df4a50b9753ac62e3c45fad6e7051247949cb6063691e999136b700b526',
      'cd91c7dc5aadba1c87137a36403fbe3b220a042b3e4e582d1e13c56c2b9b2cd2',
      '9a1c6147aac3f54e57ca914aa87df34c7f3f765d0ab1797128cb8ed20314d42e',
      '31f04683a423620cff98335e9d167a74aa144a8a86a5531e961405fb5a441753',
      'b78bd83fb9871a721769cdac7de3e1b1b838a4ef4ad78493847dc130fc84b5d0',
      '2fa849283a4b1fe5331bbed4636730c465d39eee05ae2481976bfbd94e962635',
      'e650223471206fa6a4ec4290ebcb7b3ed6be952819e3434bcadd7876ce92d42f',
      'ec3087cec3d8e63581353f986e5bd84e7b9af21a9eb76736294f964cb2ba30ac',
      '1d8e495b6a3dbb89a4f82b8b982ce5b5473455f1ac7e8b3f13d94db2198bc7de',
      'c96bae8f78561d717081eb2145d772e50c294e12566e1d0f7cf7add097317bcf',
      '81ce09228a3a1537aee9db8c3192ee5f72de30d35fb52e19bf6d0a2ba6e88143',
      '7751d2a4db77b35c18733f2500d235a3148e761cb88b8abf10fcba5fc25b969a',
      'f1d6b5502cf24fba43e2bb07f8480a42f9f3223b7949226784e4eeb68a0f0a6f',
      '2abc37213a7d2e177e7926fca9201db29a8c8766211d6cdaeb894de893910123',
      '18e430c1d8e608c0cf8270ce0bcf16605890a2d3eb0fe631e61e9d59d366229e',
      '4c2230aa41282943cb1ef4496249ecf1772dc0e2efa3d04f91a63f2abcef2f54',
      '372bb46b1c01eff90991fda605d8c1c4f040ea6763920194fce0470224c271f6',
      '5ac3c767d5f80eca64f65f35e132f15c77ec3145288da6282d0021ebda947104',
    ],
  },
  'ptq/tfmq-components.yaml': {
    hash: '7802be25f80d26517d8446103e995bdb0e865c96673ed79e1423264c9be23120',
    units: [
      'b7c861050a91012d018e0dc8542d3b23913e9b5b73345dbf71a2fda40a9d9c49',
      '61e1d0327423971af0b3a2275c49f17bd58ec94e61f4e2b8208495cf201c140e',
      'e36258a0907cd663323c9e5a251bc053d875a8d0d229ce9104060088786b1112',
      '29fdb318c9a1a77041cc999b229f06816de153e84039461bd9f7de74aaea12c3',
      'aedb8a5bc65358cbb3614fd541c07ee6d59226e33a290a607e41c858cec9ab20',
      '38a8983afab6a9b9104d94ef7982d22232ae8cba5c8ec8734145f8e5f41541a0',
      '3f63e9eae0e98ce99fc610ba5e12bfb4e608a5ff7e410ed1989b9d19b53d56da',
      '83b4c468a2c5c0dca9e05f0f9d0f6631469a7301d01d6ad9a349812e99d17751',
      '6fca9b6a18134e6b12f509e04a04c996768ebab2fbbb438696bc2d1fa4b7e3e2',
      '542c08f72dcd4b461cd4faa8ea99310fb9a57d775e09f92f1469732952881663',
      '0559f9aca6aaec6d94407ed13cc636c7633c9932c45f4292718d574d84ec6557',
      'ff43c885152cc9f530980074e38300408d6b1cfb858f7f7e64a84decf87798e2',
      '759bd324f76a256731ccc965ff8b2f671bef131513a40aeecb5177d532d06b60',
      'ce1e06ac32825e77925d742f67aed391b2b0d9a4fa6c15bae7fdffec8777268c',
      'de298f212e2c6db4ae897ad1ea77275349213249b0c87f66b5ddead699721c5d',
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
