import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what its last full collection kept, before the next
 * one: 1 + HEAP_GROWING_PERCENT/100 times (V8's own factor is up to 4×, from its speed estimates).
 *
 * Why the api sets it: at a bar close (bench/burst), every in-flight alert's request state outlives
 * two scavenges and is promoted, and dies there; with V8's factor the old generation filled with
 * that garbage from ~60 to ~185 MB without one full collection, and the process peaked at ~285 MB RSS.
 * At 1.6× it collects every ~40 MB of it: ~237 MB at the peak for ~10% more CPU in the burst
 * (measured with `--heap-growing-percent`; a hard `--max-old-space-size=160` instead held ~207 MB
 * but collected over and over near its cap and answered ~2 s slower).
 * V8 refuses this flag in NODE_OPTIONS, so the process sets it itself, before the app allocates.
 */
export const HEAP_GROWING_PERCENT = 60;

/** API_HEAP_GROWING_PERCENT overrides it (0: V8's own rule). Read here, before the app (and its config) exist; EnvSchema validates it too. */
const configured = process.env.API_HEAP_GROWING_PERCENT;
const percent = configured === undefined || configured === '' ? HEAP_GROWING_PERCENT : Number(configured);
if (Number.isInteger(percent) && percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
