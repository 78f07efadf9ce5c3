import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'apps/api/src/generated/**', 'clients/typescript/generated/**', 'node_modules/**', 'data/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'off',
      'no-console': 'off',
    },
  },
  {
    // Request DTOs: class-validator's IsOptional lets a JSON null through (see libs/core/src/errors/optional.ts).
    files: ['libs/*/src/dto/**/*.ts', 'libs/*/src/**/dto/**/*.ts'],
    ignores: ['**/*query*.ts', 'libs/admin/src/dto/admin-{records,latency,stats}.dto.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'class-validator', importNames: ['IsOptional'], message: "Use IsOptional (or IsOptionalOrNull) from '@torgovo/core': a JSON null must not skip a request field's checks." }] },
      ],
    },
  },
);
