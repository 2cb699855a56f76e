// A uWS WebSocket seen as a session-layer Peer / LiveSubscriber. uWS throws on any access to a closed
// socket, so `closed` is tracked here (set in the route's close handler) and every send is guarded.
import type { WebSocket } from 'uWebSockets.js';
import type { LiveSubscriber } from '../sessions/live-hub.js';
import type { OutMessage, Peer, Principal, SendResult } from '../sessions/types.js';
import type { InvalidMessageWindow } from './invalid-messages.js';
import type { TokenBucket } from './rate-limit.js';
import { sendResult } from './types.js';
import type { UpgradeData } from './upgrade.js';

export interface SocketData extends UpgradeData {
  peer?: WsPeer;
  bucket?: TokenBucket;
  invalid?: InvalidMessageWindow;
}

let nextId = 1;

export class WsPeer implements Peer, LiveSubscriber {
  readonly id = nextId++;
  closed = false;
  private corked = false;

  constructor(
    private readonly ws: WebSocket<SocketData>,
    readonly principal: Principal,
    private readonly encode: (msg: OutMessage) => Uint8Array,
  ) {}

  send(msg: OutMessage): SendResult {
    return this.sendBytes(this.encode(msg));
  }

  /** Sends outside a handler (acks and feedback arrive from promise callbacks) are corked too. */
  sendBytes(bytes: Uint8Array): SendResult {
    if (this.closed) return 'closed';
    if (this.corked) return sendResult(this.ws.send(bytes, true, false));
    let r: SendResult = 'closed';
    this.cork(() => (r = sendResult(this.ws.send(bytes, true, false))));
    return r;
  }

  bufferedAmount(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  cork(fn: () => void): void {
    if (this.closed || this.corked) return fn();
    this.corked = true;
    try {
      this.ws.cork(fn);
    } finally {
      this.corked = false;
    }
  }

  topic(topic: string, on: boolean): void {
    if (this.closed) return;
    if (on) this.ws.subscribe(topic);
    else this.ws.unsubscribe(topic);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason);
  }
}
