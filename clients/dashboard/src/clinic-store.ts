// What the dashboard knows about the clinic's live sessions, from the clinic subscription only: every
// session of the clinic on every node (`session.started`, repeated by each node as presence),
// `snapshot`s, `update`s, `session.ended` and `taskpack.ready` (the report of a finished session, told
// as soon as its pack is stored). Bounded: at most MAX_SESSIONS entries, each with a
// bounded history. Cleared on disconnect, so nothing stale is shown while the page cannot be sure.
import type { LiveServerMessage, SessionStarted } from '../../../src/protocol/index.js';
import { SessionHistory, toState, type State } from './session-state.js';

/** A live session not heard of (update or presence) for this long is dropped: its node is gone. */
export const PRESENCE_TIMEOUT_MS = 7000;
/** Sessions tracked at once (a clinic's live sessions; beyond it the oldest-heard is dropped). */
export const MAX_SESSIONS = 256;
/** Sessions that ended while the page watched, kept for the "finished" list until the server lists them. */
const MAX_ENDED = 50;
/** Task packs announced while the page watched (session → pack), oldest dropped first. */
export const MAX_REPORTS = 500;

export interface LiveEntry {
  readonly sessionId: string;
  /** Unknown until this page has seen the session's `session.started` (updates can come first). */
  info: SessionStarted | undefined;
  readonly history: SessionHistory;
  latest: State | undefined;
  heardAt: number;
}

export interface EndedEntry {
  readonly info: SessionStarted;
  readonly frames: number;
  readonly endedAt: number;
}

export class ClinicStore {
  readonly live = new Map<string, LiveEntry>();
  readonly ended = new Map<string, EndedEntry>();
  /** Session id → its task pack, from `taskpack.ready` (packs never change, so an entry stays true). */
  readonly reports = new Map<string, string>();
  /** Last error the server sent (code + message), e.g. FORBIDDEN for a wrong clinic. */
  lastError: { code: string; message: string } | undefined;

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Forget every live session (disconnect); ended ones stay (they are facts, not live state). */
  reset(): void {
    this.live.clear();
  }

  /** Applies one message; returns the session it concerned, if any. */
  apply(m: LiveServerMessage): string | undefined {
    switch (m.type) {
      case 'session.started': {
        if (this.ended.has(m.sessionId)) return undefined; // a late presence beat after the end
        const e = this.entry(m.sessionId);
        e.info = m;
        return m.sessionId;
      }
      case 'snapshot': {
        if (this.ended.has(m.sessionId)) return undefined;
        const e = this.entry(m.sessionId);
        for (const u of m.updates) this.add(e, toState(u));
        return m.sessionId;
      }
      case 'update': {
        if (this.ended.has(m.sessionId)) return undefined;
        this.add(this.entry(m.sessionId), toState(m));
        return m.sessionId;
      }
      case 'session.ended': {
        const e = this.live.get(m.sessionId);
        this.live.delete(m.sessionId);
        if (e?.info) {
          this.ended.set(m.sessionId, { info: e.info, frames: m.frames, endedAt: this.now() });
          while (this.ended.size > MAX_ENDED) this.ended.delete(this.ended.keys().next().value as string);
        }
        return m.sessionId;
      }
      case 'taskpack.ready': {
        this.reports.delete(m.sessionId);
        this.reports.set(m.sessionId, m.taskpackId);
        while (this.reports.size > MAX_REPORTS) this.reports.delete(this.reports.keys().next().value as string);
        return m.sessionId;
      }
      case 'error':
        this.lastError = { code: m.code, message: m.message };
        return undefined;
    }
  }

  /** Drops sessions whose node went silent; returns their ids. */
  expire(): string[] {
    const cutoff = this.now() - PRESENCE_TIMEOUT_MS;
    const gone = [...this.live.values()].filter((e) => e.heardAt < cutoff).map((e) => e.sessionId);
    for (const id of gone) this.live.delete(id);
    return gone;
  }

  private add(e: LiveEntry, s: State): void {
    if (e.history.push(s)) e.latest = s;
  }

  private entry(sessionId: string): LiveEntry {
    let e = this.live.get(sessionId);
    if (!e) {
      if (this.live.size >= MAX_SESSIONS) {
        const oldest = [...this.live.values()].sort((a, b) => a.heardAt - b.heardAt)[0];
        if (oldest) this.live.delete(oldest.sessionId);
      }
      e = { sessionId, info: undefined, history: new SessionHistory(sessionId), latest: undefined, heardAt: this.now() };
      this.live.set(sessionId, e);
    }
    e.heardAt = this.now();
    return e;
  }
}
