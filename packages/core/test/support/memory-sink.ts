import type { SseSink } from '../../src/adapter.js';

const decoder = new TextDecoder();

/** What the engine sends as a heartbeat: one comment line, no blank line (see src/engine/heartbeat.ts). */
export const HEARTBEAT = ':\n';

/** Called on every write; a returned promise is the backpressure the engine must await. */
export type WriteHook = (chunk: Uint8Array, sink: MemorySink) => undefined | Promise<void>;

/** An in-memory SseSink: records what the engine hands it and does to it. */
export class MemorySink implements SseSink {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  status: number | undefined;
  headers: Readonly<Record<string, string>> | undefined;
  /** The chunks as handed over (the same objects: encode-once is checked by identity). */
  readonly raw: Uint8Array[] = [];
  /** The order of calls: `head`, `write`, `close`. */
  readonly calls: string[] = [];
  closeCount = 0;
  writesAfterClose = 0;

  constructor(private readonly onWrite?: WriteHook) {}

  head(status: number, headers: Readonly<Record<string, string>>): void {
    this.calls.push('head');
    this.status = status;
    this.headers = { ...headers };
  }

  write(chunk: Uint8Array): undefined | Promise<void> {
    this.calls.push('write');
    if (this.closeCount > 0) this.writesAfterClose += 1;
    this.raw.push(chunk);
    return this.onWrite?.(chunk, this);
  }

  close(): void {
    this.calls.push('close');
    this.closeCount += 1;
  }

  /** The client goes away. */
  disconnect(): void {
    this.controller.abort();
  }

  get closed(): boolean {
    return this.closeCount > 0;
  }

  get chunks(): string[] {
    return this.raw.map((c) => decoder.decode(c));
  }

  get text(): string {
    return this.chunks.join('');
  }

  get bytes(): number {
    return this.raw.reduce((n, c) => n + c.byteLength, 0);
  }

  get heartbeats(): number {
    return this.chunks.filter((c) => c === HEARTBEAT).length;
  }
}
