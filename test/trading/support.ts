import { randomUUID } from 'node:crypto';
import type { ExchangeCredentials } from '@torgovo/core';
import type { DataSource } from 'typeorm';
import type { FakeAccount } from '../fakes/okx/fake-okx-exchange';
import { ExchangeError } from '@torgovo/trading';

/** A bare user row: paper accounts reference users. */
export async function createUser(ds: DataSource): Promise<string> {
  const rows: Array<{ id: string }> = await ds.query(
    `INSERT INTO users (email, password_hash, full_name) VALUES ($1, 'x', 'Paper Trader') RETURNING id`,
    [`trader-${randomUUID()}@example.test`],
  );
  return rows[0].id;
}

export function credentialsOf(account: FakeAccount, sandbox = account.demo): ExchangeCredentials {
  return { exchange: 'okx', apiKey: account.apiKey, secret: account.secret, passphrase: account.passphrase, sandbox };
}

/** Awaits a promise that must reject with an ExchangeError and returns that error. */
export async function exchangeFailure(promise: Promise<unknown>): Promise<ExchangeError> {
  let outcome: unknown;
  try {
    await promise;
  } catch (error) {
    outcome = error;
  }
  if (!(outcome instanceof ExchangeError)) throw new Error(`expected an ExchangeError, got ${String(outcome)}`);
  return outcome;
}
