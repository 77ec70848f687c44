module.exports = {
  displayName: 'experiments',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
