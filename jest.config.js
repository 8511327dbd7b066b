/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  // dinero.js ships ES modules only.
  transformIgnorePatterns: ['/node_modules/(?!dinero\\.js/)'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  // One Temporal dev server and one database for the run; 2 cores: run files one at a time.
  maxWorkers: 1,
  testTimeout: 60_000,
  // The SDK can leave a native handle open after teardown (sdk-typescript#928).
  forceExit: true,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
