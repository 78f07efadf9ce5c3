import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers this process's CPU priority to `nice`. On Linux a nice value belongs to each thread, and
 * V8's and libuv's threads already run: every thread of the process is reniced, so garbage collection
 * and the thread pool yield as well. Elsewhere the process's own call covers it. Returns the threads
 * changed (0 when not allowed: the worker then runs at its inherited priority).
 */
export function lowerProcessPriority(nice: number): number {
  let changed = 0;
  let tids: number[];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    tids = [0];
  }
  for (const tid of tids) {
    try {
      setPriority(tid, nice);
      changed += 1;
    } catch {
      // not permitted (raising priority needs privileges; lowering never does) or the thread ended
    }
  }
  return changed;
}
