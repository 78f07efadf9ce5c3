import { randomUUID } from 'node:crypto';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import type { EntityManager } from 'typeorm';
import { envInt, loadEnvSection, sha256Hex } from '@torgovo/core';

/** The managed-signal window (the property name is the variable name), validated once at start. */
export class ManagedSignalConfig {
  /** How long a signal without a signal_id whose content equals an accepted one's counts as a repeat (a sender's retries). */
  @Transform(envInt) @IsInt() @Min(1) @Max(86_400)
  MANAGED_SIGNAL_DEDUPE_WINDOW_SECONDS = 30;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ManagedSignalConfig {
    return loadEnvSection(ManagedSignalConfig, env);
  }
}

/**
 * What makes a managed signal a repeat of one already accepted by the same managed bot (as custom-bot
 * webhooks judge alerts, webhook-repeat.ts):
 * - with a `signal_id` (the webhook's `alert_id`): the same signal_id, forever — it is the stored
 *   signal_id, unique per managed bot.
 * - without one: the same content (action, symbol, fraction, price) within
 *   MANAGED_SIGNAL_DEDUPE_WINDOW_SECONDS of the accepted one; after it the same content is a new
 *   signal. `contentKey` is what the fan-out looks the window up by; the stored signal_id is
 *   `h:<content key>:<random uuid>`, unique per accepted signal (follower reports show it), never
 *   reused by a later signal of the same content.
 */
export interface SignalIdentity {
  /** The signal_id stored when the signal is accepted. */
  signalId: string;
  /** null: identified by its signal_id alone. */
  contentKey: string | null;
}

export function signalIdentity(signalId: string | undefined, action: string, symbol: string, fraction: string, price: string | null): SignalIdentity {
  if (signalId !== undefined) return { signalId, contentKey: null };
  const contentKey = sha256Hex(JSON.stringify([action, symbol, fraction, price]));
  return { signalId: `h:${contentKey}:${randomUUID()}`, contentKey };
}

/** First key of the two-key advisory lock space for "an id-less signal of this content to this managed bot". */
const SIGNAL_CONTENT_LOCK = 7_204_902;

/**
 * Serializes id-less signals of the same content to one managed bot until the transaction ends, so the
 * fan-out's "accepted within the window?" read and its insert are one step: a copy that arrives while
 * the first is being written waits here, and its statement (a new snapshot) then sees the first.
 */
export async function lockSignalContent(m: EntityManager, managedBotId: string, contentKey: string): Promise<void> {
  await m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SIGNAL_CONTENT_LOCK, `${managedBotId}:${contentKey}`]);
}
