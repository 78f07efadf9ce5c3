/**
 * The environment both processes (api, worker) are meant to start with. The production image sets
 * exactly these (Dockerfile, runtime stage: a test keeps the two equal); bench/ starts its api and
 * worker processes with them too, so it measures what production runs.
 *
 * MALLOC_ARENA_MAX cannot be set by the process itself: glibc reads it when it sets up malloc,
 * before any JavaScript runs. glibc's default is up to 8 arenas per core, one for each thread that
 * allocates (libuv's pool, V8's helper threads), and their fragments stay resident; 2 cut the api's
 * peak RSS in a 10,000-alert burst by ~5–8 MB, and its CPU did not change measurably, in the burst or
 * in sustained ingest (bench/RESULTS.md, session of 2026-11-26 13:19).
 *
 * Measured and left to the operator: `NODE_OPTIONS=--max-semi-space-size=8` (V8's young generation
 * at 2 × 8 MB, not 2 × 16) took another ~20 MB off the api's peak, but cost the api 10–15 % more CPU
 * per alert in sustained ingest (bench/webhook). Like MALLOC_ARENA_MAX it only works from the
 * launch: `v8.setFlagsFromString` at startup leaves the young generation as it is.
 */
export const LAUNCH_ENV: Readonly<{ MALLOC_ARENA_MAX: string }> = {
  MALLOC_ARENA_MAX: '2',
};

/** The launch settings this process started without (their names), for a warning at startup. Any arena count counts: it is the operator's to choose. */
export function missingLaunchSettings(env: NodeJS.ProcessEnv = process.env): string[] {
  return /^[1-9]\d*$/.test(env.MALLOC_ARENA_MAX ?? '') ? [] : ['MALLOC_ARENA_MAX'];
}

/** The environment of a child process started as production starts one: LAUNCH_ENV under `env`. */
export function withLaunchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...LAUNCH_ENV, ...env };
}

/** The line a process in production logs at start when it runs without LAUNCH_ENV's settings; undefined when it has them. */
export function launchWarning(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const missing = missingLaunchSettings(env);
  if (missing.length === 0) return undefined;
  return (
    `Started without ${missing.join(' and ')}: expect more resident memory after a bar close's burst. ` +
    `The production image sets ${Object.entries(LAUNCH_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} (README, configuration)`
  );
}
