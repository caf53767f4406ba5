import type { VisitorStore } from '../lib/visitorMemory';
import type { VisitorRecord } from '../lib/visitorRecord';
import type { CfDurableObjectNamespace } from './cloudflare';

/**
 * `VisitorStore` over one `VisitorMemoryStore` Durable Object per company. `/forget` knows no
 * company, so it asks each of `companies` (WHOP_COMPANY_ID). Expiry is each object's own alarm.
 */
export function durableVisitorStore(
  namespace: CfDurableObjectNamespace,
  companies: readonly string[],
  maxPerCompany = 1_000_000,
): VisitorStore {
  const call = async <T>(company_id: string, op: string, input: unknown): Promise<T> => {
    const stub = namespace.get(namespace.idFromName(company_id));
    const response = await stub.fetch(`https://visitors/${op}`, { method: 'POST', body: JSON.stringify(input) });
    if (!response.ok) throw new Error(`visitors ${op}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
  return {
    async get(company_id, keys) {
      return new Map(Object.entries(await call<Record<string, VisitorRecord>>(company_id, 'get', { keys })));
    },
    async put(rows) {
      const byCompany = new Map<string, Array<{ key: string; record: VisitorRecord }>>();
      for (const r of rows) {
        const list = byCompany.get(r.company_id);
        if (list) list.push({ key: r.key, record: r.record });
        else byCompany.set(r.company_id, [{ key: r.key, record: r.record }]);
      }
      await Promise.all([...byCompany].map(([company, list]) => call(company, 'put', { rows: list, max: maxPerCompany })));
    },
    async forget(aid) {
      const counts = await Promise.all(companies.map((c) => call<number>(c, 'forget', { aid })));
      return counts.reduce((a, b) => a + b, 0);
    },
    async prune() {
      return 0;
    },
    async size() {
      const counts = await Promise.all(companies.map((c) => call<number>(c, 'size', {})));
      return counts.reduce((a, b) => a + b, 0);
    },
    async close() {},
  };
}
