import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAUNCH_ENV, launchWarning, missingLaunchSettings, withLaunchEnv } from './launch-env';

describe('launch settings (MALLOC_ARENA_MAX, --max-semi-space-size)', () => {
  it('the production image starts its processes with exactly LAUNCH_ENV', () => {
    const dockerfile = readFileSync(join(__dirname, '../../../../Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const env = new Map<string, string>();
    for (const line of runtime.split('\n').filter((l) => l.startsWith('ENV '))) {
      for (const pair of line.slice(4).trim().split(/\s+/)) {
        const eq = pair.indexOf('=');
        env.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
    }
    expect(env.get('MALLOC_ARENA_MAX')).toBe(LAUNCH_ENV.MALLOC_ARENA_MAX);
    expect(env.get('NODE_OPTIONS')).toBe(LAUNCH_ENV.NODE_OPTIONS);
    expect(missingLaunchSettings(Object.fromEntries(env), [])).toEqual([]);
  });

  it('names what a process started without', () => {
    expect(missingLaunchSettings({}, [])).toEqual(['MALLOC_ARENA_MAX', '--max-semi-space-size']);
    expect(missingLaunchSettings({ MALLOC_ARENA_MAX: '4' }, [])).toEqual(['--max-semi-space-size']);
    // 0 or garbage is glibc's default, i.e. not set.
    expect(missingLaunchSettings({ MALLOC_ARENA_MAX: '0', NODE_OPTIONS: '--max-semi-space-size=16' }, [])).toEqual(['MALLOC_ARENA_MAX']);
    expect(missingLaunchSettings({ MALLOC_ARENA_MAX: 'two' }, ['--max-semi-space-size=4'])).toEqual(['MALLOC_ARENA_MAX']);
    // A flag on the command line counts as much as one in NODE_OPTIONS; a different flag does not.
    expect(missingLaunchSettings({ MALLOC_ARENA_MAX: '2' }, ['--max-semi-space-size=8'])).toEqual([]);
    expect(missingLaunchSettings({ MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=32' }, [])).toEqual([]);
    expect(missingLaunchSettings({ MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-old-space-size=512' }, [])).toEqual(['--max-semi-space-size']);
  });

  it('warns, naming the settings, only when one is missing', () => {
    expect(launchWarning({ ...LAUNCH_ENV }, [])).toBeUndefined();
    const warning = launchWarning({ NODE_OPTIONS: LAUNCH_ENV.NODE_OPTIONS }, []);
    expect(warning).toContain('Started without MALLOC_ARENA_MAX:');
    expect(warning).toContain(`MALLOC_ARENA_MAX=${LAUNCH_ENV.MALLOC_ARENA_MAX} NODE_OPTIONS=${LAUNCH_ENV.NODE_OPTIONS}`);
  });

  it('a child started as production starts one keeps its own NODE_OPTIONS after ours, and its own arena count', () => {
    expect(withLaunchEnv({ FOO: 'bar' })).toEqual({ FOO: 'bar', ...LAUNCH_ENV });
    // Node takes the last of a repeated flag: the caller's own semi-space size wins.
    expect(withLaunchEnv({ NODE_OPTIONS: '--max-semi-space-size=16', MALLOC_ARENA_MAX: '4' })).toEqual({
      NODE_OPTIONS: `${LAUNCH_ENV.NODE_OPTIONS} --max-semi-space-size=16`,
      MALLOC_ARENA_MAX: '4',
    });
  });
});
