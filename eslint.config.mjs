import nx from '@nx/eslint-plugin';
import { depConstraints } from './tools/lint/dep-constraints.mjs';

export default [
  {
    // lint-fixtures hold deliberate violations; tools/lint/boundaries.spec.ts lints them on purpose.
    ignores: ['**/dist/**', '**/node_modules/**', '**/.nx/**', 'tmp/**', 'coverage/**', 'tools/lint-fixtures/**'],
  },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints,
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // CommonJS configs (jest) and Node scripts legitimately use require.
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
];
