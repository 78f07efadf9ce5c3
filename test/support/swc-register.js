// `node -r ./test/support/swc-register.js -r tsconfig-paths/register file.ts`: runs TypeScript in a child
// process compiled by @swc/core with the options jest uses for the same sources (swc-options.js:
// decorators with their metadata, ES2022, CommonJS), so a child runs the code exactly as the tests do.
// Used for the CLI children of the e2e tests (test/support/cli.ts) and for bench servers.
// Why not ts-node: its transpile-only register compiles with TypeScript (~6.5 s and ~9 s of CPU to start
// the CLI here, against ~2.3 s and ~2.5 s), and it loads node's `repl`, hence `domain`, which puts
// every EventEmitter and promise of the process through domain hooks: a server measured that way pays
// CPU that production (compiled, plain node) never does.
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

const options = require('./swc-options');

Module._extensions['.ts'] = function compile(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), { ...options, filename });
  module._compile(code, filename);
};
