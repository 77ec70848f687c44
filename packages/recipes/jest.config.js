module.exports = {
  displayName: 'recipes',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
