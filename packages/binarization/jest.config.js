module.exports = {
  displayName: 'binarization',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
