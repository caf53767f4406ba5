// Every localStorage access goes through here: Safari private mode, disabled storage, sandboxed
// iframes and full quotas all throw, and nothing may throw into the host page.

/**
 * One guarded call for the three operations (one function is smaller than three in the bundle):
 * `store(key)` reads (undefined when absent or storage is unreadable), `store(key, value)`
 * writes (true when stored, undefined when refused: quota exceeded, disabled), `store(key, null)` removes.
 */
export function store(key: string): string | undefined;
export function store(key: string, value: string | null): true | undefined;
export function store(key: string, value?: string | null): string | undefined | true {
  try {
    // Property access is Storage's named getter/setter/deleter: getItem, setItem, removeItem in
    // fewer bytes (an absent key reads undefined, not null). Every key of ours starts with `wq_`,
    // so none shadows a Storage method.
    const ls: Record<string, string> = localStorage as any;
    return value === undefined ? ls[key] : (value === null ? delete ls[key] : (ls[key] = value), true as const);
  } catch {}
}

/** The stored keys starting with `prefix` (none when storage is unusable). */
export function storeKeys(prefix: string): string[] {
  try {
    return Object.keys(localStorage).filter((k) => k.startsWith(prefix));
  } catch {
    return [];
  }
}
