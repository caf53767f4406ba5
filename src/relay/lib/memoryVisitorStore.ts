import type { VisitorStore } from './visitorMemory';
import type { VisitorRecord } from './visitorRecord';

/**
 * Visitor records in a Map (tests, the demo, runtimes without a disk): lost on restart. Kept in
 * write order, so the cap drops the least recently written.
 */
export function createMemoryVisitorStore(): VisitorStore {
  const rows = new Map<string, { _company: string; _record: VisitorRecord }>();
  const id = (company: string, key: string) => company + '\u0000' + key;
  return {
    async get(company_id, keys) {
      const out = new Map<string, VisitorRecord>();
      for (const key of keys) {
        const row = rows.get(id(company_id, key));
        if (row) out.set(key, structuredClone(row._record));
      }
      return out;
    },
    async put(list) {
      for (const r of list) {
        const k = id(r.company_id, r.key);
        rows.delete(k);
        rows.set(k, { _company: r.company_id, _record: structuredClone(r.record) });
      }
    },
    async forget(anonymousId) {
      let n = 0;
      for (const [k, row] of rows) {
        if (row._record.aid !== anonymousId) continue;
        rows.delete(k);
        n++;
      }
      return n;
    },
    async prune(before, maxEntries) {
      let n = 0;
      for (const [k, row] of rows) {
        if (row._record.at >= before) continue;
        rows.delete(k);
        n++;
      }
      // Write order: the first keys are the least recently written.
      for (const k of rows.keys()) {
        if (rows.size <= maxEntries) break;
        rows.delete(k);
        n++;
      }
      return n;
    },
    async size() {
      return rows.size;
    },
    async close() {},
  };
}
