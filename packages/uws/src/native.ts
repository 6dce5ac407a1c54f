/** The values with which @trufflesuite/uws-js-unofficial loads its fallback on purpose. */
const FORCING_VALUES = new Set(['true', 'True', 'TRUE', '1']);
const NATIVE_CODE = /\{\s*\[native code\]\s*\}\s*$/;

function isNativeFunction(value: unknown): boolean {
  return typeof value === 'function' && NATIVE_CODE.test(Function.prototype.toString.call(value));
}

function appFactoryOf(uws: unknown): unknown {
  if (typeof uws !== 'object' || uws === null) return undefined;
  const candidate = uws as { App?: unknown; default?: { App?: unknown } | null };
  // `import * as uWS` of the CommonJS addon leaves everything under `default`.
  return candidate.App ?? candidate.default?.App;
}

/**
 * Whether `uws` is the native uWebSockets.js addon rather than a JavaScript imitation of it (such
 * as the `node:http` fallback that some npm builds load when they ship no binary for this Node.js).
 *
 * ```ts
 * import uWS from 'uWebSockets.js';
 * import { isNativeUws } from '@sse-middleware/uws';
 *
 * if (!isNativeUws(uWS)) console.warn('uWebSockets.js is not native here');
 * ```
 */
export function isNativeUws(uws: object): boolean {
  return isNativeFunction(appFactoryOf(uws));
}

/**
 * Throws unless `uws` is the native uWebSockets.js addon. Call it once at startup, next to
 * `uWS.App()`; the handler from `sse()` also refuses to serve on a fallback response.
 *
 * ```ts
 * import uWS from 'uWebSockets.js';
 * import { assertNativeUws } from '@sse-middleware/uws';
 *
 * assertNativeUws(uWS); // throws on a Node.js version the installed build has no binary for
 * ```
 */
export function assertNativeUws(uws: object): void {
  if (typeof appFactoryOf(uws) !== 'function') {
    throw new TypeError(
      `assertNativeUws(uws) must be given the uWebSockets.js module (import uWS from 'uWebSockets.js'), received ${typeof uws === 'object' && uws !== null ? 'an object without App()' : String(uws)}`,
    );
  }
  if (!isNativeUws(uws)) throw new Error(fallbackMessage());
}

/** Throws the same error as {@link assertNativeUws} when a response comes from a JavaScript imitation. */
export function assertNativeResponse(res: { cork: unknown }): void {
  if (!isNativeFunction(res.cork)) throw new Error(fallbackMessage());
}

/**
 * A handler's first-request check: {@link assertNativeResponse} on the first response only, then
 * nothing (the addon does not change under a running app).
 */
export function nativeResponseCheck(): (res: { cork: unknown }) => void {
  let checked = false;
  return (res) => {
    if (checked) return;
    assertNativeResponse(res);
    checked = true;
  };
}

function fallbackMessage(): string {
  const { platform, arch, version, versions, env } = process;
  const binary = `uws_${platform}_${arch}_${versions.modules}.node`;
  const forced = FORCING_VALUES.has(env.UWS_USE_FALLBACK ?? '')
    ? ` UWS_USE_FALLBACK=${env.UWS_USE_FALLBACK} forces it: unset it.`
    : ` The installed build has no ${binary} for Node.js ${version} (ABI ${versions.modules}) on ${platform}-${arch}.`;
  return (
    'uWebSockets.js is running as a JavaScript imitation, not the native addon, and ' +
    '@sse-middleware/uws refuses it: the imitation has no onWritable (no backpressure) and none of ' +
    `uWS's performance.${forced} Run a Node.js version your uWebSockets.js build ships a binary ` +
    `for, or install a build that ships ${binary}: the official one installs from GitHub ` +
    '(npm install uNetworking/uWebSockets.js#v20.x.y, where the release notes of v20.x.y list ' +
    'the Node.js versions it supports).'
  );
}
