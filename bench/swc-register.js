// `node -r ./bench/swc-register.js script.ts`: runs a TypeScript bench child compiled by @swc/core
// (already installed for jest) in plain node. ts-node's register loads node's `repl`, hence `domain`,
// which puts every EventEmitter and promise of that process through domain hooks: a server measured
// that way pays CPU that production (compiled, plain node) never does. For self-contained bench
// servers only (no decorators, no @torgovo path aliases): bench/webhook/serve-limit.ts.
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

Module._extensions['.ts'] = function compile(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
