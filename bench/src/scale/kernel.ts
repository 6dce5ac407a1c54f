/**
 * The kernel's memory for sockets, machine-wide: `/proc/net/sockstat` (TCP sockets in use and
 * their buffer pages), the slab caches a TCP socket takes (`/proc/slabinfo`, root only) and the
 * total slab from `/proc/meminfo`. Two snapshots' difference, per stream, is the kernel's cost of a
 * stream (on loopback both ends of the connection are on this machine).
 */
import { readFileSync } from 'node:fs';

/** The slab caches one held TCP connection end allocates from (socket, inode, file, epoll). */
export const SOCKET_CACHES = [
  'TCP',
  'sock_inode_cache',
  'filp',
  'dentry',
  'eventpoll_epi',
  'ep_head',
  'skbuff_head_cache',
] as const;

export interface KernelSnapshot {
  tcpInUse: number;
  tcpTimeWait: number;
  /** TCP buffer memory (`mem` of sockstat), bytes. */
  tcpMemBytes: number;
  /** Bytes of active objects per cache of SOCKET_CACHES; empty when slabinfo is not readable. */
  caches: Record<string, number>;
  /** Slab memory (`Slab:` of /proc/meminfo), bytes. */
  slabBytes: number;
  /** `MemAvailable:` of /proc/meminfo, bytes: everything, user space included. */
  availableBytes: number;
}

const PAGE = 4096;

/** A file of /proc as text; empty when it cannot be read. */
export function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function sockstat(): Pick<KernelSnapshot, 'tcpInUse' | 'tcpTimeWait' | 'tcpMemBytes'> {
  const line = /^TCP: (.*)$/m.exec(readProc('/proc/net/sockstat'))?.[1] ?? '';
  const field = (name: string) => Number(new RegExp(`\\b${name} (\\d+)`).exec(line)?.[1] ?? 0);
  return { tcpInUse: field('inuse'), tcpTimeWait: field('tw'), tcpMemBytes: field('mem') * PAGE };
}

function caches(): Record<string, number> {
  const bytes: Record<string, number> = {};
  for (const line of readProc('/proc/slabinfo').split('\n')) {
    const [name, active, , size] = line.split(/\s+/);
    if ((SOCKET_CACHES as readonly string[]).includes(name ?? ''))
      bytes[name!] = Number(active) * Number(size);
  }
  return bytes;
}

function meminfoBytes(text: string, name: string): number {
  return Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
}

export function kernelSnapshot(): KernelSnapshot {
  const meminfo = readProc('/proc/meminfo');
  return {
    ...sockstat(),
    caches: caches(),
    slabBytes: meminfoBytes(meminfo, 'Slab'),
    availableBytes: meminfoBytes(meminfo, 'MemAvailable'),
  };
}

/** What `after` holds more than `before`, per stream, in bytes (KiB in the names' report). */
export interface KernelPerStream {
  tcpSockets: number;
  tcpMemBytes: number;
  caches: Record<string, number>;
  cachesBytes: number;
  slabBytes: number;
  machineBytes: number;
}

export function perStream(
  before: KernelSnapshot,
  after: KernelSnapshot,
  streams: number,
): KernelPerStream {
  const per = (a: number, b: number) => (a - b) / streams;
  const cacheDelta = Object.fromEntries(
    Object.keys(after.caches).map((name) => [
      name,
      per(after.caches[name] ?? 0, before.caches[name] ?? 0),
    ]),
  );
  return {
    tcpSockets: per(after.tcpInUse, before.tcpInUse),
    tcpMemBytes: per(after.tcpMemBytes, before.tcpMemBytes),
    caches: cacheDelta,
    cachesBytes: Object.values(cacheDelta).reduce((a, b) => a + b, 0),
    slabBytes: per(after.slabBytes, before.slabBytes),
    machineBytes: per(before.availableBytes, after.availableBytes),
  };
}
