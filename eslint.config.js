// typescript-eslint with type-aware rules; no-floating-promises matters in socket handlers.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/*.tmp.mts',
      '**/*.tmp.ts',
      'node_modules/**',
      'data/**',
      'out/**',
      'clients/dashboard/dist/**',
      'test-artifacts/**',
      'loadtest/k6/**',
      'models/kernels/assembly/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // The CLI, scripts, benchmarks and the dashboard page talk to a terminal or a browser console by design.
    files: ['src/cli/**', 'scripts/**', 'loadtest/**', 'bin/**', 'models/bench/**', 'clients/simulator/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
