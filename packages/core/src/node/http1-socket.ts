/**
 * When a node:http response's next chunk may go straight to its socket, pre-framed, instead of
 * through `res.write()`. Read from the internals of `ServerResponse` (`lib/_http_outgoing.js` and
 * `lib/_http_server.js`, the same on Node 20 to 26); any field missing or unexpected means no.
 */

/** The socket of an HTTP/1.1 response: a `net.Socket`, structurally. */
export interface Http1Socket {
  readonly writable: boolean;
  readonly destroyed: boolean;
  /** node:http: the response now being written on this connection (a pipelined one waits). */
  readonly _httpMessage?: unknown;
  readonly writableCorked: number;
  write(chunk: Uint8Array): boolean;
  cork(): void;
  uncork(): void;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/** The fields of node:http's `ServerResponse` that say what `res.write()` would do now. */
interface Http1Response {
  readonly write?: unknown;
  readonly _send?: unknown;
  readonly _writeRaw?: unknown;
  /** Added by compression middleware: `write` then goes through zlib. */
  readonly flush?: unknown;
  readonly chunkedEncoding?: unknown;
  /** `false` for HEAD, 204 and 304: node:http drops the body. */
  readonly _hasBody?: unknown;
  readonly _headerSent?: unknown;
  readonly finished?: unknown;
  readonly destroyed?: unknown;
  /** What waits for the socket (a pipelined response, or the head not yet written). */
  readonly outputData?: { readonly length: number };
  /**
   * Non-zero while `res.write()` holds chunks back (Node 24+ corks the response itself until the
   * next tick, and merges what it was given meanwhile), or `res.cork()` / the socket is corked.
   */
  readonly writableCorked?: unknown;
  readonly socket?: unknown;
}

/** Node's own `write`, `_send` and `_writeRaw`, owned together by `OutgoingMessage.prototype`. */
interface OutgoingMethods {
  readonly write: unknown;
  readonly _send: unknown;
  readonly _writeRaw: unknown;
}

const runtime = globalThis as { Bun?: unknown; Deno?: unknown };
/** Bun and Deno implement node:http anew: their internals are not node's. */
const onNode = runtime.Bun === undefined && runtime.Deno === undefined;

const byPrototype = new WeakMap<object, OutgoingMethods | null>();
let lastPrototype: object | undefined;
let lastMethods: OutgoingMethods | null = null;

/**
 * The methods `res.write()` runs, when they are node's own: the prototype that owns `write` also
 * owns `_send` and `_writeRaw`, and nothing nearer `res` overrides any of them. A subclass or a
 * wrapper that replaces one of them has a reason to see every write: it is then `null`.
 */
function outgoingMethods(prototype: object): OutgoingMethods | null {
  // Every response of a server shares one prototype: the last answer saves a WeakMap lookup per write.
  if (prototype === lastPrototype) return lastMethods;
  let known = byPrototype.get(prototype);
  if (known === undefined) {
    known = ownerOfAll(prototype);
    byPrototype.set(prototype, known);
  }
  lastPrototype = prototype;
  lastMethods = known;
  return known;
}

function ownerOfAll(prototype: object): OutgoingMethods | null {
  for (let at: object | null = prototype; at !== null; at = Object.getPrototypeOf(at)) {
    const owns = ['write', '_send', '_writeRaw'].filter((name) => Object.hasOwn(at!, name));
    if (owns.length === 0) continue;
    if (owns.length < 3) return null;
    const methods = at as OutgoingMethods;
    const allFunctions = [methods.write, methods._send, methods._writeRaw].every(
      (method) => typeof method === 'function',
    );
    return allFunctions ? methods : null;
  }
  return null;
}

/**
 * The direct path's turns: a turn's writes are those made before its microtask runs, and the count
 * goes up once they are done. A sink keeps the turn of its last write to tell a second one.
 */
let turn = 0;
let turnEnds = false;

/** Sockets corked in this turn, because it wrote to them a second time. */
const corkedThisTurn = new Set<Http1Socket>();

function endTurn(): void {
  turn = (turn + 1) | 0;
  turnEnds = false;
  for (const socket of corkedThisTurn) socket.uncork();
  corkedThisTurn.clear();
}

/** The turn a direct write made now belongs to. */
export function directTurn(): number {
  if (!turnEnds) {
    turnEnds = true;
    queueMicrotask(endTurn);
  }
  return turn;
}

/**
 * Writes `frame` to a socket {@link directSocket} gave. The first write of a turn goes out at
 * once, as `socket.write()` does it; a second one (`again`: the same sink wrote in this
 * {@link directTurn}) corks the socket until the turn's writes are done, so that twenty events
 * published back to back leave in two system calls, not twenty. Corking for one write only would
 * cost a stream 5-7% more CPU per event (measured on node:http at 1,000 and 10,000 streams).
 */
export function writeDirect(socket: Http1Socket, frame: Uint8Array, again: boolean): boolean {
  if (again && !corkedThisTurn.has(socket)) {
    socket.cork();
    corkedThisTurn.add(socket);
  }
  return socket.write(frame);
}

/**
 * Whether nothing but {@link writeDirect} holds the socket corked, and the response holds nothing
 * back itself. Node 20's `res.writableCorked` is the socket's count; from Node 22 it is the
 * response's own (`res.cork()`, and on Node 24+ the chunks `res.write()` merges until the next
 * tick), and whatever corks the response corks its socket too, so the socket's count tells.
 */
function onlyCorkedByUs(responseCorked: unknown, socket: Http1Socket): boolean {
  if (socket.writableCorked === 0) return responseCorked === 0;
  const ours = corkedThisTurn.has(socket) ? 1 : 0;
  if (socket.writableCorked !== ours) return false;
  return responseCorked === 0 || responseCorked === socket.writableCorked;
}

/**
 * The socket to write `res`'s next chunk to, framed by hand, when `res.write()` would write it to
 * that very socket and nothing else in between: an HTTP/1.1 chunked response with a body, its head
 * sent, nothing of it buffered or corked (but by {@link writeDirect}), the connection's current
 * response, node's own `write` unwrapped. `undefined` means: go through `res.write()`.
 */
export function directSocket(res: object): Http1Socket | undefined {
  if (!onNode) return undefined;
  const r = res as Http1Response;
  if (
    r.chunkedEncoding !== true ||
    r._headerSent !== true ||
    r._hasBody !== true ||
    r.destroyed !== false ||
    r.outputData?.length !== 0 ||
    !unchanged(r)
  ) {
    return undefined;
  }
  const socket = r.socket as Partial<Http1Socket> | null | undefined;
  if (
    typeof socket !== 'object' ||
    socket === null ||
    socket._httpMessage !== res ||
    socket.destroyed !== false ||
    typeof socket.write !== 'function' ||
    typeof socket.cork !== 'function' ||
    typeof socket.uncork !== 'function' ||
    !stillWritable(r, socket as Http1Socket)
  ) {
    return undefined;
  }
  return socket as Http1Socket;
}

/**
 * Whether `socket`, which {@link directSocket} gave for `res`, still takes `res`'s next chunk. Only
 * what can change once a response is streaming on its connection is read again: an end or a
 * destroy (which also frees the connection for the next response), a wrapper or compression added
 * since, a cork. Head, framing and the connection's current response are settled by then.
 */
export function stillDirect(res: object, socket: Http1Socket): boolean {
  return unchanged(res as Http1Response) && stillWritable(res as Http1Response, socket);
}

/** Not ended, and `res.write()` still node's own, unwrapped and uncompressed. */
function unchanged(r: Http1Response): boolean {
  if (r.finished !== false || r.flush !== undefined) return false;
  const prototype = Object.getPrototypeOf(r) as object | null;
  const methods = prototype === null ? null : outgoingMethods(prototype);
  return (
    methods !== null &&
    r.write === methods.write &&
    r._send === methods._send &&
    r._writeRaw === methods._writeRaw
  );
}

function stillWritable(r: Http1Response, socket: Http1Socket): boolean {
  return socket.writable === true && onlyCorkedByUs(r.writableCorked, socket);
}
