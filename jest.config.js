// Nest 12 is ESM-only and Jest 30 cannot require(esm) on Node 20, so @nestjs is transpiled to CJS
// with swc (spec/stack.md §2, §6).
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
};

const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj|cj)s$': ['@swc/jest', swc] },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|jose)/)'],
  moduleNameMapper: {
    '^src/(.*)$': '<rootDir>/src/$1',
    '^test/(.*)$': '<rootDir>/test/$1',
    '^migrations/(.*)$': '<rootDir>/migrations/$1',
    '^bench/(.*)$': '<rootDir>/bench/$1',
    // The client package is ESM with `.js` specifiers; tests run its TypeScript source.
    '^@omnigent-server/client$': '<rootDir>/clients/typescript/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  rootDir: __dirname,
};

module.exports = {
  // Global options: Jest ignores these inside projects.
  testTimeout: 30000,
  projects: [
    {
      ...base,
      displayName: 'unit',
      // The console's pure modules (no DOM) are unit-tested here too.
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/console/src/**/*.spec.ts'],
    },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/global-setup.js',
      globalTeardown: '<rootDir>/test/global-teardown.js',
    },
    {
      ...base,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/e2e/setup-after-env.ts'],
      globalSetup: '<rootDir>/test/global-setup.js',
      globalTeardown: '<rootDir>/test/global-teardown.js',
    },
    {
      // The CI bench guard (issue 12): `npm test` runs it in a jest invocation of its own after
      // the other tiers, so that nothing else loads the machine while it measures ratios.
      ...base,
      displayName: 'bench',
      testMatch: ['<rootDir>/test/bench/**/*.bench-spec.ts'],
    },
  ],
};
