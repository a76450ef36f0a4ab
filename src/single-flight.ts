// Single flight: concurrent callers asking for the same key share one run of the work (one download, one model load)
// instead of each starting their own.

export interface Flight<T, Tag> {
  /** Says what the work needs no more: a result already there ends the wait (checked before joining or starting). */
  done?: () => T | undefined;
  /** Starts the work; its outcome is shared by everyone who joins while it runs. */
  work: () => Promise<T>;
  /** What this caller's run depends on (an API key): callers whose tag differs may decline a shared failure. */
  tag: Tag;
  /** True when `error`, the failure of a run started with `sharedTag`, is not this caller's answer: it runs its own. */
  retry?: (error: unknown, sharedTag: Tag) => boolean;
}

export class SingleFlight<K, T, Tag = undefined> {
  private readonly flights = new Map<K, { tag: Tag; promise: Promise<T> }>();

  /** True while a run for `key` is going on. */
  running(key: K): boolean {
    return this.flights.has(key);
  }

  /** Settles when the run for `key` going on now (if any) has ended, however it ended. */
  async settled(key: K): Promise<void> {
    await this.flights.get(key)?.promise.catch(() => undefined);
  }

  /** The outcome of the run for `key`: the one going on, else a new one. */
  async run(key: K, flight: Flight<T, Tag>): Promise<T> {
    for (;;) {
      const ready = flight.done?.();
      if (ready !== undefined) return ready;
      const shared = this.flights.get(key);
      if (!shared) return this.start(key, flight);
      try {
        return await shared.promise;
      } catch (error) {
        if (!flight.retry?.(error, shared.tag)) throw error;
      }
    }
  }

  private start(key: K, flight: Flight<T, Tag>): Promise<T> {
    const promise = flight.work().finally(() => {
      if (this.flights.get(key)?.promise === promise) this.flights.delete(key);
    });
    this.flights.set(key, { tag: flight.tag, promise });
    return promise;
  }
}
