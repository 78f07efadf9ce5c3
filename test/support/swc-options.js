// How @swc/core compiles our TypeScript for the tests: jest.config.js (with the @torgovo/* paths added)
// and test/support/swc-register.js (child processes; tsconfig-paths resolves the paths there) share it,
// so a child runs the code compiled exactly as the tests are.
module.exports = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};
