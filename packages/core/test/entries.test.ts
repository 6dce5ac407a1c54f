import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as adapter from '../src/adapter.js';
import * as root from '../src/index.js';
import * as node from '../src/node.js';

/**
 * Every name each of the three entries exports, values and types apart. A change to the public
 * surface changes one of these lists, so it shows up in review: edit the list on purpose.
 */
const ENTRIES = {
  index: {
    module: root,
    values: [
      'CONTROL_EVENTS',
      'DEFAULT_HEARTBEAT_MS',
      'DEFAULT_INTERVAL_MS',
      'DEFAULT_MAX_CONNECTIONS',
      'DEFAULT_MAX_QUEUED_BYTES',
      'DEFAULT_SSE_HEADERS',
      'InnerResponseError',
      'MAX_ECHOED_ID_LENGTH',
      'REAUTH_EVENT',
      'REPLAY_GAP_EVENT',
      'SseBodyError',
      'SseEncodeError',
      'SseReservedEventError',
      'SseSerializeError',
      'SseStreamExistsError',
      'SseStreamLimitError',
      'acceptEventStream',
      'allOf',
      'anyOf',
      'asSseEvent',
      'createChannel',
      'createDisconnectBus',
      'createMemoryResumableStore',
      'createMemoryStore',
      'createMemoryTicketStore',
      'createResumableStreams',
      'createStreamTickets',
      'defaultErrorEvent',
      'deny',
      'encodeData',
      'encodeEvent',
      'isSseEvent',
      'methodMatch',
      'queryTokenMatch',
      'requestTarget',
      'typedEventSource',
      'uriMatch',
      'uriPrefixMatch',
      'uriSuffixMatch',
      'wrapDelay',
      'wrapErrorReport',
      'wrapFetchBody',
      'wrapSseEvent',
    ],
    types: [
      'Authorize',
      'AuthorizeContext',
      'BodyType',
      'Channel',
      'ChannelEvent',
      'ChannelEvents',
      'ChannelMessage',
      'ChannelOptions',
      'ChannelStats',
      'Chunk',
      'ChunkGenerator',
      'ChunkSource',
      'CloseOptions',
      'CloseReason',
      'ConnectionErrorEvent',
      'ControlEvents',
      'DelaySpec',
      'DenyOptions',
      'DisconnectBus',
      'DisconnectMessage',
      'EngineConnections',
      'EngineStats',
      'ErrorReporter',
      'EventMap',
      'EventSourceLike',
      'EventStore',
      'InnerResponse',
      'JsonText',
      'MemoryResumableStoreOptions',
      'MemoryStoreOptions',
      'MethodOptions',
      'OpenEvent',
      'Preparation',
      'PublishOptions',
      'RefusalStatus',
      'ReplayGap',
      'ReplayGapEvent',
      'ReplayGapReason',
      'ReplayResult',
      'RequestMatcher',
      'ResumableChunk',
      'ResumableEvent',
      'ResumableOutcome',
      'ResumablePage',
      'ResumableProducer',
      'ResumableStore',
      'ResumableStreams',
      'ResumableStreamsOptions',
      'ResumeAnswer',
      'ServerErrorEvent',
      'ShutdownEvent',
      'SlowConsumerPolicy',
      'SseAnswer',
      'SseDenial',
      'SseEngine',
      'SseEvent',
      'SseHeaders',
      'SseHooks',
      'SseListenerOptions',
      'SseMessageEvent',
      'SseOptions',
      'SsePrincipal',
      'SseRequest',
      'SseRequestBody',
      'SseRouteOptions',
      'StartedStream',
      'StoredEvent',
      'StreamContext',
      'StreamFn',
      'StreamInit',
      'StreamOwnership',
      'StreamTickets',
      'StreamTicketsOptions',
      'SubscribeOptions',
      'TicketStore',
      'TypedEventSource',
    ],
  },
  adapter: {
    module: adapter,
    values: [
      'ClientPresence',
      'WATCH_CLIENT',
      'abortableDelay',
      'assertPlainObject',
      'attachHandle',
      'createRequestBody',
      'createRequestView',
      'createSseEngine',
      'createWebStreamSink',
      'describeValue',
      'encodeChunk',
      'invalid',
      'isBunServer',
      'isPlainObject',
      'isPoll',
      'markPoll',
      'markStreamSocket',
      'mergeHeaders',
      'parseDisconnectMessage',
      'pollHeaders',
      'refusePipelined',
      'requestHeadersToCopy',
      'resolveMatch',
      'socketHasStream',
      'withPollSignal',
    ],
    types: [
      'BodySource',
      'BunServerLike',
      'ClientListener',
      'EngineContext',
      'HeaderSource',
      'InnerHandler',
      'RequestViewInit',
      'SseHandle',
      'SseHandler',
      'SseSink',
      'StreamSocketLike',
      'WatchableSink',
      'WebStreamSink',
      'WebStreamSinkOptions',
    ],
  },
  node: {
    module: node,
    values: ['createNodeResponseSink', 'nodeBodySource'],
    types: ['NodeRequestLike', 'NodeResponseLike'],
  },
} as const;

const entryNames = Object.keys(ENTRIES) as (keyof typeof ENTRIES)[];

/** What the compiler sees each entry export, types included (they have no runtime trace). */
function compiledExports() {
  // The core has no Node types: a file URL's path, decoded, is the path on POSIX systems.
  const src = decodeURIComponent(new URL('../src/', import.meta.url).pathname);
  const program = ts.createProgram(
    entryNames.map((entry) => `${src}${entry}.ts`),
    {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      types: [],
      noEmit: true,
      skipLibCheck: true,
    },
  );
  const checker = program.getTypeChecker();
  return Object.fromEntries(
    entryNames.map((entry) => {
      const file = program.getSourceFile(`${src}${entry}.ts`)!;
      const values: string[] = [];
      const types: string[] = [];
      for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(file)!)) {
        const target =
          symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
        (target.flags & ts.SymbolFlags.Value ? values : types).push(symbol.name);
      }
      return [entry, { values: values.sort(), types: types.sort() }];
    }),
  );
}

describe('the three entries of @sse-middleware/core', () => {
  it.each(entryNames)('%s exports exactly its listed values at runtime', (entry) => {
    const { module, values } = ENTRIES[entry];
    expect(Object.keys(module).sort()).toEqual([...values]);
  });

  it('export exactly their listed values and types, as the compiler sees them', () => {
    const compiled = compiledExports();
    for (const entry of entryNames) {
      const { values, types } = ENTRIES[entry];
      expect({ entry, ...compiled[entry] }).toEqual({
        entry,
        values: [...values],
        types: [...types],
      });
    }
  });

  it('share no name: each name has one entry', () => {
    const all = entryNames.flatMap((entry) => [...ENTRIES[entry].values, ...ENTRIES[entry].types]);
    expect(all.length).toBe(new Set(all).size);
  });
});
