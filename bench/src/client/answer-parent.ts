/** A load generator older than this is a leftover of a crashed run: it exits on its own. */
const MAX_LIFETIME_MS = 90 * 60_000;

/** What a reply carries besides its `op` and `id`. */
export type ReplyBody<From> = Omit<Extract<From, { op: 'reply' }>, 'op' | 'id'>;

/**
 * A child process's side of its IPC with the run: each request (`op`, `id`) gets one reply with
 * its `id` and what `answer` resolves to; `exit` is answered, then the process exits, as it does
 * when the run goes away. Says `ready` once listening.
 */
export function answerParent<To extends { op: string; id: number }, From extends { op: string }>(
  answer: (request: Exclude<To, { op: 'exit' }>) => Promise<ReplyBody<From>> | ReplyBody<From>,
): void {
  process.on('message', (request: To) => {
    void (async () => {
      if (request.op === 'exit') {
        process.send?.({ op: 'reply', id: request.id });
        setImmediate(() => process.exit(0));
        return;
      }
      const body = await answer(request as Exclude<To, { op: 'exit' }>);
      process.send?.({ op: 'reply', id: request.id, ...body });
    })();
  });
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => process.exit(3), MAX_LIFETIME_MS).unref();
  process.send?.({ op: 'ready' });
}
