// Nest 12 packages are ESM-only; @swc/jest compiles them (and our TS) to CommonJS with decorator metadata.
const swcOptions = require('./test/support/swc-options');

const swc = {
  ...swcOptions,
  jsc: {
    ...swcOptions.jsc,
    baseUrl: __dirname,
    paths: {
      '@torgovo/*': ['libs/*/src'],
    },
  },
};

const common = {
  testEnvironment: 'node',
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|@noble|@scure|file-type|load-esm|content-disposition|@fastify/static)/)'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', swc] },
  moduleNameMapper: {
    '^@torgovo/([a-z-]+)$': '<rootDir>/libs/$1/src',
    '^@torgovo/([a-z-]+)/(.*)$': '<rootDir>/libs/$1/src/$2',
  },
};

module.exports = {
  // Global only: Jest ignores testTimeout inside `projects`. Booting an app on a fresh database
  // takes seconds on a loaded 2-core machine.
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      setupFiles: ['<rootDir>/test/support/env.js'],
      globalSetup: '<rootDir>/test/support/global-setup.js',
      globalTeardown: '<rootDir>/test/support/global-teardown.js',
    },
  ],
};
