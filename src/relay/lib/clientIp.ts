/** A parsed address: 16 bytes (IPv4 as IPv4-mapped IPv6) so v4 and v6 compare the same way. */
type _Bytes = Uint8Array;

function _parseV4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** Parses an IPv4 or IPv6 literal (brackets, zone ids and IPv4-mapped forms accepted), else null. */
export function parseIp(input: string): _Bytes | null {
  let s = input.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const bytes = new Uint8Array(16);
  if (!s.includes(':')) {
    const v4 = _parseV4(s);
    if (!v4) return null;
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(v4, 12);
    return bytes;
  }
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = _parseV4(s.slice(lastColon + 1));
    if (!v4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    s = s.slice(0, lastColon + 1) + '0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const group = (h: string) => (h === '' ? [] : h.split(':'));
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  const words: number[] = [];
  for (const g of [...head, ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    words.push(parseInt(g, 16));
  }
  if (tail.length) words.splice(words.length - 1, 1, ...tail);
  const headLen = head.length;
  const total = words.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const full = halves.length === 1 ? words : [...words.slice(0, headLen), ...new Array(8 - total).fill(0), ...words.slice(headLen)];
  for (let i = 0; i < 8; i++) {
    bytes[i * 2] = full[i]! >> 8;
    bytes[i * 2 + 1] = full[i]! & 0xff;
  }
  return bytes;
}

/** A trusted range: network bytes and prefix length in bits (of the 128-bit form). */
interface _Range {
  _net: _Bytes;
  _bits: number;
}

/**
 * Parses `10.0.0.0/8`, `::1`, `fd00::/8`, `127.0.0.1` into ranges; throws on a malformed entry. A
 * prefix must be digits: `10.0.0.1/` once read as /0 and trusted every IPv4 peer.
 */
export function parseCidrs(list: readonly string[]): _Range[] {
  return list.map((entry) => {
    const parts = entry.trim().split('/');
    const [addr, len] = parts;
    const net = parts.length <= 2 ? parseIp(addr ?? '') : null;
    if (!net) throw new Error(`Not an IP address or CIDR: ${JSON.stringify(entry)}`);
    const isV4 = !(addr ?? '').includes(':');
    const max = isV4 ? 32 : 128;
    if (len !== undefined && !/^\d{1,3}$/.test(len)) throw new Error(`Bad prefix length in ${JSON.stringify(entry)}`);
    const bits = len === undefined ? max : Number(len);
    if (bits > max) throw new Error(`Bad prefix length in ${JSON.stringify(entry)}`);
    return { _net: net, _bits: isV4 ? bits + 96 : bits };
  });
}

/**
 * One hop of a forwarding header as an address: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:443`,
 * `2001:db8::1`, a quoted `"[v6]:port"` (RFC 7239). Null when it is not an IP (`unknown`, garbage).
 */
export function hopIp(hop: string): string | null {
  let v = hop.trim();
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0 || !/^(:\d{1,5})?$/.test(v.slice(end + 1))) return null;
    v = v.slice(1, end);
  } else if (/^[\d.]+:\d{1,5}$/.test(v)) v = v.slice(0, v.lastIndexOf(':'));
  return parseIp(v) ? normalizeIp(v) : null;
}

function _inRange(ip: _Bytes, range: _Range): boolean {
  let bits = range._bits;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (range._net[i]! & mask)) return false;
  }
  return true;
}

/** Whether `ip` (a literal) falls in any of the ranges. */
export function isTrusted(ip: string, ranges: readonly _Range[]): boolean {
  if (ranges.length === 0) return false;
  const bytes = parseIp(ip);
  return !!bytes && ranges.some((r) => _inRange(bytes, r));
}

/** Normalises an address for Whop: IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what dual-stack sockets report) becomes plain IPv4. */
export function normalizeIp(ip: string): string {
  let s = ip.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  return m ? m[1]! : s;
}

/** The hops a `Forwarded` header (RFC 7239) lists, as `for=` values, nearest client first. */
function _forwardedHops(header: string): string[] {
  const hops: string[] = [];
  for (const element of header.split(',')) {
    const pair = element
      .split(';')
      .map((p) => p.trim())
      .find((p) => /^for=/i.test(p));
    hops.push(pair ? pair.slice(4) : '');
  }
  return hops;
}

/** The forwarding header believed by default: the one nginx, HAProxy and most load balancers append to. */
export const DEFAULT_IP_HEADER = 'x-forwarded-for';

/**
 * The visitor's IP: one validated address, or null. The socket peer is the answer unless it is a
 * trusted proxy; then the ONE header that proxy sets (`ipHeader`, default X-Forwarded-For; `forwarded`
 * for RFC 7239; a single-value header like `x-real-ip` works too) is walked from the right, skipping
 * trusted hops, and the first untrusted one is the client. Any other forwarding header is the
 * client's own writing and ignored, as is everything left of the client's hop
 * (https://developer.mozilla.org/docs/Web/HTTP/Headers/X-Forwarded-For#selecting_an_ip_address).
 */
export function clientIp(
  headers: { get(name: string): string | null },
  peer: string | undefined,
  trusted: readonly _Range[],
  ipHeader: string = DEFAULT_IP_HEADER,
): string | null {
  const self = peer ? hopIp(peer) : null;
  if (!self) return null;
  if (!isTrusted(self, trusted)) return self;
  const name = ipHeader.toLowerCase();
  const value = headers.get(name);
  const hops = !value ? [] : name === 'forwarded' ? _forwardedHops(value) : value.split(',');
  let candidate = self;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hopIp(hops[i]!);
    if (!hop) break; // `unknown`, an obfuscated id or garbage: the chain is not usable past here.
    candidate = hop;
    if (!isTrusted(hop, trusted)) break;
  }
  return candidate;
}

/**
 * The client's IP from a header a platform's proxy sets, where no socket is known (Next.js, other
 * serverless routes): the rightmost entry (the one the proxy itself wrote), port removed, validated.
 * Undefined when it is absent or not an IP.
 */
export function ipFromHeader(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const hops = value.split(',');
  return hopIp(hops[hops.length - 1]!) ?? undefined;
}
