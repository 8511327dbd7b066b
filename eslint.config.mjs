import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'db/migrations/', 'test-results/', '.data/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }, globals: globals.node },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // The web page (web/): browser code, type-checked with web/tsconfig.json (DOM lib).
    files: ['web/**/*.ts', 'web/**/*.tsx', 'web/**/*.mts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }, globals: globals.browser },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'os', 'child_process'],
              message: 'Workflows must stay deterministic: do I/O in activities.',
            },
            {
              group: ['../activities', '../activities/*', '../db/*', '../api/*'],
              allowTypeImports: true,
              message: 'Workflows may import only types from activities.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Randomness must come from the SDK.' }],
    },
  },
  {
    // Issue 11: amounts are decimal strings and bigint minor units (domain/money.ts), never floats.
    files: ['domain/**/*.ts', 'api/**/*.ts', 'activities/**/*.ts', 'workflows/**/*.ts', 'web/src/**/*.ts', 'web/src/**/*.tsx'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...[
          // Number(x), new Number(x), and Number passed as a function (xs.map(Number)).
          "CallExpression[callee.type='Identifier'][callee.name='Number']",
          "NewExpression[callee.type='Identifier'][callee.name='Number']",
          "CallExpression > Identifier.arguments[name='Number']",
          // parseFloat and Number.parseFloat, called or passed; unary plus, the same conversion in disguise.
          "Identifier[name='parseFloat']",
          "UnaryExpression[operator='+'][argument.type!='Literal']",
        ].map((selector) => ({
          selector,
          message:
            'No floats in the money path: amounts are decimal strings and bigint (domain/money.ts: money, compareDecimal, scaledDecimal). For a count that is not an amount, use Number.parseInt or disable with a reason.',
        })),
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node, sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
