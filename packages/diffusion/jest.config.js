module.exports = {
  displayName: 'diffusion',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
