// Tracked events for the chaos scenarios: a factory for pixel-shaped events, a client that behaves
// like the pixel towards the relay (keeps its copy and resends until a final answer), and the tally
// of what the fake Whop API finally accepted against what was sent.
import type { FakeWhop } from '../fakeWhop';

export const COMPANY = 'biz_chaos';

/** A pixel-shaped event with a unique, tracked event_id. */
export function chaosEvent(tag: string, i: number, extra: Record<string, unknown> = {}) {
  return {
    company_id: COMPANY,
    event_name: i % 3 === 0 ? 'schedule' : 'lead',
    event_id: `evt_${tag}_${i}`,
    event_time: new Date().toISOString(),
    action_source: 'website',
    url: `https://seller.example/landing?utm_source=meta&fbclid=IwAR_${tag}_${i}`,
    context: { fbclid: `IwAR_${tag}_${i}`, utm_source: 'meta' },
    user: { anonymous_id: `anon_${tag}_${i}` },
    ...extra,
  };
}

export type ChaosEvent = ReturnType<typeof chaosEvent>;

/** What one resilient send came to: the final status and how many attempts it took. */
export interface SendResult {
  status: number;
  attempts: number;
  body: unknown;
  /** Every status seen on the way, counted (0 = network error). */
  seen: Record<number, number>;
}

/**
 * Posts a batch the way the pixel does (text/plain JSON) and, like the pixel, keeps its copy and
 * resends on 408/429/5xx or a network error, until a final answer (2xx/4xx) or the deadline.
 * Bounded in attempts and time.
 */
export async function sendUntilFinal(
  url: string,
  events: unknown[],
  options: { deadline: number; headers?: Record<string, string> },
): Promise<SendResult> {
  let attempts = 0;
  let lastStatus = 0;
  const seen: Record<number, number> = {};
  const see = (status: number) => (seen[status] = (seen[status] ?? 0) + 1);
  while (Date.now() < options.deadline && attempts < 2_000) {
    attempts++;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', ...options.headers },
        body: JSON.stringify({ events }),
        signal: AbortSignal.timeout(5_000),
      });
      const text = await res.text();
      lastStatus = res.status;
      see(res.status);
      if (res.status < 500 && res.status !== 408 && res.status !== 429) {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // kept as text
        }
        return { status: res.status, attempts, body, seen };
      }
    } catch {
      lastStatus = 0; // connection refused/reset: the relay is down or restarting
      see(0);
    }
    await new Promise((r) => setTimeout(r, Math.min(50 * attempts, 250)));
  }
  return { status: lastStatus, attempts, body: null, seen };
}

/** The scenario's final count at Whop, by event_id. */
export interface Tally {
  sent: number;
  delivered: number;
  duplicated: number;
  lost: number;
  /** Conversions Whop accepted that no scenario sent (should be 0). */
  unexpected: number;
  lostIds: string[];
}

/** Counts, for the sent ids, how many Whop accepted, how many more than once, how many never. */
export function tally(whop: FakeWhop, sentIds: readonly string[]): Tally {
  const counts = new Map<string, number>();
  for (const c of whop.conversions) {
    const id = c.body.event_id ?? '';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const sent = new Set(sentIds);
  let delivered = 0;
  let duplicated = 0;
  const lostIds: string[] = [];
  for (const id of sent) {
    const n = counts.get(id) ?? 0;
    if (n > 0) delivered++;
    else lostIds.push(id);
    if (n > 1) duplicated += n - 1;
  }
  const unexpected = [...counts.keys()].filter((id) => !sent.has(id)).length;
  return { sent: sent.size, delivered, duplicated, lost: lostIds.length, unexpected, lostIds: lostIds.slice(0, 10) };
}

/** Polls `check` until it returns true or the deadline passes (never a fixed sleep). */
export async function until(deadline: number, check: () => boolean | Promise<boolean>, everyMs = 50): Promise<boolean> {
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
