#!/usr/bin/env node
// `npm start` on a fresh clone: build first if dist is missing or older than any source file.
const { execSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const entry = join(root, 'dist', 'apps', 'api', 'src', 'main.js');

function newestSource(dir) {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, name.name);
    if (name.isDirectory() && name.name === 'generated') continue;
    if (name.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (name.name.endsWith('.ts') && !name.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const sources = Math.max(...['apps', 'libs', 'migrations'].map((d) => newestSource(join(root, d))));
if (!existsSync(entry) || statSync(entry).mtimeMs < sources) {
  console.log('Building Torgovo (first start or sources changed)...');
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
}
