module.exports = {
  displayName: 'encoder-propagation',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
