// A SchedulerLike whose clock moves only when the test calls advance(): deterministic timers.
import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

interface Entry {
  at: number;
  order: number;
  run: () => void;
  sub: Subscription;
}

export class ManualScheduler implements SchedulerLike {
  private t = 0;
  private order = 0;
  private entries: Entry[] = [];

  now(): number {
    return this.t;
  }

  get pending(): number {
    return this.entries.filter((e) => !e.sub.closed).length;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay = 0, state?: T): Subscription {
    const sub = new Subscription();
    const action = Object.assign(sub, {
      schedule: (s?: T, d = 0): Subscription => this.schedule(work, d, s),
    }) as unknown as SchedulerAction<T>;
    const entry: Entry = { at: this.t + delay, order: this.order++, run: () => work.call(action, state as T), sub };
    sub.add(() => (this.entries = this.entries.filter((e) => e !== entry)));
    this.entries.push(entry);
    return sub;
  }

  /** Moves the clock forward by ms, running due actions in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.entries.filter((e) => e.at <= end).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!next) break;
      this.entries = this.entries.filter((e) => e !== next);
      this.t = next.at;
      next.run();
    }
    this.t = end;
  }
}
