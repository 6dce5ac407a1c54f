import { request } from 'node:http';

/** What a `POST /publish` answered. */
export interface PublishResult {
  /** 202 when the event was published, 503 while Redis is down, 0 when the node was unreachable. */
  readonly status: number;
  /** The event's id, when it was published. */
  readonly id?: string;
  /** Why not, otherwise. */
  readonly error?: string;
}

const PUBLISH_TIMEOUT_MS = 10_000;

/**
 * `POST <nodeUrl>/publish` with a text body: the node publishes it as a `message` event.
 *
 * ```ts
 * const { status, id } = await publish('http://127.0.0.1:41234', 'hello');
 * ```
 */
export function publish(nodeUrl: string, text: string): Promise<PublishResult> {
  return new Promise((resolve) => {
    const req = request(
      `${nodeUrl}/publish`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) },
        agent: false,
        timeout: PUBLISH_TIMEOUT_MS,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          try {
            const answer = JSON.parse(body) as { id?: string; error?: string };
            resolve({ status, ...answer });
          } catch {
            resolve({ status, error: body });
          }
        });
        res.on('error', (error) => resolve({ status: 0, error: error.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${PUBLISH_TIMEOUT_MS} ms`)));
    req.on('error', (error) => resolve({ status: 0, error: error.message }));
    req.end(text);
  });
}

export interface Publisher {
  /** Stops publishing; resolves once the publish under way (if any) has been answered. */
  stop(): Promise<void>;
}

/**
 * Publishes `message #1`, `message #2`… every `intervalMs` through a node picked at random, and
 * tells `onResult` how each went.
 *
 * ```ts
 * const publisher = startPublisher(nodes, 1000, (n, node, result) => console.log(n, result));
 * await publisher.stop();
 * ```
 */
export function startPublisher(
  nodes: readonly { readonly server: string; readonly url: string }[],
  intervalMs: number,
  onResult: (n: number, server: string, result: PublishResult) => void,
): Publisher {
  let n = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const tick = () => {
    n += 1;
    const node = nodes[Math.floor(Math.random() * nodes.length)]!;
    const number = n;
    inFlight = publish(node.url, `message #${number} via ${node.server}`).then((result) => {
      onResult(number, node.server, result);
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  timer = setTimeout(tick, 0);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
