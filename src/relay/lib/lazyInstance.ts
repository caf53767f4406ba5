// Symbol.for, not Symbol(): dist/relay/index.js and dist/relay/cli.js are separate bundles, and a
// handler made by one (createRelay) is served by the other (serve) in the same process.
const _STATE = Symbol.for('whopq.lazy.state');
const _REAL = Symbol.for('whopq.lazy.real');
const _BUILD = Symbol.for('whopq.lazy.build');

interface _Lazy<S, T> {
  [_STATE]: S;
  [_REAL]?: T;
}

/**
 * Makes objects that pass for instances of a Fetch class (`instanceof`, `Object.prototype.toString`,
 * every property and method) but hold only `state` until something touches them: the first access
 * to anything but the `fast` getters builds the real instance with `build(state)` and delegates to
 * it from then on. How the Node adapter skips building a `Request` and a `Response` (tens of µs
 * each, most of it their body streams) for an ingest request no code in between looks into; the
 * same idea as hono's node-server (https://github.com/honojs/node-server/blob/main/src/request.ts).
 */
export function lazyInstance<T extends object, S>(
  base: { prototype: T },
  build: (state: S) => T,
  fast: { [K in keyof T]?: (state: S) => T[K] } = {},
): (state: S) => T {
  const proto = Object.create(base.prototype) as Record<PropertyKey, unknown>;
  const real = (self: _Lazy<S, T>): T => (self[_REAL] ??= build(self[_STATE]));
  proto[_BUILD] = function (this: _Lazy<S, T>) {
    return real(this);
  };
  for (const key of Reflect.ownKeys(base.prototype)) {
    if (key === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(base.prototype, key)!;
    const quick = (fast as Record<PropertyKey, ((state: S) => unknown) | undefined>)[key];
    if (quick) {
      Object.defineProperty(proto, key, {
        configurable: true,
        get(this: _Lazy<S, T>) {
          const r = this[_REAL];
          return r ? (r as Record<PropertyKey, unknown>)[key] : quick(this[_STATE]);
        },
      });
    } else if (d.get) {
      Object.defineProperty(proto, key, {
        configurable: true,
        get(this: _Lazy<S, T>) {
          return (real(this) as Record<PropertyKey, unknown>)[key];
        },
      });
    } else if (typeof d.value === 'function') {
      Object.defineProperty(proto, key, {
        configurable: true,
        writable: true,
        value(this: _Lazy<S, T>, ...args: unknown[]) {
          const r = real(this) as Record<PropertyKey, (...a: unknown[]) => unknown>;
          return r[key]!(...args);
        },
      });
    }
    // Data properties (Symbol.toStringTag) are inherited from base.prototype as they are.
  }
  return (state) => {
    const o = Object.create(proto) as _Lazy<S, T>;
    o[_STATE] = state;
    return o as unknown as T;
  };
}

/** The state of an object made by `lazyInstance` that nothing has touched yet, else undefined. */
export function lazyState<S>(value: unknown): S | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Partial<_Lazy<S, unknown>>;
  return o[_REAL] === undefined ? o[_STATE] : undefined;
}

/**
 * The real instance behind an object made by `lazyInstance` (built now if nothing has touched it
 * yet), else `value` itself. For handing a lazy Request to code outside the relay: the Fetch
 * classes read their own internal slots, so `new Request(lazy, init)` and `fetch(lazy)` throw, while
 * the real one works.
 */
export function realInstance<T>(value: T): T {
  const build = typeof value === 'object' && value !== null ? (value as { [_BUILD]?: () => T })[_BUILD] : undefined;
  return typeof build === 'function' ? build.call(value) : value;
}
