import type { Outcome } from '../lib/outbox';
import type { PauseSignal } from '../lib/forwardOne';
import type { CfDurableObjectNamespace } from './cloudflare';
import type { BeginAnswer, DedupStore } from './dedupStore';

/** Typed calls to one company's `DedupStore` (RPC over the object's fetch). */
export interface DedupClient {
  reserve(ids: string[], now: number, leaseMs: number, dryRun?: boolean, skipped?: boolean[]): Promise<boolean[]>;
  confirm(ids: string[], now: number): Promise<void>;
  release(ids: string[]): Promise<void>;
  begin(id: string, now: number, leaseMs: number): Promise<BeginAnswer>;
  settle(id: string, outcome: Outcome | PauseSignal, holdUntil?: number): Promise<void>;
  stats(): ReturnType<DedupStore['stats']>;
}

/** The ledger of `company_id`. Every call throws when the object cannot be reached or fails. */
export function dedupClient(namespace: CfDurableObjectNamespace, company_id: string): DedupClient {
  const stub = namespace.get(namespace.idFromName(company_id));
  const call = async <T>(op: string, input: unknown): Promise<T> => {
    const response = await stub.fetch(`https://dedup/${op}`, { method: 'POST', body: JSON.stringify(input) });
    if (!response.ok) throw new Error(`dedup ${op}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
  return {
    reserve: (ids, now, leaseMs, dryRun, skipped) => call('reserve', { ids, now, leaseMs, dryRun, skipped }),
    confirm: async (ids, now) => void (await call('confirm', { ids, now })),
    release: async (ids) => void (await call('release', { ids })),
    begin: (id, now, leaseMs) => call('begin', { id, now, leaseMs }),
    settle: async (id, outcome, holdUntil) => void (await call('settle', { id, outcome, holdUntil })),
    stats: () => call('stats', {}),
  };
}
