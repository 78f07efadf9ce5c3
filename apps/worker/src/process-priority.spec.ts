import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

describe('lowerProcessPriority', () => {
  it('renices every thread of the process — V8 and libuv threads started before it included — and threads started after inherit it', () => {
    // In a child process, so the test run keeps its own priority.
    const script = `
      const os = require('node:os'), fs = require('node:fs');
      const { lowerProcessPriority } = require('./apps/worker/src/process-priority');
      const before = fs.readdirSync('/proc/self/task').length;
      const changed = lowerProcessPriority(7);
      require('node:crypto').pbkdf2Sync('x', 'y', 1, 32, 'sha256'); // work that may start more threads
      const nices = fs.readdirSync('/proc/self/task').map((t) => { try { return os.getPriority(Number(t)); } catch { return 7; } });
      console.log(JSON.stringify({ before, changed, nices }));`;
    const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    const { before, changed, nices } = JSON.parse(out.trim().split('\n').pop()!) as { before: number; changed: number; nices: number[] };
    expect(before).toBeGreaterThan(1); // Node runs V8 platform threads before any code
    expect(changed).toBeGreaterThanOrEqual(before);
    expect(nices.length).toBeGreaterThanOrEqual(before);
    expect(new Set(nices)).toEqual(new Set([7]));
  });
});
