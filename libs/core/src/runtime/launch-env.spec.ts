import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAUNCH_ENV, launchWarning, missingLaunchSettings, withLaunchEnv } from './launch-env';

describe('launch settings (MALLOC_ARENA_MAX)', () => {
  it('the production image starts its processes with exactly LAUNCH_ENV', () => {
    const dockerfile = readFileSync(join(__dirname, '../../../../Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const env: Record<string, string> = {};
    for (const line of runtime.split('\n').filter((l) => l.startsWith('ENV '))) {
      for (const pair of line.slice(4).trim().split(/\s+/)) {
        const eq = pair.indexOf('=');
        env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    }
    for (const [name, value] of Object.entries(LAUNCH_ENV)) expect([name, env[name]]).toEqual([name, value]);
    expect(missingLaunchSettings(env)).toEqual([]);
  });

  it('names what a process started without', () => {
    expect(missingLaunchSettings({})).toEqual(['MALLOC_ARENA_MAX']);
    // 0 or garbage is glibc's default, i.e. not set; any positive count is the operator's choice.
    expect(missingLaunchSettings({ MALLOC_ARENA_MAX: '0' })).toEqual(['MALLOC_ARENA_MAX']);
    expect(missingLaunchSettings({ MALLOC_ARENA_MAX: 'two' })).toEqual(['MALLOC_ARENA_MAX']);
    expect(missingLaunchSettings({ MALLOC_ARENA_MAX: '4' })).toEqual([]);
  });

  it('warns, naming the setting and its value, only when it is missing', () => {
    expect(launchWarning({ ...LAUNCH_ENV })).toBeUndefined();
    const warning = launchWarning({});
    expect(warning).toContain('Started without MALLOC_ARENA_MAX:');
    expect(warning).toContain(`The production image sets MALLOC_ARENA_MAX=${LAUNCH_ENV.MALLOC_ARENA_MAX}`);
  });

  it("a child started as production starts one keeps the caller's own value", () => {
    expect(withLaunchEnv({ FOO: 'bar' })).toEqual({ FOO: 'bar', ...LAUNCH_ENV });
    expect(withLaunchEnv({ MALLOC_ARENA_MAX: '4' })).toEqual({ MALLOC_ARENA_MAX: '4' });
  });
});
