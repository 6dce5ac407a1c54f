import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { EventSource as EventSourceV4 } from 'eventsource';
import { EventSource as ImportedEventSource } from 'undici';
import {
  type ClientConnection,
  type ClientDriver,
  type KnownDeviations,
  type ReceivedEvent,
  waitForCount,
} from './types.js';

interface EventSourceLike {
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
  readonly readyState: number;
}

type EventSourceConstructor = new (url: string) => EventSourceLike;

function nodeDriver(
  name: string,
  EventSource: EventSourceConstructor,
  deviations: KnownDeviations,
): ClientDriver {
  return {
    name,
    deviations,
    async open(url, types = ['message']): Promise<ClientConnection> {
      const source = new EventSource(url);
      const received: ReceivedEvent[] = [];
      for (const type of types) {
        source.addEventListener(type, (event) => {
          received.push({ type, data: String(event.data), lastEventId: event.lastEventId });
        });
      }
      const read = async () => [...received];
      return {
        events: read,
        waitForEvents: (count, timeoutMs = 8000) => waitForCount(read, count, timeoutMs, name),
        readyState: async () => source.readyState,
        close: async () => source.close(),
      };
    },
    dispose: async () => {},
  };
}

/**
 * undici's `EventSource`. Bun answers the `undici` specifier with a stub of its own (an
 * `EventSource` without `close()`), so there the library is required by its file's path.
 */
export const UndiciEventSource: typeof ImportedEventSource =
  'Bun' in globalThis
    ? (
        createRequire(import.meta.url)(
          fileURLToPath(new URL('../../node_modules/undici/index.js', import.meta.url)),
        ) as { EventSource: typeof ImportedEventSource }
      ).EventSource
    : ImportedEventSource;

export const undiciDriver = (): ClientDriver =>
  nodeDriver('undici EventSource', UndiciEventSource as unknown as EventSourceConstructor, {});

export const eventsourceV4Driver = (): ClientDriver =>
  nodeDriver('eventsource@4', EventSourceV4 as unknown as EventSourceConstructor, {
    lastEventIdResetsWithoutId: true,
    nulInIdResetsId: true,
  });
