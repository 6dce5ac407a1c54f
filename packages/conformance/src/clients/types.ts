/** One event as a client's `EventSource` dispatched it. */
export interface ReceivedEvent {
  type: string;
  data: string;
  lastEventId: string;
}

/** Where a client departs from the WHATWG spec. Listed, asserted as such, never hidden. */
export interface KnownDeviations {
  /**
   * Spec: an event without an `id:` field keeps the last event id (`MessageEvent.lastEventId`),
   * also after a reconnect. eventsource@4 reports `''` instead (fixed in eventsource@5, which
   * needs Node 22).
   */
  lastEventIdResetsWithoutId?: true;
  /**
   * Spec: an `id:` whose value contains U+0000 is ignored (the previous id stays). eventsource@4
   * resets the id to `''`.
   */
  nulInIdResetsId?: true;
}

/** A live `EventSource` in some client, recording every event of the listened-for types. */
export interface ClientConnection {
  /** Everything received so far. */
  events(): Promise<ReceivedEvent[]>;
  /** Resolves once `count` events have arrived; rejects after `timeoutMs` saying what arrived. */
  waitForEvents(count: number, timeoutMs?: number): Promise<ReceivedEvent[]>;
  /** `EventSource.readyState`: 0 connecting, 1 open, 2 closed. */
  readyState(): Promise<number>;
  close(): Promise<void>;
}

/** A real SSE client the suite drives: a Node library, or a browser. */
export interface ClientDriver {
  readonly name: string;
  readonly deviations: KnownDeviations;
  /** Opens `new EventSource(url)` listening for `types` (default: `message`). */
  open(url: string, types?: readonly string[]): Promise<ClientConnection>;
  /** Frees what the driver holds (a browser). */
  dispose(): Promise<void>;
}

export async function waitForCount(
  read: () => Promise<ReceivedEvent[]>,
  count: number,
  timeoutMs: number,
  clientName: string,
): Promise<ReceivedEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await read();
    if (events.length >= count) return events;
    if (Date.now() > deadline) {
      throw new Error(
        `${clientName}: timed out after ${timeoutMs} ms with ${events.length}/${count} events: ${JSON.stringify(events).slice(0, 2000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
