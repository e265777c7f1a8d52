/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: [
    '<rootDir>/runtime',
    '<rootDir>/gateway',
    '<rootDir>/subgraphs',
    '<rootDir>/scripts',
    '<rootDir>/tests',
  ],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  setupFiles: ['reflect-metadata'],
  globalSetup: '<rootDir>/tests/support/global-setup.ts',
  // Generous: hooks start whole stacks, which on a loaded 2-core machine can take 30 s.
  testTimeout: 60000,
  // Integration tests hit real PostgreSQL and Redis; two workers suit a 2-core machine.
  maxWorkers: 2,
};
