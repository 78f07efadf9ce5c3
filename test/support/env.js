// Every e2e test runs with the transaction guard: a second pooled connection taken inside a
// transaction throws (it would hang forever on the embedded PGlite). See
// libs/core/src/database/transaction-guard.ts.
process.env.DATABASE_TRANSACTION_GUARD ??= 'true';
