import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['.tmp/**', 'dist/**', 'node_modules/**', 'out/**', 'test-output/**', 'models/probe/**/*.onnx', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The pure core runs in the CLI, tests and benchmarks: it must never reach for VS Code.
    files: ['extension/core/**/*.ts', 'extension/cli.ts', 'extension/protocol.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'core/ is pure: no vscode import.' }] }],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'path', 'child_process', 'vscode', '../extension/core/*', '../extension/host/*'], message: 'webview/ runs in a browser: protocol types only.' }] }],
    },
  },
);
