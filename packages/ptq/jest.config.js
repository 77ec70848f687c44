module.exports = {
  displayName: 'ptq',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
