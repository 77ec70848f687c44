import * as os from 'os';
import * as path from 'path';
import { ArtifactStore, baseModelKey, builtinRegistry, loadRecipe, planUnits, unitKey, validateRecipeText } from '@diffpress/recipes';
import { DEFAULT_RECIPE } from './commands';

// Stored results are found by their unit key, which hashes the parsed recipe: a schema change that adds a field
// (even a defaulted one) to every parsed recipe would silently orphan every stored result. These keys were
// computed before the data section grew (issue 24); default.yaml's and the ptq recipes' when they gained FD∞ (and
// default.yaml the paired metrics; methods-bits both keepFp presets for either method) and again after the PTQ
// fixes (held-out rows, AdaRound to convergence — 300 steps at lr 3e-2 in the ptq recipes —, uniform ≠ all), issue 26
// — their results really changed; default.yaml's hash when it gained the two encoder-propagation rows (issue 27; the
// seven older units kept their keys); the encoder-propagation recipes from their first runs (issue 27); default.yaml's
// again when its eps-mse went to 32 trajectories (eval.epsMseTrajectories, to fit its ten-minute budget). They must
// not change unless a result really changes.
const PINNED: Record<string, { hash: string; units: string[] }> = {
  'default.yaml': {
    hash: '0398b8002752223d6bfb4e223fd8338f081b80ec5f258ae5ea8b6a02c840098d',
    units: [
      '6acb5abcccc608774eed6b7e145a6b1496c978be895d55c9d4ab71ba91f54f81',
      'ef19857098d2f45378052c9c789fcb94e6890d0885b8f925170fba65d0e2bc1b',
      '98f6a5c4bc66437d1c68da1633e54ce53dc75ade73e120d6f0fc2531a51eeedd',
      'a9cba14dcfa7acaa1a28e093180dfe4c760a6bcff977e588ffdea6f526a98a9a',
      '44ba210ab39675f017fe25e3c642e19dc87bff2e3f4e69f9044e8e4c54be76c1',
      'b5db33c3d376f5acf49188612a4df3583a733b221082107e22d3a988c8f38607',
      'ef6304c44cdc413c3131eaea94f228bd479971391386969b7e881823b4657090',
      '4b70d3e244d89164c2ca16c7e29a311acd83d6502f6f8b3f13b54ea8bf5c83c7',
      '3172b1b3c349234be6c3e32ef488318abaa09142545e78484febf66d1344fe4f',
    ],
  },
  'ptq/split.yaml': {
    hash: '31736b2144fe17e88f869c961b70188581259218466b755966d47e85b986e24e',
    units: [
      'e1782c398d4fcad6e6d3b74b32f320340c15ef1fc2ab6c4894f4f99bc7d30243',
      '1890595bcf5684dfeabb72008e36399175d70d54b6d98ebb60ed5531a0fdd6ea',
      '67a1b237a50db438a90af491b1912dabda87e0a6b9bbdfa0db11790e0dfc6d6b',
      '9ecb1988bf0c0b54413e908ea064c0b2c7f7f594ea74daf9b4dc1b57cb48f155',
      '9cf40fee6a7a6e767cd506d12d4bd5ee14725196a25a2ea7712aa0d61ce74d3e',
      'c447a7d7b3bcbacf2dcc1c6bfa3f89af19abd53171b56387f124cacb30a71766',
    ],
  },
  'ptq/calibration.yaml': {
    hash: 'd564d960081c2e6ab0c2a0c9983d313ade001678d244d870094af480ce60659e',
    units: [
      'b0d622641d8e50ddcd2908d80cf9249b339ac921cfca8a4ce8f02693354695b7',
      'e05e2e4d3b342edeb204f3a5ab20358f7a15b5d2000d2a4a1ed63e72a9411ac0',
      '4afc6247244901cfeffde2f59eeab16a161cdb2b5875d8801dfc961f2e3c62f6',
      '50dad5ba306eeb4146e0a9cb02c58f3af7ae1819284569ae714b89e4396e0f4e',
      'ff0afd24a61f81d5df15b78f8bd1a4452f395281a5f4d09b7e1f625024cfe68e',
      'f78b0e3a5018a1a3d8c6392929181d434413c87f2bd02944d358b945cbf74bc2',
      '97b59832ae4576d98dc485131a73cfa82e1deb2c2e323edae9f4ba492d5fca8c',
      'a2753dac33eafdfcc644ab9e86e89d5215605ad2eb3c44939b351de87efd5fc7',
      'db4cf4464d6be6e80c382e742f1b653bc2d0cb6a89caa794e4501de43ee7e16c',
      'ad6704cbca31baaf7250054bbaa876ffa1df87828930968d0c3a58abe8c2d5a4',
      '505850bc0544c0cc823076cdb490139c98736e91b5edcf810b2f82371c518f23',
      '5c9690219dcf6978db8b6e4cb7b5ef0342c5bd455ffbe65308586ebd4ef39e39',
    ],
  },
  'ptq/methods-bits.yaml': {
    hash: '94d4141e3060fefebf1ca082c9ceac2e8781c4b032389cd630dabcdee6ddddd9',
    units: [
      '6c63d0b5a1096f9cc780b41b14ffb378b271af6923e3317aaa483a1b76a115b1',
      'c7179bb3c8b7296f78dbe2c518c1866971ff287fe3bd6e881a7b2e65bb08a41d',
      '0d4c811fb5e7b78b760809e0f2defd499c662b762bb91792540c8df2737e6c93',
      '6ae945c9a7bd165bcf11626eefe7a176e5680f0cf353f7f37733f56da5e27dbd',
      '0113e684c572a6f1c1312ca77475520365f3bd9ccb0ff7deb3050db7bf4a37f0',
      '91589fe20cee02fc0f0cc45a227aff3ccbcc3728bc24e8c4f8b3bea535a8e54d',
      'a36ee1ca5c2747cf60ff68ab4a8fc0f7fd67fe13d0e814ed5131d68dd2ca9264',
      '2941e36076dab33cdbcb5071b48d109fdac146db657f5149dbb3a7a21ac3bb87',
      '7f388242a5bd47a6623aa69bb346aa6a38274fb0ed8e151ca98d132e3fbb399d',
      'fc49828914bcb1a0f3a7ab4244c582776b93452fb28b805910802bdf45670024',
      '784ad16d8932668b0feb5ac1ca091d7c1f36a22b334b801c2270abf518953000',
      '4f7dc87b9d8e249ef3d9a120394e2ced145e0a5d3698bd6ccfc8733a8db22c05',
      '5f47711c30159a2ae7b477e7f918a8466fbefb38c7f26575491c838e03fd705c',
      '8732feecbde4a9fef8365ed8b95e647e0fd844096117f50c2342582193b6cd72',
      'ecc98713cf07e1add2273a82af6386d73fa203d702ae8844420043dd4cc5a197',
      '6f16156c6534b0568a899b93342071b28147e8e239c3d28065f0e209ebae5073',
      '944257312debe638e3a8974993e61445728f021bc2185ddf9c05869d7d868eba',
      'b02bbc25731dcfffc2cd04bbaf2714eb8d03670aaf1807954801e4408fa21ad0',
      'b4c9d9c82b3b965e111868a0037244b6698d8c5f0b997694030ef040f58e6acb',
      '0f91135b196861199efdb53dd0630df7094090044cb9536a2b3a00cc127bc5df',
      '14120e120ec797ea9e92b9da4d925107f31dc6f4864577f43f37b849aaad876a',
      '0e39258a3f91a9bd21655428acd7eb3ed29279164e812098277d3d5ab1ccc384',
      'a3b9c14a9ac5704bdae27ff984fc80b1fc25cb570653947b5ac9ff29863cf34e',
      '6303584ddd62243a1c2e48eb05b829c3f5e1e9061aeb49cd0f0340e50ef1efb4',
      'd0b4ec26dec5bd4bce415d1d141b18acd6c03c30a9a7334a1d9fc0e4fd865561',
      '9fb11d84b181b95466a1e6b70f0e077ea002d199cbea3a134f1c4f9f685ff8bf',
      '86a66699b2c7a1ebcebcb24366a5f7fa22297b65a8b412b13193787d986304d1',
      '924570d402624e1177f2e3b84cce251db475318b9c9c3f12a61b2abf836cccd4',
      '4b4b36c6f9df9f271d9178918c3cc6642aeeea3ac85613ae65227714932f043c',
      '7c3db3a1ecead7680061a44bfd2b43c902269b83082e79cfa46734ca4a0ef360',
      'ff1974006aac92cccbcfc3a8f4722262be1e55219c49a1597f913b505c62a12a',
      '6cd743dc0855f85b6d3b054e92ae3888daea0845d2b95c18c4682b8b6caa0d83',
      'cffa15505727c713c278bff3b8222a28e65f6e92e034a3e3d61ce9ae0724c3fe',
      '82e8bd80bdf3edf99afd60bbcd44d38ae2dac2344ddeb0f515319b9531e39295',
      '76e20857e3d74f1255f040dc0ca3324d59540d59ea6021585a6f5f8933982abb',
      'deecf7def07bfb7fa9d237fec704f3b35a7c18d097e9f5bae70c4834e6cbda40',
      '252472c60709155699c6ba17940dd0a13a719ae5884f6a46e371d4513b5d4b3a',
      'c8d339261e4c3eff83a14b9a4b3e436884688ca8fde0053ccdced32139e85dc4',
      '8704d8474fda44ad9301e90056791f0024b49e212ec966949757253d68b1fd7b',
      'af32f85ceaf395249286943bdaeff5b4bd4997e688de98e4989a5d3f0330b8fb',
      'f3c67bc5a0a6474a4db882cebf19c32dcacfa304b1ecd04d6e0587ddea275dbc',
      'd9d2a891da3b9807e72a853738beb95fe41a428fa46e8b1dee25738185accb69',
      '730a6362c1b5b289049a9cefc123ca0a082e34be4c9e1e4426099615bc87ba3f',
      'dfcb7ed7b5c1530375c45b871680f28dfb7fe773c74056e957af7fe033e43190',
      '7f9cb5c0fc23b091cafb451176f20cb5b28d6e16e064a15300a8914a0f526413',
    ],
  },
  'ptq/tfmq-components.yaml': {
    hash: 'b20c97a42fad477087d05c1187829c4057f6c641a16869335e67daa8c284480b',
    units: [
      '2d0a93532edd19b78e7c5fcbcc867c08aa23b668d0b8dd3b7bac29b31b04cdba',
      'ea7a64361ac5df54070b622f5a88670e7ffae34b90cb90a4d2d741e6422dc861',
      '6aa97bc4c5758314b658eba901d6e6696204e37a704d53fcb277a31715f0cf68',
      'bddbe814c6e3ea3a339ba10c52c49cf2cb1e35d4a46fc0d63caaf3d33495490d',
      '0962a686f5f7302cb167623e52f09d95bfd9188cb664f9c977bb0837b620b5f4',
      '3cd891b8c16263c89ba10b956ba1e6017d21c7961ba62d16be4c6a5a5f9894ea',
      'dc631d7d8a6840a6fa2e82fd2d12581001bdaeff9061376453842c6aa9c47324',
      'd7f1b3fcd9c591f7e661a4c9b52d8f03ce136e4fc73a0cc4d53ae6f7134e8da8',
      '200ace988c41e83a7030b9a8d1f9fb23578e02f3cc0a4adec818d731a1f9e74e',
      '4f8696426e3019ed805e6fd1614d8bae6df8a7f65a5c5c74bf959cdb135daf45',
      '6a66e1a7f7f4eefc9c892f5e065ff758abb4976844b75a3414e41ad02327ba9b',
      '846012fcaaa87deb176520c8a7fff181597d17327b5b03eeac2c1ded7664d9f5',
      '1061ba4a5d9e155cbb2cfb24ca6120f4206fa2f49f5a44342ca8f6d484d64ff2',
      'bb0f97766852246ac9b2c76a22d6aea2f2da3af2e6eff1651b6fdf1948100da6',
      '5145b0f8ffea92acb6270f64f2a84951babd8b55e8efcd265e81a01ae04fe1ce',
    ],
  },
  'encoder-propagation/faster-diffusion.yaml': {
    hash: '94d4a52eb5728c733cf28f4e2be8d0b19f6fadb1acbe80668a3c5a36007acaea',
    units: [
      'daab645177dfbe40a4189a3f5ff11fef57df7862a4f0411409d16755cde8900e',
      '33559fe907a0290a810d129cf58b380759dda6e9b87cf6d8b2c1c10a3fb04085',
      'faa644982ef3e0e7d726711844a43390b984441d02876b0d574d49123e711d8f',
      'a580ba4107a29f477df4cc8e78198fc64cdaa571393c30fc93f416c0ccb98a72',
      '9b6d07b0b5047277a155dcf698176bf0d60730919118156aab673ed790f2079b',
      '8a53e6f0112fc2277aa293c620da1f1d3386e79f486565d56bebff437cdf59ef',
      '302d3c172ed58b2ca897e595f546ac8334bb6fb7cbd9ab23c8e226bf75a303c2',
      '3250ab3608f86d06bbe29b56e87f3ec557ea2d9c344bcb67a2047149992e9176',
      'ab81242b41c244037fcc731ec38fcaaacef3095f80e3002d8113d0966385bee7',
      '3ba443cc1b77cffbc14a8ecc24780c25d6df2997cea54cc8d8690dc4be7add91',
      '09bd544f6cd9d2277719b1e09b1eef529d6160e22df3495a85150303c9e7cbd9',
      '896117a129a988fe9c8aa0faffd6fb1633b1109457b8417228578ca465a5aa62',
      '6129fd110f4b637c4b908966a869bf87715b160670bbbced993d1abf4ff5f1f6',
      '9a73ed399ab3bb34845a15186b8ceca6de0f0fbb5998b2611ff111313e545fc0',
      '1798dfe1a03ec986864ee8a0a3d678d42c7a3143c9c1918632f3114962438f10',
      '0940403fadb3aa5129b09e7ee9002d31a08c590ba566612130220fe333bea060',
      'f9b0c4714cc9c4e2c7d2e6cc9ee3de16a9ea4490fc37f37225772456d8159d41',
      '0791f88263ed098d0697cef784970fa11c229fa6a599ced01f7e124706e397f8',
      '078fca93f81c01fc63f05dedacc27c60ed29161d91623bf7b2b142f5d03a2e77',
      'c2dc71e71082c8b4999450ca6587ec37c8996030496b0bcba0787362a35999ee',
      '090b7facafffabab23f1033efc38739cf880155df30e8ad209ff7120f138fdb8',
    ],
  },
  'encoder-propagation/deepcache.yaml': {
    hash: 'c92bbea9e264c88106711f23fb3075e5037222a50c46137d7d2098ca596583c1',
    units: [
      '40573e4d73d510519b6b5c9f16395ac7543c92a5ef1774adf155c8817058fc9e',
      '1818535aa9d8f1697c92ec2b958497b623466d9160f4169b02fd366133615787',
      'd146bcd54c63b0297fd74c23301166929c0ea433c17751313aa2dd7b8ae52e41',
      'b2049b14e9dd5f62d0b787807ac31cb1940e2a0e06eba1d1952923deca2fbe6d',
      '0b4952492f622dcae46f387e43935b602eb3ab2816f03c6a1b3c7da47e04121a',
      '11b92a2981cdd89d71fee7c7722933d07c6ca4e241bdbd34423b46c224e7c912',
      'c6ceacf5eb6468f6617a87da5713a2a1d8084a030d245dec3cc70f20cb7b9c07',
      'a10edb1a93cc1b3cbf3b7af3c5f7bbf8488666aa0b33457836bf0ed279eefef0',
      '9ffeaabd06da7367423f6305f320e671e66ae9de6b46233110bfe2b2772e1870',
      '83caf42546acb854f8e8d5e05d46c387c303e1dad1f71ff78c1b7f4a5750ddce',
      '4df8dcfe7d13565a421039fcfa7f634e6d8cd30b62d6ece4dc49444e77175c09',
      'c01a4bfb17a8141aded087ddb81dc4eb20a8ecab72a5739f0f8eec3f58bb666f',
      '381b1cfb55f9ed21a85e13f2e30728bc54c716b5acc30f4c8d251045bfb9203d',
      '7fa02b217152710a4ac4c2908adb92c9794b92d601f822aa87864ad4b88367bf',
      '7a2a57950544d6c80e8dd0504df23c63d1975f7c0b99b0fcfc722d2290b661f8',
      '3b869270e393da78f2677c43d3ef322087837bc3a59929af54f10a1682d0c4f3',
      '0d983e579356eb3ef1bf9a29ef137d52af6465317912e9d3c890feb12030ba54',
      '0baa691763a0b3fa24db1f45a7051c5bc25f2ac96e2661aa99ebdaeb12b3fd87',
      'a48ec86f77010b3a16c29801aa9e6a55677103853f8fbdc604fc0defd3d1cf93',
      '2c8904010f6858970c748a1fc5280bd6512a07f946a06276a05df2b541748981',
      '2856db187cd15c20ecddd851cd4dd06fcee45c7f669adf9498626b05a6629025',
      'bd5bc124153591fd5622b15ac0a47cde134b3186e39b6293250efc202a68ec60',
      'ea1a5ae3a4f4d04b69f78c9886a7f0c361f2a81d4dfa08f329fadbc32a7720b1',
      'b292c47a9d01cbd7728f000f1b974923dc8b81fa36e0468e4a73067bbccc6140',
      '6489f7281222b71444e2d022e4854fdf5d5d419288e388446e41de4797aaf9ff',
      'ba8e8e2e470a7548270cb0962765c4220f4ad1ed4650e1738be98df191f48d6c',
      '03bfa7e783fc079f96b894a1cf80f57a692e893b5a639abc5a915a7bacfc7128',
    ],
  },
  'encoder-propagation/composition.yaml': {
    hash: 'ba3bc6aad4c618891ef178951104a87e4020e55d7839d69e0c057ba5a0e3a771',
    units: [
      '4cfab94ccf72d215079a55ba735163a50d712c82b26104437b5cc335adac1145',
      '399a36ace642d88abb984d97cf4b127df2a3f811b43008ea4f62d7107cf59a2a',
      'e301ccbc5957a066fdedffc68d7e5cdc484c6e24905439160dea771c076db0b9',
      '715ae571abdda43c3e58ae3e0400903bfb2d9746a4e25ab2f7edd675ed0b2ace',
      '11f0743a8e176d74f0d986142adc6e0241cfa405d3c2f7c1f052dedd0f2de6b9',
      '46bd795cbe8d89583f884f60857a3a1aa13626dff0bc9402d49faf152684fbde',
      'b39e8678c2512a5742c87e7d6cee3f717fc4352c2833db904f0e64f3b295f005',
      '1a0fa88bfbd2f6a11f96d7445ba435b5448df6d50b5437e9daa5319e2399428d',
      '62b619606fc7df1195274cac65933e2faa14a83eecf05927a2139ee8f62424ce',
      'e44edabaf4c358bb5d0b81eb9344a93ecb555fedc0011d88a92675f096cc74c9',
      'e8a2c6a5af210b2aa10a9658af19e3e51e9944e2a3c2376237d9ab7332cae0cc',
      'a86c7a1345f30dd04b1292be89bbb29ea7b65002430885ad914ad7982575398f',
      '296c5b9012a57e6d4267ab0751892e890a06c83710f024aabcf8fa2e691a1c1c',
      '1cbe91e8ef8bbe364096cc0e193caf5bb5b0b476d8cb58efd420ec1508b9fc2a',
      '58a00d9a3a4c9b6aea84fecc6c32d9ef7c4d0d2c900dbcda9b409fe8d8993903',
      '79cc2a23f93f9073ddd26461c724256be860c898ab9073969b103164aa90e09e',
      'ca65183874f5673f0e7d2897a3e8cbb09b236af0fa8b53c85ad05667bb0ac8ed',
      '3b3533b7b4f18248db68180f9590b264c90d86f1cc1418a9c47aafb55d059bca',
    ],
  },
  'encoder-propagation/timing.yaml': {
    hash: '9edd937715f430491807e95a6a2b0e979be863f6b148c14e2a292d4852bee1ec',
    units: [
      '1bd92382a6f1c8120a65aef7fea9581302b3ff720f3dc22a548d94e9fa7eb30e',
      '3c60de239ea260aab98f2f151e11c8048c5799f12f34736a14646f12cf1d3d98',
      '56fb2e9abe7198ddf9805dfca8b5958f71f4b32ecfc2434efaa964bb94feeb0f',
      '05ff79acf8f5e2609729fcf974130b412c0aff85b89538ff03fbd8f0510177f9',
      '432d879f59a07b242ea05792575dd648bda9fc6134572e88c76091717ce031a7',
      '5cff2d2a5a679ac5028abc32865aade62f6b11d67ecf4190e5e021f234221a7f',
      'b1a05d1207a8a1bcf1f407aa2322848ccc65ec42f6068b5797d02cbfbb3524d1',
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
