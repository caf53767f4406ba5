// Every localStorage access goes through here: Safari private mode, disabled storage, sandboxed
// iframes and full quotas all throw, and nothing may throw into the host page.

/**
 * One guarded call for the three operations (one function is smaller than three in the bundle):
 * `store(key)` reads (null when absent, undefined when storage is unreadable), `store(key, value)`
 * writes (true when stored, false when refused: quota exceeded, disabled), `store(key, null)` removes.
 */
export function store(key: string): string | null | undefined;
export function store(key: string, value: string | null): boolean;
export function store(key: string, value?: string | null): string | null | undefined | boolean {
  try {
    const ls = localStorage;
    return value === undefined ? ls.getItem(key) : (value === null ? ls.removeItem(key) : ls.setItem(key, value), true);
  } catch {
    return value === undefined ? undefined : false;
  }
}
