import { describe, expect, it } from 'vitest';
import { markStreamSocket, refusePipelined, socketHasStream } from '../src/adapter.js';
import { createNodeResponseSink, type NodeResponseLike } from '../src/node.js';

/** A socket that counts how often it is destroyed. */
const fakeSocket = () => ({
  destroyed: 0,
  destroy() {
    this.destroyed += 1;
  },
});

/** Enough of a Node response for head() and close(), with `close` listeners to fire. */
function fakeResponse(extra: Partial<NodeResponseLike> = {}) {
  const listeners = new Map<string, Array<() => void>>();
  const add = (event: string, listener: () => void) => {
    listeners.set(event, [...(listeners.get(event) ?? []), listener]);
  };
  const res = {
    destroyed: false,
    writableEnded: false,
    writeHead: () => undefined,
    write: () => true,
    end: () => {
      res.writableEnded = true;
    },
    on: add,
    once: add,
    off: () => undefined,
    emit: (event: string) => {
      for (const listener of listeners.get(event) ?? []) listener();
    },
    ...extra,
  };
  return res;
}

describe('stream sockets', () => {
  it('refusePipelined destroys a marked socket only, and a late unmark never clears a newer mark', () => {
    const socket = fakeSocket();
    expect(refusePipelined(socket)).toBe(false);
    expect(refusePipelined(undefined)).toBe(false);
    const unmarkFirst = markStreamSocket(socket);
    expect(socketHasStream(socket)).toBe(true);
    unmarkFirst();
    const unmarkSecond = markStreamSocket(socket);
    unmarkFirst();
    expect(socketHasStream(socket)).toBe(true);
    expect(refusePipelined(socket)).toBe(true);
    expect(socket.destroyed).toBe(1);
    unmarkSecond();
    expect(socketHasStream(socket)).toBe(false);
  });

  it('the Node sink marks the request socket of an HTTP/1.1 stream from its head until it ends', () => {
    const socket = fakeSocket();
    const res = fakeResponse({ req: { socket } });
    const sink = createNodeResponseSink(res);
    expect(socketHasStream(socket)).toBe(false);
    sink.head(200, { 'Content-Type': 'text/event-stream' });
    expect(socketHasStream(socket)).toBe(true);
    sink.close();
    expect(socketHasStream(socket)).toBe(false);
  });

  it('unmarks when the response closes (the client left), and never marks an HTTP/2 stream', () => {
    const socket = fakeSocket();
    const res = fakeResponse({ socket });
    createNodeResponseSink(res).head(200, {});
    expect(socketHasStream(socket)).toBe(true);
    res.emit('close');
    expect(socketHasStream(socket)).toBe(false);

    const closed = fakeResponse({ socket, destroyed: true });
    createNodeResponseSink(closed).head(200, {});
    expect(socketHasStream(socket)).toBe(false); // closed before its head: nothing to refuse

    const session = fakeSocket();
    const h2 = fakeResponse({ socket: session, stream: { once: () => undefined } });
    createNodeResponseSink(h2).head(200, {});
    expect(socketHasStream(session)).toBe(false);
  });

  it("a stream's late close keeps the mark of the next stream on its connection", () => {
    const socket = fakeSocket();
    const first = fakeResponse({ req: { socket } });
    const firstSink = createNodeResponseSink(first);
    firstSink.head(200, {});
    firstSink.close();
    const second = fakeResponse({ req: { socket } });
    createNodeResponseSink(second).head(200, {});
    first.emit('close');
    expect(socketHasStream(socket)).toBe(true);
    second.emit('close');
    expect(socketHasStream(socket)).toBe(false);
  });
});
