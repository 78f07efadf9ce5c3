// OKX v5 wire shapes. Field lists and sample values come from real OKX responses recorded in
// ccxt's test data (ccxt/ccxt ts/src/test/static/response/okx.json) and OKX's API docs;
// every number is a string on the wire, as OKX sends it.

export type Wire = Record<string, unknown>;

export interface FakeInstrument {
  instId: string;
  tickSz: string;
  lotSz: string;
  minSz: string;
  /** Starting ticker: last, bid, ask. */
  last: string;
  bid: string;
  ask: string;
}

// tickSz/lotSz/minSz as OKX lists them; BTC and LTC prices from the recorded ticker/order samples.
export const FAKE_INSTRUMENTS: FakeInstrument[] = [
  { instId: 'BTC-USDT', tickSz: '0.1', lotSz: '0.00000001', minSz: '0.00001', last: '73384.8', bid: '73384.7', ask: '73384.8' },
  { instId: 'ETH-USDT', tickSz: '0.01', lotSz: '0.000001', minSz: '0.0001', last: '2994.5', bid: '2994.49', ask: '2994.5' },
  { instId: 'SOL-USDT', tickSz: '0.01', lotSz: '0.000001', minSz: '0.001', last: '142.37', bid: '142.36', ask: '142.37' },
  { instId: 'LTC-USDT', tickSz: '0.01', lotSz: '0.000001', minSz: '0.001', last: '101.58', bid: '101.57', ask: '101.58' },
  { instId: 'XRP-USDT', tickSz: '0.0001', lotSz: '0.000001', minSz: '1', last: '0.5312', bid: '0.5311', ask: '0.5312' },
  { instId: 'BNB-USDT', tickSz: '0.01', lotSz: '0.000001', minSz: '0.001', last: '612.3', bid: '612.29', ask: '612.3' },
  { instId: 'DOGE-USDT', tickSz: '0.00001', lotSz: '0.000001', minSz: '10', last: '0.16321', bid: '0.1632', ask: '0.16321' },
];

export function instrumentWire(i: FakeInstrument): Wire {
  const [baseCcy, quoteCcy] = i.instId.split('-');
  return {
    alias: '',
    auctionEndTime: '',
    baseCcy,
    category: '1',
    contTdSwTime: '',
    ctMult: '',
    ctType: '',
    ctVal: '',
    ctValCcy: '',
    expTime: '',
    futureSettlement: false,
    groupId: '1',
    instFamily: '',
    instId: i.instId,
    instType: 'SPOT',
    lever: '10',
    listTime: '1548133413000',
    lotSz: i.lotSz,
    maxIcebergSz: '9999999999.0000000000000000',
    maxLmtAmt: '1000000',
    maxLmtSz: '9999999999',
    maxMktAmt: '1000000',
    maxMktSz: '1000000',
    maxStopSz: '1000000',
    maxTriggerSz: '9999999999.0000000000000000',
    maxTwapSz: '9999999999.0000000000000000',
    minSz: i.minSz,
    openType: '',
    optType: '',
    preMktSwTime: '',
    quoteCcy,
    ruleType: 'normal',
    settleCcy: '',
    state: 'live',
    stk: '',
    tickSz: i.tickSz,
    tradeQuoteCcyList: [quoteCcy],
    uly: '',
  };
}

export function tickerWire(i: FakeInstrument, ts: number): Wire {
  return {
    instType: 'SPOT',
    instId: i.instId,
    last: i.last,
    lastSz: '0.00007722',
    askPx: i.ask,
    askSz: '0.40193728',
    bidPx: i.bid,
    bidSz: '0.0655768',
    open24h: i.last,
    high24h: i.last,
    low24h: i.last,
    volCcy24h: '1519926359.597266598',
    vol24h: '21266.19145051',
    ts: String(ts),
    sodUtc0: i.last,
    sodUtc8: i.last,
  };
}

/** One currency of GET /api/v5/account/balance `details` (spot cash: eq = cashBal = avail + frozen). */
export function balanceDetailWire(ccy: string, avail: string, frozen: string, cash: string, uTime: number): Wire {
  return {
    accAvgPx: '',
    availBal: avail,
    availEq: avail,
    borrowFroz: '0',
    cashBal: cash,
    ccy,
    clSpotInUseAmt: '',
    colBorrAutoConversion: '0',
    collateralEnabled: false,
    collateralRestrict: false,
    crossLiab: '0',
    disEq: '0',
    eq: cash,
    eqUsd: '0',
    fixedBal: '0',
    frozenBal: frozen,
    imr: '',
    interest: '0',
    isoEq: '0',
    isoLiab: '0',
    isoUpl: '0',
    liab: '0',
    maxLoan: '0',
    maxSpotInUse: '',
    mgnRatio: '',
    mmr: '',
    notionalLever: '',
    openAvgPx: '',
    ordFrozen: frozen,
    rewardBal: '',
    smtSyncEq: '0',
    spotBal: '',
    spotCopyTradingEq: '0',
    spotInUseAmt: '',
    spotIsoBal: '0',
    spotUpl: '',
    spotUplRatio: '',
    stgyEq: '0',
    totalPnl: '',
    totalPnlRatio: '',
    twap: '0',
    uTime: String(uTime),
    upl: '0',
    uplLiab: '0',
  };
}

export function balanceWire(details: Wire[], uTime: number): Wire {
  return {
    adjEq: '',
    availEq: '',
    borrowFroz: '',
    details,
    imr: '',
    isoEq: '0',
    mgnRatio: '',
    mmr: '',
    notionalUsd: '',
    notionalUsdForBorrow: '',
    notionalUsdForFutures: '',
    notionalUsdForOption: '',
    notionalUsdForSwap: '',
    ordFroz: '',
    totalEq: '0',
    uTime: String(uTime),
    upl: '',
  };
}

/**
 * GET /api/v5/account/config, data[0]: the fields of the real sample in ccxt's okx.fetchAccounts
 * (ccxt/ccxt js/src/okx.js), with the key's own `perm` and `ip`.
 */
export function accountConfigWire(uid: string, perm: string, ip: string): Wire {
  return {
    acctLv: '1',
    acctStpMode: 'cancel_maker',
    autoLoan: false,
    ctIsoMode: 'automatic',
    enableSpotBorrow: false,
    greeksType: 'PA',
    feeType: '0',
    ip,
    type: '0',
    kycLv: '2',
    label: 'torgovo test key',
    level: 'Lv1',
    levelTmp: '',
    liquidationGear: '-1',
    mainUid: uid,
    mgnIsoMode: 'automatic',
    opAuth: '1',
    perm,
    posMode: 'net_mode',
    roleType: '0',
    spotBorrowAutoRepay: false,
    spotOffsetType: '',
    spotRoleType: '0',
    spotTraderInsts: [],
    traderInsts: [],
    uid,
    settleCcy: 'USDT',
    settleCcyList: ['USD', 'USDC', 'USDG'],
  };
}

export interface FakeOrder {
  ordId: string;
  clOrdId: string;
  instId: string;
  side: 'buy' | 'sell';
  ordType: string;
  tgtCcy: string;
  sz: string;
  px: string;
  /** order_failed: OKX accepted the order, then failed it (set by a test). */
  state: 'live' | 'filled' | 'canceled' | 'order_failed';
  accFillSz: string;
  avgPx: string;
  fee: string;
  feeCcy: string;
  tradeId: string;
  cTime: number;
  uTime: number;
  /** What the order holds in frozenBal while live. */
  frozenCcy: string;
  frozenAmt: string;
}

/** GET /api/v5/trade/order row, the field set of the recorded spot order sample. */
export function orderWire(o: FakeOrder): Wire {
  const [, quote] = o.instId.split('-');
  const filled = o.state === 'filled';
  return {
    accFillSz: o.accFillSz,
    algoClOrdId: '',
    algoId: '',
    attachAlgoClOrdId: '',
    attachAlgoOrds: [],
    avgPx: o.avgPx,
    cTime: String(o.cTime),
    cancelSource: o.state === 'canceled' ? '1' : '',
    cancelSourceReason: o.state === 'canceled' ? 'Order canceled by user' : '',
    category: 'normal',
    ccy: '',
    clOrdId: o.clOrdId,
    fee: o.fee,
    feeCcy: o.feeCcy,
    fillPx: o.avgPx,
    fillSz: o.accFillSz,
    fillTime: filled ? String(o.uTime) : '',
    instId: o.instId,
    instType: 'SPOT',
    isTpLimit: 'false',
    lever: '',
    linkedAlgoOrd: { algoId: '' },
    ordId: o.ordId,
    ordType: o.ordType,
    pnl: '0',
    posSide: 'net',
    px: o.px,
    pxType: '',
    pxUsd: '',
    pxVol: '',
    quickMgnType: '',
    rebate: '0',
    rebateCcy: quote,
    reduceOnly: 'false',
    side: o.side,
    slOrdPx: '',
    slTriggerPx: '',
    slTriggerPxType: '',
    source: '',
    state: o.state,
    stpId: '',
    stpMode: 'cancel_maker',
    sz: o.sz,
    tag: '',
    tdMode: 'cash',
    tgtCcy: o.tgtCcy,
    tpOrdPx: '',
    tpTriggerPx: '',
    tpTriggerPxType: '',
    tradeId: o.tradeId,
    uTime: String(o.uTime),
  };
}

export interface FakeDepositAddress {
  ccy: string;
  chain: string;
  addr: string;
  selected: boolean;
  /** TON-style memo, sent as addrEx.comment. */
  comment?: string;
}

export function depositAddressWire(a: FakeDepositAddress): Wire {
  return {
    chain: a.chain,
    ...(a.comment ? { addrEx: { comment: a.comment } } : {}),
    ctAddr: '',
    ccy: a.ccy,
    to: '6',
    verifiedName: '',
    addr: a.addr,
    selected: a.selected,
  };
}

export interface FakeDeposit {
  ccy: string;
  chain: string;
  amt: string;
  to: string;
  txId: string;
  /** 0 waiting for confirmation, 1 credited, 2 successful, 8 pending (deposits of the coin suspended). */
  state: string;
  ts: number;
  depId: string;
  /** Memo/tag of the deposit, for chains that need one (OKX lists it as `tag`). */
  tag?: string;
}

export function depositWire(d: FakeDeposit): Wire {
  return {
    actualDepBlkConfirm: d.state === '0' ? '1' : '32',
    amt: d.amt,
    areaCodeFrom: '',
    ccy: d.ccy,
    chain: d.chain,
    depId: d.depId,
    from: '',
    fromWdId: '',
    state: d.state,
    to: d.to,
    ts: String(d.ts),
    txId: d.txId,
    ...(d.tag ? { tag: d.tag } : {}),
  };
}
