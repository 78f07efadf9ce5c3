/**
 * The PaymentChecker's statements. Each is one set-wise statement; none loops per payment.
 * The rules "a deposit settles at most one payment" and "a payment completes once" are held by
 * the guarded UPDATEs below (status and match_status re-checked under the row lock) and by the
 * unique indexes of migration 1764600000000, whichever worker runs them.
 */

/** Every deposit OKX listed, kept as last reported; the amount of a known deposit never changes. */
export const UPSERT_DEPOSITS_SQL = `
  INSERT INTO crypto_deposits (provider, dep_id, tx_id, ccy, chain, amount, to_address, tag, state, deposited_at)
  SELECT 'okx', d.dep_id, d.tx_id, d.ccy, d.chain, d.amount, d.to_address, d.tag, d.state, d.deposited_at
    FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::numeric[], $6::varchar[], $7::varchar[], $8::varchar[], $9::timestamptz[])
         AS d(dep_id, tx_id, ccy, chain, amount, to_address, tag, state, deposited_at)
  ON CONFLICT (provider, dep_id) DO UPDATE
     SET state = EXCLUDED.state,
         tx_id = CASE WHEN crypto_deposits.tx_id = '' THEN EXCLUDED.tx_id ELSE crypto_deposits.tx_id END,
         updated_at = now()
   WHERE crypto_deposits.state IS DISTINCT FROM EXCLUDED.state
      OR (crypto_deposits.tx_id = '' AND EXCLUDED.tx_id <> '')
  RETURNING (xmax = 0) AS inserted`;

/**
 * Where the next poll starts: the oldest deposit still waiting (not credited yet) within the
 * lookback, else the newest deposit seen, else the lookback itself (first run). $1 = lookback start.
 */
export const CURSOR_SQL = `
  SELECT COALESCE(
    (SELECT min(deposited_at) FROM crypto_deposits WHERE provider = 'okx' AND match_status = 'new' AND deposited_at >= $1),
    (SELECT max(deposited_at) FROM crypto_deposits WHERE provider = 'okx'),
    $1::timestamptz) AS cursor`;

/**
 * One matching round, first half. Claims a batch of credited, unmatched deposits (SKIP LOCKED:
 * concurrent checkers split them; the claim holds to the end of the transaction), finds for each
 * the open payment it fits — same currency, chain, address and tag, amount within ±tolerance, sent
 * after the payment was created and before it expired (an expired payment still takes a deposit
 * sent in time but seen late) — and keeps one deposit per payment: the picks, with their payment's
 * user. It writes no payment: the caller takes those users' billing locks and then SETTLE_SQL
 * completes them (the house lock order, user billing lock before payment rows, as initialize and
 * checkout take them; the other way round the two deadlocked).
 * The address is shared and a deposit carries no sender: only its amount names the payment, and
 * the offsets that tell payments apart (≤ MAX_AMOUNT_OFFSET_UNITS units) are far inside the
 * tolerance. So the tolerance is used only when no other OKX quote of that address (of any status,
 * quoted within the lookback) lies within it; otherwise only an exact amount settles, and only when
 * no other of those quotes asked that exact amount — a late, short or cancelled payer's deposit is
 * never taken for a neighbour's open payment.
 * A claimed deposit that fits no payment (or fits ambiguously) is kept as `unmatched` for an
 * admin here. One that lost its payment to another deposit stays `new` and is tried again next round.
 * $1 credited states, $2 batch, $3 tolerance (fraction), $4 lookback (hours).
 */
export const PICK_SQL = `
  WITH claimed AS (
    SELECT id, dep_id, tx_id, ccy, chain, amount, to_address, tag, deposited_at
      FROM crypto_deposits
     WHERE match_status = 'new' AND provider = 'okx' AND state = ANY($1::varchar[])
     ORDER BY deposited_at, id
     LIMIT $2
     FOR UPDATE SKIP LOCKED
  ), cand AS (
    SELECT c.id AS deposit_id, p.id AS payment_id, abs(c.amount - p.crypto_amount) AS diff, c.deposited_at, p.created_at, p.crypto_amount
      FROM claimed c
      JOIN payments p
        ON p.provider = 'okx' AND p.status IN ('pending', 'expired')
       AND p.crypto_currency = c.ccy
       AND p.crypto_currency || '-' || p.network = c.chain
       AND p.deposit_address = c.to_address
       AND COALESCE(p.deposit_tag, '') = COALESCE(c.tag, '')
       AND c.amount BETWEEN p.crypto_amount * (1 - $3::numeric) AND p.crypto_amount * (1 + $3::numeric)
       AND p.crypto_amount BETWEEN c.amount / (1 + $3::numeric) AND c.amount / (1 - $3::numeric)
       AND c.deposited_at >= p.created_at - interval '2 minutes'
       AND c.deposited_at <= p.expires_at
     WHERE c.tx_id = '' OR NOT EXISTS (
       SELECT 1 FROM payments t WHERE t.provider = 'okx' AND t.crypto_currency = c.ccy AND t.tx_hash = c.tx_id)
  ), unambiguous AS (
    SELECT cand.* FROM cand JOIN claimed c ON c.id = cand.deposit_id
     WHERE NOT EXISTS (
       SELECT 1 FROM payments q
        WHERE q.provider = 'okx' AND q.id <> cand.payment_id
          AND q.crypto_currency = c.ccy
          AND q.crypto_currency || '-' || q.network = c.chain
          AND q.deposit_address = c.to_address
          AND COALESCE(q.deposit_tag, '') = COALESCE(c.tag, '')
          AND c.amount BETWEEN q.crypto_amount * (1 - $3::numeric) AND q.crypto_amount * (1 + $3::numeric)
          -- The same window on q's own column, so payments_okx_slot_idx (currency, address, amount) reads
          -- only the nearby quotes, not the address's whole history for every candidate.
          AND q.crypto_amount BETWEEN c.amount / (1 + $3::numeric) AND c.amount / (1 - $3::numeric)
          AND q.created_at - interval '2 minutes' <= c.deposited_at
          AND q.expires_at >= c.deposited_at - make_interval(hours => $4::int)
          AND (c.amount <> cand.crypto_amount OR q.crypto_amount = c.amount))
  ), best_per_deposit AS (
    SELECT DISTINCT ON (deposit_id) deposit_id, payment_id, diff, deposited_at
      FROM unambiguous ORDER BY deposit_id, diff, created_at
  ), pick AS (
    SELECT DISTINCT ON (b.payment_id) b.deposit_id, b.payment_id, p.user_id, p.crypto_amount::text AS crypto_amount
      FROM best_per_deposit b JOIN payments p ON p.id = b.payment_id
     ORDER BY b.payment_id, b.diff, b.deposited_at, b.deposit_id
  ), unmatched AS (
    UPDATE crypto_deposits d
       SET match_status = 'unmatched', updated_at = now()
      FROM claimed c
     WHERE d.id = c.id AND NOT EXISTS (SELECT 1 FROM unambiguous u WHERE u.deposit_id = c.id)
    RETURNING d.id, d.ccy, d.amount::text AS amount, d.dep_id
  )
  -- Amounts leave as text inside the JSON: a JSON number would become a float in Node.
  SELECT (SELECT COALESCE(json_agg(pick), '[]'::json) FROM pick) AS picks,
         (SELECT COALESCE(json_agg(unmatched), '[]'::json) FROM unmatched) AS unmatched,
         (SELECT count(*) FROM claimed)::int AS claimed`;

/**
 * One matching round, second half, under the billing locks of the picks' users: completes each
 * picked payment with its deposit and marks the deposit. Guarded: the payment is completed only if
 * it is still the quote that was picked (open or just expired, same amount, and the deposit still
 * fits it — initialize may have re-quoted a renewal row in place meanwhile); a pick that fails the
 * guard leaves its deposit `new`, tried again next round.
 * $1 deposit ids, $2 payment ids, $3 the picked amounts, $4 now.
 */
export const SETTLE_SQL = `
  WITH pick AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::numeric[]) AS k(deposit_id, payment_id, crypto_amount)
  ), done AS (
    UPDATE payments p
       SET status = 'completed', received_amount = c.amount, tx_hash = NULLIF(c.tx_id, ''),
           provider_payment_id = c.dep_id, confirmed_at = $4, failure_reason = NULL, updated_at = now()
      FROM pick JOIN crypto_deposits c ON c.id = pick.deposit_id AND c.match_status = 'new'
     WHERE p.id = pick.payment_id AND p.provider = 'okx' AND p.status IN ('pending', 'expired')
       AND p.crypto_amount = pick.crypto_amount
       AND p.crypto_currency = c.ccy
       AND p.crypto_currency || '-' || p.network = c.chain
       AND p.deposit_address = c.to_address
       AND COALESCE(p.deposit_tag, '') = COALESCE(c.tag, '')
       AND c.deposited_at >= p.created_at - interval '2 minutes'
       AND c.deposited_at <= p.expires_at
    RETURNING p.id, p.user_id, p.subscription_id, p.kind, p.provider, p.amount_usd::text AS amount_usd, p.crypto_currency,
              p.received_amount::text AS received_amount, p.tx_hash, pick.deposit_id
  ), marked AS (
    UPDATE crypto_deposits d
       SET match_status = 'matched', payment_id = done.id, matched_at = $4, updated_at = now()
      FROM done WHERE d.id = done.deposit_id
    RETURNING d.id
  )
  SELECT (SELECT COALESCE(json_agg(done), '[]'::json) FROM done) AS completed,
         (SELECT count(*) FROM marked)::int AS marked`;

/** Unpaid crypto payments (and unpaid renewal requests) past their expiry. $1 now. */
export const EXPIRE_SQL = `
  UPDATE payments
     SET status = 'expired', failure_reason = 'not_paid_in_time', updated_at = now()
   WHERE status = 'pending' AND expires_at <= $1
     AND (provider = 'okx' OR (provider IS NULL AND kind = 'renewal'))
  RETURNING id, user_id, subscription_id, kind, provider, amount_usd, crypto_currency, crypto_amount`;
