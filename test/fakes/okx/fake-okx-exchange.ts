import Decimal from 'decimal.js';
import {
  accountConfigWire,
  balanceDetailWire,
  balanceWire,
  depositAddressWire,
  depositWire,
  FAKE_INSTRUMENTS,
  FakeDeposit,
  FakeDepositAddress,
  FakeInstrument,
  FakeOrder,
  instrumentWire,
  orderWire,
  tickerWire,
  Wire,
} from './okx-wire';

export interface OkxReply {
  status: number;
  body: Wire;
  /** Answer with an HTML error page instead of `body`. */
  html?: boolean;
}

export interface FakeAccountInput {
  apiKey?: string;
  secret?: string;
  passphrase?: string;
  /** A demo-trading key: valid only with `x-simulated-trading: 1`, as on OKX. */
  demo?: boolean;
  balances?: Record<string, string>;
  /** What the key may do, as OKX's account config says (default "read_only,trade"). */
  perm?: string;
  /** IP addresses the key is bound to, comma-separated; "" (default) = not bound. */
  ip?: string;
}

export interface FakeAccount {
  apiKey: string;
  secret: string;
  passphrase: string;
  demo: boolean;
  perm: string;
  ip: string;
  avail: Map<string, Decimal>;
  frozen: Map<string, Decimal>;
  orders: Map<string, FakeOrder>;
  depositAddresses: FakeDepositAddress[];
  deposits: FakeDeposit[];
}

const TAKER_FEE = '0.001';

export const ok = (data: Wire[]): OkxReply => ({ status: 200, body: { code: '0', data, msg: '' } });
export const fail = (status: number, code: string, msg: string): OkxReply => ({ status, body: { code, data: [], msg } });

/** Per-order failure the way OKX reports it: HTTP 200, code "1", the reason in data[0]. */
function orderFail(sCode: string, sMsg: string, clOrdId: string, ordId = ''): OkxReply {
  return {
    status: 200,
    body: {
      code: '1',
      data: [{ clOrdId, ordId, sCode, sMsg, tag: '', ts: String(Date.now()) }],
      inTime: String(Date.now() * 1000),
      msg: 'All operations failed',
      outTime: String(Date.now() * 1000),
    },
  };
}

/** The state of the fake: accounts, their balances and orders; fills market orders at `last`. */
export class FakeOkxExchange {
  readonly accounts = new Map<string, FakeAccount>();
  readonly instruments = new Map<string, FakeInstrument>(FAKE_INSTRUMENTS.map((i) => [i.instId, { ...i }]));
  private nextId = 2896576259728695296n;
  private nextSeq = 1;

  addAccount(input: FakeAccountInput = {}): FakeAccount {
    const n = this.nextSeq++;
    const account: FakeAccount = {
      apiKey: input.apiKey ?? `fake-key-${n}-${Math.random().toString(36).slice(2, 10)}`,
      secret: input.secret ?? `FAKESECRET${n}${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
      passphrase: input.passphrase ?? `Passphrase-${n}`,
      demo: input.demo ?? false,
      perm: input.perm ?? 'read_only,trade',
      ip: input.ip ?? '',
      avail: new Map(Object.entries(input.balances ?? { USDT: '10000' }).map(([c, v]) => [c, new Decimal(v)])),
      frozen: new Map(),
      orders: new Map(),
      // Shapes of the recorded deposit-address sample: several addresses per chain, one selected.
      depositAddresses: [
        { ccy: 'USDT', chain: 'USDT-TRC20', addr: `TXfake${n}a1b2c3d4e5f6g7h8j9k1m2n3p4`, selected: true },
        { ccy: 'USDT', chain: 'USDT-TRC20', addr: `TXfake${n}old0000000000000000000000`, selected: false },
        { ccy: 'USDT', chain: 'USDT-ERC20', addr: `0xfake${n}00000000000000000000000000000000000`, selected: true },
        { ccy: 'USDT', chain: 'USDT-TON', addr: `UQfake${n}tonaddress0000000000000000000`, selected: true, comment: '11563797' },
        { ccy: 'BTC', chain: 'BTC-Bitcoin', addr: `bc1qfake${n}0000000000000000000000000`, selected: true },
        { ccy: 'ETH', chain: 'ETH-ERC20', addr: `0xfake${n}eth0000000000000000000000000000000`, selected: true },
        { ccy: 'USDC', chain: 'USDC-ERC20', addr: `0xfake${n}usdc000000000000000000000000000000`, selected: true },
        { ccy: 'SOL', chain: 'SOL-Solana', addr: `FakeSol${n}111111111111111111111111111111`, selected: true },
        { ccy: 'BNB', chain: 'BNB-BSC', addr: `0xfake${n}bnb0000000000000000000000000000000`, selected: true },
      ],
      deposits: [],
    };
    this.accounts.set(account.apiKey, account);
    return account;
  }

  addDeposit(account: FakeAccount, d: Partial<FakeDeposit> & Pick<FakeDeposit, 'ccy' | 'amt'>): FakeDeposit {
    const chain = d.chain ?? account.depositAddresses.find((a) => a.ccy === d.ccy && a.selected)?.chain ?? `${d.ccy}-TRC20`;
    const deposit: FakeDeposit = {
      chain,
      to: account.depositAddresses.find((a) => a.chain === chain && a.selected)?.addr ?? '',
      txId: `0x${Math.random().toString(16).slice(2).padEnd(64, '0')}`,
      state: '2',
      ts: Date.now(),
      depId: String(this.nextId++),
      ...d,
    };
    account.deposits.push(deposit);
    return deposit;
  }

  /** OKX moves a deposit through its states (0 waiting → 1 credited → 2 successful; 8 suspended). */
  setDepositState(account: FakeAccount, depId: string, state: string): void {
    const d = account.deposits.find((x) => x.depId === depId);
    if (!d) throw new Error(`no deposit ${depId}`);
    d.state = state;
  }

  setPrice(instId: string, last: string): void {
    const i = this.instruments.get(instId);
    if (!i) throw new Error(`unknown instrument ${instId}`);
    Object.assign(i, { last, bid: last, ask: last });
  }

  instrumentsReply(q: URLSearchParams): OkxReply {
    if (q.get('instType') !== 'SPOT') return ok([]);
    const rows = [...this.instruments.values()].filter((i) => !q.get('instId') || i.instId === q.get('instId'));
    return ok(rows.map(instrumentWire));
  }

  tickerReply(q: URLSearchParams): OkxReply {
    const i = this.instruments.get(q.get('instId') ?? '');
    return i ? ok([tickerWire(i, Date.now())]) : fail(200, '51001', "Instrument ID or Spread ID doesn't exist.");
  }

  accountConfigReply(a: FakeAccount): OkxReply {
    const uid = String(44705892343619584n + BigInt([...this.accounts.keys()].indexOf(a.apiKey) + 1));
    return ok([accountConfigWire(uid, a.perm, a.ip)]);
  }

  balanceReply(a: FakeAccount, q: URLSearchParams): OkxReply {
    const wanted = q.get('ccy')?.split(',');
    const ccys = [...new Set([...a.avail.keys(), ...a.frozen.keys()])].filter((c) => !wanted || wanted.includes(c)).sort();
    const now = Date.now();
    const details = ccys.map((c) => {
      const avail = a.avail.get(c) ?? new Decimal(0);
      const frozen = a.frozen.get(c) ?? new Decimal(0);
      return balanceDetailWire(c, avail.toFixed(), frozen.toFixed(), avail.plus(frozen).toFixed(), now);
    });
    return ok([balanceWire(details, now)]);
  }

  placeOrder(a: FakeAccount, body: Wire, forceInsufficient: boolean): OkxReply {
    const clOrdId = typeof body.clOrdId === 'string' ? body.clOrdId : '';
    const inst = this.instruments.get(String(body.instId));
    if (!inst) return orderFail('51001', "Instrument ID or Spread ID doesn't exist.", clOrdId);
    if (clOrdId && [...a.orders.values()].some((o) => o.clOrdId === clOrdId && o.state === 'live')) {
      // OKX only refuses a clOrdId that a pending order holds; a filled one can be reused.
      return orderFail('51016', 'Duplicated clOrdId', clOrdId);
    }
    const side = body.side === 'sell' ? 'sell' : 'buy';
    const ordType = String(body.ordType);
    const [base, quote] = inst.instId.split('-');
    // OKX: tgtCcy applies to spot market orders only, by default quote_ccy for a buy, base_ccy for a sell.
    const tgtCcy = typeof body.tgtCcy === 'string' && body.tgtCcy !== '' ? body.tgtCcy : ordType === 'market' && side === 'buy' ? 'quote_ccy' : 'base_ccy';
    if (tgtCcy !== 'base_ccy' && tgtCcy !== 'quote_ccy') return fail(200, '51000', 'Parameter tgtCcy error');
    if (tgtCcy === 'quote_ccy' && ordType !== 'market') return fail(200, '51000', 'Parameter tgtCcy error');
    const szRaw = String(body.sz ?? '0');
    const sz = new Decimal(szRaw);
    const px = ordType === 'limit' ? new Decimal(String(body.px ?? '0')) : new Decimal(inst.last);
    if (px.lte(0)) return orderFail('51006', 'Order price is not within the price limit', clOrdId);
    // In quote units, sz buys (or, selling, raises) what that money gets at the fill, cut to the lot size.
    const qty = tgtCcy === 'quote_ccy' ? sz.div(px).toNearest(inst.lotSz, Decimal.ROUND_DOWN) : sz;
    if (!qty.mod(inst.lotSz).isZero()) return orderFail('51121', 'Order quantity must be a multiple of the lot size.', clOrdId);
    if (qty.lt(inst.minSz)) return orderFail('51020', 'Order amount should be greater than the min available amount.', clOrdId);

    const spendCcy = side === 'buy' ? quote : base;
    const spend = side === 'buy' ? qty.mul(px) : qty;
    // A quote-sized buy must have all of sz available, though the fill spends only base × price of it.
    const needed = side === 'buy' && tgtCcy === 'quote_ccy' ? sz : spend;
    if (forceInsufficient || (a.avail.get(spendCcy) ?? new Decimal(0)).lt(needed)) {
      return orderFail('51008', `Order failed. Insufficient ${spendCcy} balance in account.`, clOrdId);
    }
    const now = Date.now();
    const order: FakeOrder = {
      ordId: String(this.nextId++),
      clOrdId,
      instId: inst.instId,
      side,
      ordType,
      tgtCcy,
      sz: szRaw,
      px: ordType === 'limit' ? px.toFixed() : '',
      state: 'live',
      accFillSz: '0',
      avgPx: '',
      fee: '0',
      feeCcy: side === 'buy' ? base : quote,
      tradeId: '',
      cTime: now,
      uTime: now,
      frozenCcy: spendCcy,
      frozenAmt: '0',
    };
    this.add(a.avail, spendCcy, spend.neg());
    if (ordType === 'market') {
      const fee = side === 'buy' ? qty.mul(TAKER_FEE) : qty.mul(px).mul(TAKER_FEE);
      const gain = side === 'buy' ? qty : qty.mul(px);
      this.add(a.avail, order.feeCcy, gain.minus(fee));
      Object.assign(order, { state: 'filled', accFillSz: qty.toFixed(), avgPx: px.toFixed(), fee: fee.neg().toFixed(), tradeId: String(this.nextSeq++) });
    } else {
      this.add(a.frozen, spendCcy, spend);
      order.frozenAmt = spend.toFixed();
    }
    a.orders.set(order.ordId, order);
    return {
      status: 200,
      body: {
        code: '0',
        data: [{ clOrdId, ordId: order.ordId, sCode: '0', sMsg: 'Order placed', tag: '', ts: String(now) }],
        inTime: String(now * 1000),
        msg: '',
        outTime: String(now * 1000),
      },
    };
  }

  findOrder(a: FakeAccount, instId: string, ordId: string | null, clOrdId: string | null): FakeOrder | undefined {
    const matches = [...a.orders.values()].filter(
      (o) => o.instId === instId && ((ordId && o.ordId === ordId) || (!ordId && clOrdId && o.clOrdId === clOrdId)),
    );
    return matches[matches.length - 1]; // the latest order holding a reused clOrdId
  }

  orderReply(a: FakeAccount, q: URLSearchParams): OkxReply {
    if (!q.get('ordId') && !q.get('clOrdId')) return fail(200, '51407', 'Either order ID or client order ID is required.');
    const o = this.findOrder(a, q.get('instId') ?? '', q.get('ordId'), q.get('clOrdId'));
    return o ? ok([orderWire(o)]) : fail(200, '51603', 'Order does not exist');
  }

  cancelOrder(a: FakeAccount, body: Wire): OkxReply {
    const clOrdId = typeof body.clOrdId === 'string' ? body.clOrdId : '';
    const ordId = typeof body.ordId === 'string' ? body.ordId : null;
    const o = this.findOrder(a, String(body.instId ?? ''), ordId, clOrdId || null);
    if (!o) return orderFail('51400', 'Cancellation failed as the order has been filled, canceled or does not exist.', clOrdId, ordId ?? '');
    if (o.state === 'canceled') return orderFail('51401', 'Cancellation failed as the order has been canceled.', o.clOrdId, o.ordId);
    if (o.state === 'filled') return orderFail('51402', 'Cancellation failed as the order has been completed.', o.clOrdId, o.ordId);
    this.add(a.frozen, o.frozenCcy, new Decimal(o.frozenAmt).neg());
    this.add(a.avail, o.frozenCcy, new Decimal(o.frozenAmt));
    Object.assign(o, { state: 'canceled', uTime: Date.now(), frozenAmt: '0' });
    return ok([{ clOrdId: o.clOrdId, ordId: o.ordId, sCode: '0', sMsg: '', ts: String(Date.now()) }]);
  }

  depositAddressReply(a: FakeAccount, q: URLSearchParams): OkxReply {
    const ccy = q.get('ccy');
    if (!ccy) return fail(400, '50014', 'Parameter ccy can not be empty.');
    return ok(a.depositAddresses.filter((d) => d.ccy === ccy.toUpperCase()).map(depositAddressWire));
  }

  depositHistoryReply(a: FakeAccount, q: URLSearchParams): OkxReply {
    const before = q.get('before');
    const after = q.get('after');
    const rows = a.deposits
      .filter((d) => !q.get('ccy') || d.ccy === q.get('ccy'))
      .filter((d) => !q.get('txId') || d.txId === q.get('txId'))
      .filter((d) => !before || d.ts > Number(before))
      .filter((d) => !after || d.ts < Number(after))
      .sort((x, y) => y.ts - x.ts)
      .slice(0, Math.min(Number(q.get('limit') ?? '100'), 100));
    return ok(rows.map(depositWire));
  }

  private add(book: Map<string, Decimal>, ccy: string, delta: Decimal): void {
    book.set(ccy, (book.get(ccy) ?? new Decimal(0)).plus(delta));
  }
}
