import { applyHeapGrowth } from '@torgovo/core';

// Imported first by main.ts: the api's old generation grows at most 1.6× past its last full collection (see applyHeapGrowth).
applyHeapGrowth('API_HEAP_GROWING_PERCENT');
