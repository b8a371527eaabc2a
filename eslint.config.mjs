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
    // The webview runs in a browser: from extension/ it may import the protocol and the pure helpers in
    // extension/shared/ (no Node, no DOM, no imports of their own), nothing else.
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'child_process', 'vscode'], message: 'webview/ runs in a browser: no Node or VS Code modules.' },
            { group: ['**/extension/**', '!**/extension/protocol.ts', '!**/extension/shared', '!**/extension/shared/*.ts'], message: 'webview/ may import extension/protocol.ts and extension/shared/* only.' },
          ],
        },
      ],
    },
  },
  {
    // Shared by the core, the host and the webview: pure code that imports only its own kind.
    files: ['extension/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./[\\w.-]+\\.ts$)', message: 'extension/shared/ is dependency-free: it may import only other extension/shared files.' }] }],
    },
  },
);
