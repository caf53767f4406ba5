type _Labels = Record<string, string>;

/** Upstream latency buckets (seconds): Whop answers in tens to hundreds of ms; timeouts at 10 s. */
const _BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface _Histogram {
  _counts: number[];
  _sum: number;
  _count: number;
}

/** What a gauge reads at scrape time. */
export type GaugeReader = () => Promise<Array<{ labels?: _Labels; value: number }>> | Array<{ labels?: _Labels; value: number }>;

/**
 * A small Prometheus registry the relay and the forwarder both feed. Names are given without the
 * `whopq_` prefix, which `render()` adds. Counters are created on first `inc`; histograms on first
 * `observe` (fixed latency buckets); gauges are read when scraped.
 */
export interface Metrics {
  /** Adds `value` (default 1) to a counter, e.g. `inc('rejected_total', { reason: 'parameter_invalid' })`. */
  inc(name: string, labels?: _Labels, value?: number): void;
  /** Records one observation (seconds) in a histogram, e.g. `observe('upstream_latency_seconds', 0.12)`. */
  observe(name: string, value: number, labels?: _Labels): void;
  /** Registers a gauge read at each scrape (replaces one of the same name). */
  gauge(name: string, help: string, read: GaugeReader): void;
  /** Documents a counter or histogram for `# HELP`. */
  describe(name: string, help: string): void;
  /** A counter's current value (tests, the inspector). */
  get(name: string, labels?: _Labels): number;
  /** Prometheus text exposition format 0.0.4. */
  render(): Promise<string>;
}

const _key = (labels?: _Labels) =>
  labels
    ? Object.keys(labels)
        .sort()
        .map((k) => `${k}="${String(labels[k]).replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c))}"`)
        .join(',')
    : '';

/** Creates an empty registry. */
export function createMetrics(): Metrics {
  const counters = new Map<string, Map<string, number>>();
  const histograms = new Map<string, Map<string, _Histogram>>();
  const gauges = new Map<string, { _help: string; _read: GaugeReader }>();
  const help = new Map<string, string>();

  return {
    inc(name, labels, value = 1) {
      let series = counters.get(name);
      if (!series) counters.set(name, (series = new Map()));
      const k = _key(labels);
      series.set(k, (series.get(k) ?? 0) + value);
    },
    observe(name, value, labels) {
      let series = histograms.get(name);
      if (!series) histograms.set(name, (series = new Map()));
      const k = _key(labels);
      let h = series.get(k);
      if (!h) series.set(k, (h = { _counts: _BUCKETS.map(() => 0), _sum: 0, _count: 0 }));
      for (let i = 0; i < _BUCKETS.length; i++) if (value <= _BUCKETS[i]!) h._counts[i]!++;
      h._sum += value;
      h._count++;
    },
    gauge(name, text, read) {
      gauges.set(name, { _help: text, _read: read });
    },
    describe(name, text) {
      help.set(name, text);
    },
    get(name, labels) {
      return counters.get(name)?.get(_key(labels)) ?? 0;
    },
    async render() {
      const lines: string[] = [];
      const head = (name: string, type: string, text?: string) => {
        if (text) lines.push(`# HELP whopq_${name} ${text}`);
        lines.push(`# TYPE whopq_${name} ${type}`);
      };
      const series = (name: string, k: string, v: number) => lines.push(`whopq_${name}${k ? `{${k}}` : ''} ${v}`);
      for (const [name, s] of counters) {
        head(name, 'counter', help.get(name));
        for (const [k, v] of s) series(name, k, v);
      }
      for (const [name, s] of histograms) {
        head(name, 'histogram', help.get(name));
        for (const [k, h] of s) {
          const sep = k ? k + ',' : '';
          _BUCKETS.forEach((le, i) => lines.push(`whopq_${name}_bucket{${sep}le="${le}"} ${h._counts[i]}`));
          lines.push(`whopq_${name}_bucket{${sep}le="+Inf"} ${h._count}`);
          lines.push(`whopq_${name}_sum${k ? `{${k}}` : ''} ${h._sum}`);
          lines.push(`whopq_${name}_count${k ? `{${k}}` : ''} ${h._count}`);
        }
      }
      for (const [name, g] of gauges) {
        let values: Array<{ labels?: _Labels; value: number }>;
        try {
          values = await g._read();
        } catch {
          continue; // A store that cannot be read leaves its gauges out; /ready reports the failure.
        }
        head(name, 'gauge', g._help);
        for (const v of values) series(name, _key(v.labels), v.value);
      }
      return lines.join('\n') + '\n';
    },
  };
}
