// A clock for unit tests: time moves only when the test says so.
import type { Clock } from "../../src/controller/queue.ts";

/** Time that moves only when told to. */
export class FakeClock implements Clock {
  #now = 0;
  #timers: Array<{ at: number; fn: () => void }> = [];

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { at: this.#now + ms, fn };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(timer: unknown): void {
    this.#timers = this.#timers.filter((t) => t !== timer);
  }

  /** Fires the next timer due by `until` (time moves to it); false if there is none. */
  advanceToNext(until: number): boolean {
    const next = this.#timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
    if (!next) {
      this.#now = until;
      return false;
    }
    this.#timers = this.#timers.filter((t) => t !== next);
    this.#now = next.at;
    next.fn();
    return true;
  }

  /** Moves time on by `ms`, firing the timers due on the way. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const next = this.#timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.at;
      next.fn();
    }
    this.#now = until;
  }
}

/**
 * Runs the timers due until `until` one at a time, letting the promise jobs each one starts run
 * before the next, as the event loop would: for code that awaits the clock's timers.
 */
export async function runUntil(clock: FakeClock, until: number): Promise<void> {
  while (clock.now() < until) {
    await new Promise((resolve) => setImmediate(resolve));
    if (!clock.advanceToNext(until)) break;
  }
  await new Promise((resolve) => setImmediate(resolve));
}
