import { applyHeapGrowth } from '@torgovo/core';

// Imported first by main.ts: the worker's old generation grows at most 1.6× past its last full collection (see applyHeapGrowth).
applyHeapGrowth('WORKER_HEAP_GROWING_PERCENT');
