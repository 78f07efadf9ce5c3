import type { IncomingMessage } from 'node:http';
import { ArgumentsHost, Catch, Inject, Logger, OnModuleDestroy, OnModuleInit, UseFilters } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayDisconnect, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { DataSource } from 'typeorm';
import { DatabaseUrlProvider, PgNotifyListener, Public } from '@torgovo/core';
import { SocketCredentials, SocketIdentity, SocketVerdict } from '@torgovo/users';
import { cursorAfter, encodeCursor, FeedCursor, NotificationsConfig, parseCursor, USER_EVENTS_CHANNEL, UserEvent, UserEventFeed } from '@torgovo/notifications';
import { LiveSnapshots, snapshotKey } from './live-snapshots';
import { CLOSE, INVALID_MESSAGE, offeredToken, WS_PATH } from './live-protocol';

const BATCH = 500;

/** What is used of a `ws` socket (the package ships no types; @types/ws is not a dependency). */
interface WebSocket {
  readonly readyState: number;
  readonly OPEN: number;
  readonly CONNECTING: number;
  send(data: string): void;
  close(code: number, reason: string): void;
}

interface SocketState {
  /** The credential's ids (never the token itself), re-checked before anything is sent. */
  identity?: SocketIdentity;
  /** The last event this socket was sent (or the feed position when it started). */
  last: FeedCursor;
  /**
   * Every event of this user after this cursor, up to `last`, has been sent on this socket (live
   * from its authentication on, and by its resumes): a resume does not send them again.
   */
  sentFrom?: FeedCursor;
  /** While a `resume` replays, live events wait here so the socket sees them in feed order. */
  queue?: UserEvent[];
  authTimer?: NodeJS.Timeout;
}

/**
 * `/api/ws`: pushes a user's own order, bot, subscription and payment changes. Every api replica
 * reads the one user-event feed in PostgreSQL (woken by NOTIFY, and polling — the only way on
 * embedded PGlite, where NOTIFY does not cross connections), so any replica serves any user; a
 * socket gets only events whose user, and whose resource's owner, is its authenticated user.
 */
/** Nest's default WS filter echoes the failing frame (with its token) back: answer plainly instead. */
@Catch()
class LiveExceptionFilter {
  private readonly logger = new Logger('LiveUpdatesGateway');
  catch(exception: unknown, host: ArgumentsHost): void {
    this.logger.error({ err: exception }, 'Live updates message failed');
    const ws = host.switchToWs().getClient<WebSocket>();
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'error', code: 'internal_error', message: 'Try again' }));
  }
}

// Authentication is the socket's own (first message or subprotocol), not the HTTP guard's: @Public.
@Public()
@UseFilters(new LiveExceptionFilter())
@WebSocketGateway({ path: WS_PATH, maxPayload: 16 * 1024, handleProtocols: (protocols: Set<string>) => selectProtocol(protocols) })
export class LiveUpdatesGateway implements OnGatewayConnection, OnGatewayDisconnect, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(LiveUpdatesGateway.name);
  private readonly sockets = new Map<WebSocket, SocketState>();
  private readonly listener: PgNotifyListener;
  private position?: FeedCursor;
  private pumping = false;
  private again = false;
  private pollTimer?: NodeJS.Timeout;
  private revalidateTimer?: NodeJS.Timeout;

  constructor(
    private readonly feed: UserEventFeed,
    private readonly snapshots: LiveSnapshots,
    private readonly credentials: SocketCredentials,
    @Inject(NotificationsConfig) private readonly config: NotificationsConfig,
    urls: DatabaseUrlProvider,
    @InjectDataSource() ds: DataSource,
  ) {
    this.listener = new PgNotifyListener(urls, ds, { channel: USER_EVENTS_CHANNEL, name: 'torgovo-live-updates', label: 'Live updates notifications' });
  }

  onModuleInit(): void {
    this.listener.start(() => void this.pump());
    this.pollTimer = setInterval(() => void this.pump(), this.config.WS_POLL_INTERVAL_MS);
    this.pollTimer.unref();
    this.revalidateTimer = setInterval(() => void this.revalidate(), this.config.WS_REVALIDATE_SECONDS * 1000);
    this.revalidateTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.pollTimer);
    clearInterval(this.revalidateTimer);
    for (const ws of this.sockets.keys()) ws.close(CLOSE.shutdown.code, CLOSE.shutdown.reason);
    await this.listener.close();
  }

  /** True once NOTIFY delivery is confirmed on this database (false on PGlite: polling only). */
  get listening(): boolean {
    return this.listener.listening;
  }

  async handleConnection(ws: WebSocket, req: IncomingMessage): Promise<void> {
    const state: SocketState = { last: { xid: 0n, id: 0n } };
    this.sockets.set(ws, state);
    const token = offeredToken(req.headers['sec-websocket-protocol']);
    if (token) return this.guarded(ws, () => this.authenticate(ws, state, token));
    state.authTimer = setTimeout(() => this.close(ws, CLOSE.unauthorized, 'no auth message in time'), this.config.WS_AUTH_TIMEOUT_SECONDS * 1000);
    state.authTimer.unref();
  }

  handleDisconnect(ws: WebSocket): void {
    const state = this.sockets.get(ws);
    clearTimeout(state?.authTimer);
    this.sockets.delete(ws);
  }

  @SubscribeMessage('auth')
  async onAuth(@ConnectedSocket() ws: WebSocket, @MessageBody() body: Record<string, unknown>): Promise<void> {
    const state = this.sockets.get(ws);
    if (!state) return;
    const token = body.access_token;
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) return this.close(ws, CLOSE.unauthorized, 'access_token missing');
    // A second auth (a fresh access token before the first expires) keeps the socket for the same user only.
    await this.guarded(ws, () => this.authenticate(ws, state, token));
  }

  @SubscribeMessage('resume')
  async onResume(@ConnectedSocket() ws: WebSocket, @MessageBody() body: Record<string, unknown>): Promise<void> {
    const state = this.sockets.get(ws);
    if (!state) return;
    if (!state.identity) return this.close(ws, CLOSE.unauthorized, 'authenticate first');
    const cursor = parseCursor(body.cursor);
    if (!cursor) return this.send(ws, { type: 'error', code: 'invalid_cursor', message: 'cursor must be a cursor string from an earlier event' });
    if (state.queue) return this.send(ws, { type: 'error', code: 'resume_in_progress', message: 'a resume is already replaying' });
    await this.guarded(ws, async () => {
      if (!(await this.feed.resumable(cursor))) {
        return this.send(ws, { type: 'resync', reason: 'cursor_expired', message: 'Events after this cursor are no longer kept: reload the state over REST' });
      }
      await this.replay(ws, state, cursor);
    });
  }

  /** Handler errors never reach Nest's WS exception filter, which would echo the frame (and its token) back. */
  private async guarded(ws: WebSocket, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.logger.error({ err }, 'Live updates message failed');
      this.send(ws, { type: 'error', code: 'internal_error', message: 'Try again' });
    }
  }

  @SubscribeMessage('ping')
  onPing(@ConnectedSocket() ws: WebSocket): void {
    this.send(ws, { type: 'pong' });
  }

  @SubscribeMessage(INVALID_MESSAGE)
  onInvalid(@ConnectedSocket() ws: WebSocket): void {
    this.send(ws, { type: 'error', code: 'invalid_message', message: 'Send JSON objects with "type": auth, resume or ping' });
  }

  /** Runs one feed pass now (tests; the timers and NOTIFY call it otherwise). */
  async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Live updates pass failed; next tick retries');
    } finally {
      this.pumping = false;
    }
  }

  private async pass(): Promise<void> {
    if (![...this.sockets.values()].some((s) => s.identity)) {
      // Nobody to tell: no reading; the next authenticated socket starts at the feed's end.
      this.position = undefined;
      return;
    }
    if (!this.position) return;
    for (;;) {
      const events = await this.feed.after(this.position, BATCH);
      if (events.length === 0) return;
      this.position = events[events.length - 1].cursor;
      await this.deliver(events);
      if (events.length < BATCH) return;
    }
  }

  private async deliver(events: UserEvent[]): Promise<void> {
    const byUser = new Map<string, Array<[WebSocket, SocketState]>>();
    for (const [ws, state] of this.sockets) {
      if (!state.identity) continue;
      const list = byUser.get(state.identity.user_id) ?? [];
      list.push([ws, state]);
      byUser.set(state.identity.user_id, list);
    }
    const mine = events.filter((e) => byUser.has(e.user_id));
    if (mine.length === 0) return;
    for (const e of mine) {
      if (e.type !== 'user.deactivated') continue;
      for (const [ws] of byUser.get(e.user_id) ?? []) this.close(ws, CLOSE.revoked, 'user deactivated');
    }
    // The credential is decided now, for every recipient at once, not only when the socket started:
    // a token revoked, a plan that lost the API, a session logged out or an access token that
    // expired since then receives nothing more and is closed.
    const recipients = [...new Set(mine.map((e) => e.user_id))].flatMap((userId) => byUser.get(userId) ?? []).filter(([ws]) => this.sockets.has(ws));
    // Checked after the snapshots are read, not beside them: a credential still valid at a check that
    // started after the read was valid when the read was made, so nothing sent shows a state from after
    // a revocation (a check run alongside could pass before the revocation while the read saw after it).
    const snapshots = await this.snapshots.load(mine);
    await this.closeEnded(recipients);
    for (const e of mine) {
      for (const [ws, state] of byUser.get(e.user_id) ?? []) {
        if (!this.sockets.has(ws)) continue;
        // A resume under way checks the credential again before it sends what waits here.
        if (state.queue) state.queue.push(e);
        else this.push(ws, state, e, snapshots.get(snapshotKey(e.type, e.entity_id)));
      }
    }
  }

  private push(ws: WebSocket, state: SocketState, e: UserEvent, snap: { user_id: string; data: object } | undefined): void {
    if (!cursorAfter(e.cursor, state.last)) return;
    state.last = e.cursor;
    // The resource is gone (an erased row) or, never expected, not the socket user's: nothing to send.
    if (e.type === 'user.deactivated' || !snap || snap.user_id !== state.identity?.user_id || e.user_id !== state.identity.user_id) return;
    this.send(ws, { type: e.type, cursor: encodeCursor(e.cursor), data: snap.data });
  }

  private async replay(ws: WebSocket, state: SocketState, from: FeedCursor): Promise<void> {
    const userId = state.identity!.user_id;
    // What this socket already has: pushed live between its authentication and this resume (the
    // gateway's feed position can be behind the feed's head when a socket starts, so events after
    // the client's cursor may have reached it already).
    const sentFrom = state.sentFrom;
    const sentTo = state.last;
    const alreadySent = (e: UserEvent) => sentFrom !== undefined && cursorAfter(e.cursor, sentFrom) && !cursorAfter(e.cursor, sentTo);
    state.queue = [];
    state.last = from;
    try {
      for (;;) {
        const events = await this.feed.after(state.last, BATCH, userId);
        if (events.length === 0) break;
        const toSend = events.filter((e) => !alreadySent(e));
        // The check after the read, as in deliver.
        const snapshots = await this.snapshots.load(toSend);
        if (!(await this.stillValid(ws, state))) return;
        for (const e of toSend) this.push(ws, state, e, snapshots.get(snapshotKey(e.type, e.entity_id)));
        state.last = events[events.length - 1].cursor;
        if (events.length < BATCH) break;
      }
      // Never behind what the socket was sent.
      if (cursorAfter(sentTo, state.last)) state.last = sentTo;
      // Sent now: everything after `from` (the replay) joined to what was sent before, unless the
      // client's cursor is past all of it (then only what follows its cursor counts as sent).
      if (sentFrom === undefined || cursorAfter(sentFrom, from) || cursorAfter(from, sentTo)) state.sentFrom = from;
      const queued = state.queue;
      state.queue = undefined;
      if (queued.length > 0) {
        const snapshots = await this.snapshots.load(queued);
        if (!(await this.stillValid(ws, state))) return;
        for (const e of queued) this.push(ws, state, e, snapshots.get(snapshotKey(e.type, e.entity_id)));
      }
      this.send(ws, { type: 'resumed', cursor: encodeCursor(state.last) });
    } catch (err) {
      state.queue = undefined;
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Resume failed');
      this.send(ws, { type: 'error', code: 'resume_failed', message: 'Try resume again' });
    }
  }

  private async authenticate(ws: WebSocket, state: SocketState, token: string): Promise<void> {
    let identity: SocketIdentity;
    try {
      identity = await this.credentials.authenticate(token);
    } catch {
      return this.close(ws, CLOSE.unauthorized, 'invalid or expired token');
    }
    if (state.identity && state.identity.user_id !== identity.user_id) return this.close(ws, CLOSE.unauthorized, 'a socket serves one user');
    clearTimeout(state.authTimer);
    const first = !state.identity;
    state.identity = identity;
    if (first) {
      // Start at the feed's current end: events from here on are pushed; earlier ones via resume.
      this.position ??= await this.feed.head();
      state.last = this.position;
      state.sentFrom = this.position;
    }
    // A deactivation, a token revocation or a logout that committed after the credential check: a
    // user.deactivated event went by before this socket had an identity, and nothing is published for
    // the others. One committed after this check is caught by the next delivery's check.
    if (!(await this.stillValid(ws, state))) return;
    this.send(ws, { type: 'authenticated', cursor: encodeCursor(state.last) });
  }

  /**
   * The backstop: closes idle sockets whose credential ended (each delivery checks its recipients
   * anyway), so a socket that is sent nothing does not stay open on a dead credential.
   */
  private async revalidate(): Promise<void> {
    try {
      await this.closeEnded([...this.sockets].filter(([, s]) => s.identity));
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Socket revalidation failed');
    }
  }

  /** Checks these sockets' credentials in one batch and closes those that ended. */
  private async closeEnded(sockets: Array<[WebSocket, SocketState]>): Promise<void> {
    const checked = sockets.map(([ws, state]) => ({ ws, state, identity: state.identity! }));
    const verdicts = await this.credentials.check(checked.map((c) => c.identity));
    for (const { ws, state, identity } of checked) {
      const verdict = verdicts.get(identity) ?? 'revoked';
      // A socket that authenticated again meanwhile holds a credential checked just now: that one counts.
      if (verdict !== 'valid' && state.identity === identity) this.closeFor(ws, verdict);
    }
  }

  /** The socket's credential checked now; closed (and false) when it ended. */
  private async stillValid(ws: WebSocket, state: SocketState): Promise<boolean> {
    const identity = state.identity!;
    const verdict = (await this.credentials.check([identity])).get(identity) ?? 'revoked';
    if (verdict === 'valid' || state.identity !== identity) return this.sockets.has(ws);
    this.closeFor(ws, verdict);
    return false;
  }

  private closeFor(ws: WebSocket, verdict: Exclude<SocketVerdict, 'valid'>): void {
    if (verdict === 'expired') this.close(ws, CLOSE.expired, 'access token expired: reconnect with a fresh one and resume');
    else this.close(ws, CLOSE.revoked, 'credential ended: token revoked, session ended, plan without API access or user deactivated');
  }

  private send(ws: WebSocket, message: object): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  }

  private close(ws: WebSocket, code: { code: number; reason: string }, detail: string): void {
    this.logger.debug({ code: code.code, detail }, 'Live updates socket closed');
    const state = this.sockets.get(ws);
    clearTimeout(state?.authTimer);
    this.sockets.delete(ws);
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code.code, code.reason);
  }
}

function selectProtocol(protocols: Set<string>): string | false {
  // Browsers can set no Authorization header on a WebSocket: the token may come as a subprotocol
  // (["bearer", token]); the server must pick one the client offered, so it echoes "bearer".
  if (protocols.has('bearer')) return 'bearer';
  const first = protocols.values().next();
  return first.done ? false : first.value;
}
