// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import n from 'eslint-plugin-n';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'coverage/',
      'node_modules/',
      '**/*.js',
      '**/*.mjs',
      'clients/typescript/dist/',
      'clients/typescript/src/generated/',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { n },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false } },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'off',
      curly: 'error',
      eqeqeq: ['error', 'always'],
      // Absolute imports only (style rule 3).
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['.*'], message: 'Relative imports are not allowed.' }] },
      ],
    },
  },
  {
    // Only config may read the environment (style rule 16). The CLI, the runner (which resolves
    // `${VAR}` references in agent specs and strips secrets from tool environments) and tests are
    // process-level code and read it on purpose.
    files: ['src/**/*.ts'],
    ignores: ['src/config/**', 'src/cli/**', 'src/runner/**'],
    rules: { 'n/no-process-env': 'error' },
  },
  {
    // The console is a browser app bundled by Vite, type-checked with its own tsconfig; its
    // modules import each other relatively, as the client's do.
    files: ['console/**/*.ts', 'console/**/*.tsx'],
    languageOptions: {
      parserOptions: { project: './console/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The client is a standalone ESM package: its own modules import each other relatively.
    files: ['clients/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
