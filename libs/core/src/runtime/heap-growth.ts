import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what its last full collection kept, before the next
 * one: 1 + percent/100 times (V8's own factor is up to 4×, from its speed estimates).
 *
 * Why the processes set it: at a bar close (bench/burst), every in-flight alert's request state (api)
 * and every in-flight send (worker) outlives two scavenges, is promoted, and dies there; with V8's
 * factor the old generation filled with that garbage without one full collection (api ~60 → ~185 MB
 * heap, ~285 MB RSS). At 1.6× it collects every ~40 MB of it: the api peaked at ~237 MB for ~8 % more
 * CPU in the burst (measured with `--heap-growing-percent`; a hard `--max-old-space-size=160` instead
 * held ~207 MB but collected over and over near its cap and answered ~2 s slower).
 * V8 refuses this flag in NODE_OPTIONS, so each process sets it itself, first thing in its main.
 */
export const DEFAULT_HEAP_GROWING_PERCENT = 60;

/**
 * Applies `process.env[variable]` (default DEFAULT_HEAP_GROWING_PERCENT; 0: V8's own rule). Read from
 * the environment because it runs before the app and its config exist; EnvSchema validates the
 * variable too, so a bad value still stops the start with its name.
 */
export function applyHeapGrowth(variable: string): number {
  const configured = process.env[variable];
  const percent = configured === undefined || configured === '' ? DEFAULT_HEAP_GROWING_PERCENT : Number(configured);
  if (!Number.isInteger(percent) || percent <= 0) return 0;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
