/**
 * The environment both processes (api, worker) are meant to start with. The production image sets
 * exactly these (Dockerfile, runtime stage: a test keeps the two equal); bench/ starts its api and
 * worker processes with them too, so it measures what production runs.
 *
 * Neither can be set by the process itself: glibc reads MALLOC_ARENA_MAX when it sets up malloc,
 * before any JavaScript runs, and V8 sizes its young generation when it creates the heap
 * (`v8.setFlagsFromString('--max-semi-space-size=…')` at startup has no effect; measured).
 *
 * Why (bench/burst, 10,000 alerts in one second; bench/webhook, sustained ingest; alternated with and
 * without; bench/RESULTS.md, session of 2026-11-26 13:19):
 * - `--max-semi-space-size=4` (MB): V8's young generation at 2 × 4 MB. Node 24, which the image runs,
 *   lets it grow to 128 MB in a burst (Node 20: 32): the api peaked at 357–393 MB without the flag,
 *   275–315 with 8, for ~8 % more api CPU per alert in sustained ingest. On Node 20: 261–263 →
 *   235–238 MB (live, with the arenas), for 10–15 %. 4 rather than 8 (session of 2026-11-26 15:54):
 *   the same peaks with warm connections (2, 4 and 8 all 261–277 MB), lower with cold ones (245 / 252
 *   against 262 / 275), and the api's CPU per request in sustained ingest lower in every alternated
 *   pair (Node 24: 0.28–0.34 against 0.30–0.44 ms, 5 pairs; Node 20: 2 pairs).
 * - `MALLOC_ARENA_MAX=2`: glibc keeps up to 8 malloc arenas per core, one per thread that
 *   allocates (libuv's pool, V8's helper threads), and their fragments stay resident. Alone: ~5–8 MB
 *   off the api's peak (Node 20), no measurable CPU.
 */
export const LAUNCH_ENV: Readonly<{ MALLOC_ARENA_MAX: string; NODE_OPTIONS: string }> = {
  MALLOC_ARENA_MAX: '2',
  NODE_OPTIONS: '--max-semi-space-size=4',
};

/**
 * The launch settings this process started without (their names), for a warning at startup. Any
 * MALLOC_ARENA_MAX and any `--max-semi-space-size` count: the values are the operator's to choose.
 */
export function missingLaunchSettings(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): string[] {
  const missing: string[] = [];
  if (!/^[1-9]\d*$/.test(env.MALLOC_ARENA_MAX ?? '')) missing.push('MALLOC_ARENA_MAX');
  const flags = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (!flags.some((f) => /^--max-semi-space-size(=|$)/.test(f))) missing.push('--max-semi-space-size');
  return missing;
}

/** The environment of a child process started as production starts one: LAUNCH_ENV under `env` (NODE_OPTIONS joined). */
export function withLaunchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const nodeOptions = [LAUNCH_ENV.NODE_OPTIONS, env.NODE_OPTIONS ?? ''].join(' ').trim();
  return { MALLOC_ARENA_MAX: LAUNCH_ENV.MALLOC_ARENA_MAX, ...env, NODE_OPTIONS: nodeOptions };
}

/** The line a process in production logs at start when it runs without LAUNCH_ENV's settings; undefined when it has them. */
export function launchWarning(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): string | undefined {
  const missing = missingLaunchSettings(env, execArgv);
  if (missing.length === 0) return undefined;
  return (
    `Started without ${missing.join(' and ')}: expect ~80 MB more RSS at a bar close on Node 24. The production image sets ` +
    `MALLOC_ARENA_MAX=${LAUNCH_ENV.MALLOC_ARENA_MAX} NODE_OPTIONS=${LAUNCH_ENV.NODE_OPTIONS} (README, configuration)`
  );
}
