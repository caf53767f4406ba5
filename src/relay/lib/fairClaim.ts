/**
 * How a claim of `limit` events is split between the companies that have due events: evenly, the
 * first companies in a rotating order taking the remainder (so with more companies than the limit
 * each gets turns). `turn` is a counter the caller increments per claim.
 */
export function fairShares(companies: readonly string[], limit: number, turn: number): Array<{ company_id: string; n: number }> {
  if (companies.length === 0 || limit <= 0) return [];
  const start = turn % companies.length;
  const order = companies.slice(start).concat(companies.slice(0, start)).slice(0, limit);
  const base = Math.floor(limit / order.length);
  const extra = limit % order.length;
  return order.map((company_id, i) => ({ company_id, n: base + (i < extra ? 1 : 0) }));
}

/** Alternates between the companies' lists (each already in due order): one seller's backlog never queues ahead of another's events. */
export function interleave<T>(lists: readonly T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; ; i++) {
    let any = false;
    for (const list of lists) {
      if (i < list.length) {
        out.push(list[i]!);
        any = true;
      }
    }
    if (!any) return out;
  }
}
