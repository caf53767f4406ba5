/**
 * A fake of Whop's `POST /conversions` and `POST /events` for integration, e2e, chaos and benchmark
 * suites: a real node:http server on 127.0.0.1 (ephemeral port) that checks the bearer key, validates
 * every body against its own vendored OpenAPI spec (ajv, JSON Schema 2020-12: the specs themselves,
 * not our validator), answers like Whop, and records everything so tests can assert counts, fields
 * and duplicates. On /events it also wants the `Idempotency-Key` header (equal to the body's
 * event_id, as whopq sends it) and counts each (account_id, event_name, event_id) once, as Whop does.
 *
 *   const whop = await startFakeWhop({ apiKey: 'k' });
 *   // point the relay at whop.url (it ends in /api/v1, like Whop's production base URL)
 *   whop.setMode('500');                         // every request now fails with 500
 *   whop.setMode((req, n) => (n <= 2 ? '429' : 'ok')); // per request: first two rate-limited
 *   whop.conversions;                            // the bodies Whop accepted (200), in order
 *   whop.duplicates();                           // event_ids accepted more than once (should be [])
 *   await whop.close();
 *
 * Like the real API as far as tests are concerned, it does not deduplicate by event_id: each
 * accepted request is a new conversion, so any duplicate the relay sends is visible.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Ajv2020 from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import type { Conversion } from '../src/shared/conversion';
import { MAX_CUSTOM_NAME_LENGTH, PIXEL_EVENT_NAMES, STANDARD_EVENT_NAMES, type WhopEvent } from '../src/shared/whopEvent';

/**
 * How the fake answers: `ok` (validate, then 200 `{id}`), a status (`400`…`500`, in Whop's error
 * shape; `429` with `Retry-After`), `hang` (never answers: client timeouts), `slow` (answers `ok`
 * after `slowMs`), `reset` (destroys the connection: a network error).
 */
export type FakeWhopMode = 'ok' | '400' | '401' | '403' | '404' | '422' | '429' | '500' | '503' | 'hang' | 'slow' | 'reset';

/** A custom answer from a mode function. `retryAfter` sets the header on any status. */
export interface FakeWhopAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

export interface FakeWhopRequest {
  /** 1-based arrival order. */
  n: number;
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body text. */
  raw: string;
  /** The parsed JSON body, or undefined when it did not parse (a WhopEvent on /events). */
  body: Conversion | undefined;
  /** Spec validation errors (empty when the body is a valid CreateConversion, or CreateEvent on /events). */
  errors: string[];
  /** What the fake answered (0 for hang/reset). */
  status: number;
}

export interface FakeWhopConversion {
  id: string;
  body: Conversion;
  request: FakeWhopRequest;
}

export interface FakeWhopEvent {
  id: string;
  body: WhopEvent;
  /** The request's `Idempotency-Key` header. */
  idempotencyKey: string;
  request: FakeWhopRequest;
}

export interface FakeWhopOptions {
  /** The only key accepted (`Authorization: Bearer <apiKey>`). Default `test_whop_key`. */
  apiKey?: string;
  /** Path prefix before `/conversions`. Default `/api/v1` (as Whop's production base URL). */
  basePath?: string;
  /** `Retry-After` sent with `429`/`503` modes. Default `'1'` (seconds). */
  retryAfter?: string;
  /** Delay of the `slow` mode (ms). Default 2000. */
  slowMs?: number;
  /**
   * Echo mode: every error answer's `message` repeats the request's `Authorization` header and the
   * body it was sent, as a careless upstream or proxy might. Checks that "the key appears nowhere"
   * or "PII is never logged" can only fail when something does echo them. Default false.
   */
  echo?: boolean;
}

export interface FakeWhop {
  /** Base URL to give the relay, e.g. `http://127.0.0.1:41234/api/v1`. */
  url: string;
  /** The configured key. */
  apiKey: string;
  /** Every request received, in order (including rejected and unanswered ones). */
  requests: FakeWhopRequest[];
  /** Every conversion accepted (answered 200), in order. */
  conversions: FakeWhopConversion[];
  /** Every `POST /events` accepted (answered 200), in order, resends included (see `eventDuplicates`). */
  events: FakeWhopEvent[];
  setMode(mode: FakeWhopMode | ((req: FakeWhopRequest, n: number) => FakeWhopMode | FakeWhopAnswer)): void;
  /** Changes the accepted key (e.g. to model a key rotated or fixed at Whop). */
  setApiKey(key: string): void;
  /** Turns echo mode (see `FakeWhopOptions.echo`) on or off. */
  setEcho(on: boolean): void;
  /** event_ids accepted more than once. */
  duplicates(): string[];
  /**
   * /conversions as Whop counts them: one conversion per (company_id, event_name, event_id), each
   * key (JSON of the three) with how many POSTs of it were accepted. A resend is counted once.
   */
  counted(): Map<string, number>;
  /** TCP connections accepted since the start or the last reset (keep-alive reuse shows as few). */
  connections(): number;
  /** event_ids sent to /events more than once (Whop counts them once; the relay should not resend). */
  eventDuplicates(): string[];
  /** Clears records and returns to mode `ok`. */
  reset(): void;
  close(): Promise<void>;
}

const _validators = new Map<string, ValidateFunction>();

/** Compiles the request schema of `POST <path>` straight out of its vendored OpenAPI document. */
function validator(path: '/conversions' | '/events' = '/conversions'): ValidateFunction {
  const cached = _validators.get(path);
  if (cached) return cached;
  const file = path === '/events' ? '../spec/whop-events.openapi.yml' : '../spec/whop-conversions.openapi.yml';
  const spec = _strict(parseYaml(readFileSync(new URL(file, import.meta.url), 'utf8')));
  // strict: false because an OpenAPI document carries keywords JSON Schema does not know (example…).
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // RFC 3339 date-time, as OpenAPI's `format: date-time` means.
  ajv.addFormat(
    'date-time',
    (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s) && !Number.isNaN(Date.parse(s)),
  );
  ajv.addSchema({ ...spec, $id: 'whop' });
  const validate = ajv.compile({ $ref: `whop#/paths/~1${path.slice(1)}/post/requestBody/content/application~1json/schema` });
  _validators.set(path, validate);
  return validate;
}

const _EVENT_NAMES: ReadonlySet<string> = new Set<string>([...STANDARD_EVENT_NAMES, ...PIXEL_EVENT_NAMES, 'custom']);
/** Whop takes events up to 28 days old (developer/ads/events-api). */
const _MAX_EVENT_AGE_MS = 28 * 24 * 3_600_000;

/** What /events refuses beyond its schema: a custom name over the limit, an event older than 28 days. */
function _eventRules(body: WhopEvent, now: number): string[] {
  const errors: string[] = [];
  if (typeof body.event_name === 'string' && !_EVENT_NAMES.has(body.event_name) && body.event_name.length > MAX_CUSTOM_NAME_LENGTH) {
    errors.push(`/event_name a custom event name must NOT have more than ${MAX_CUSTOM_NAME_LENGTH} characters`);
  }
  if (typeof body.event_time === 'string' && now - Date.parse(body.event_time) > _MAX_EVENT_AGE_MS)
    errors.push('/event_time is older than 28 days');
  return errors;
}

/**
 * The spec as Whop enforces it: unknown parameters refused (the API answers parameter_unknown; the
 * document does not say additionalProperties) and `custom_name` at most 35 characters (the SDK's
 * EventCreateParams: "Maximum 35 chars"), so a forward that would be refused fails tests here too.
 */
function _strict(node: unknown): object {
  if (Array.isArray(node)) node.forEach(_strict);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.properties && typeof o.properties === 'object' && o.additionalProperties === undefined) o.additionalProperties = false;
    const custom = (o.properties as Record<string, Record<string, unknown>> | undefined)?.custom_name;
    if (custom) custom.maxLength = 35;
    for (const v of Object.values(o)) _strict(v);
  }
  return node as object;
}

/** The errors the fake Whop would answer 400 with for this CreateConversion body ([] when it takes it). */
export function conversionErrors(body: unknown): string[] {
  const validate = validator();
  return validate(body) ? [] : (validate.errors ?? []).map(describeError);
}

/** The errors the fake Whop would answer 400 with for this CreateEvent body ([] when it takes it). */
export function eventErrors(body: unknown, now = Date.now()): string[] {
  const validate = validator('/events');
  if (!validate(body)) return (validate.errors ?? []).map(describeError);
  return _eventRules(body as WhopEvent, now);
}

function describeError(e: ErrorObject): string {
  return `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`;
}

function whopError(type: string, message: string, code: string | null = null, param: string | null = null) {
  return { error: { type, message, code, param } };
}

const _STATUS_ERRORS: Record<number, [string, string]> = {
  400: ['invalid_request_error', 'Bad request'],
  401: ['unauthorized', 'Invalid or missing API key'],
  403: ['forbidden', 'You do not have permission to access this resource'],
  404: ['not_found', 'Resource not found'],
  422: ['verification_required', 'Verification required'],
  429: ['rate_limit_error', 'Too many requests'],
  500: ['internal_server_error', 'An unexpected error occurred'],
  503: ['service_unavailable', 'Service unavailable'],
};

/** Starts the fake on 127.0.0.1 with an ephemeral port. */
export async function startFakeWhop(options: FakeWhopOptions = {}): Promise<FakeWhop> {
  const basePath = options.basePath ?? '/api/v1';
  const retryAfter = options.retryAfter ?? '1';
  const slowMs = options.slowMs ?? 2000;
  let apiKey = options.apiKey ?? 'test_whop_key';
  let mode: FakeWhopMode | ((req: FakeWhopRequest, n: number) => FakeWhopMode | FakeWhopAnswer) = 'ok';
  const requests: FakeWhopRequest[] = [];
  const conversions: FakeWhopConversion[] = [];
  const events: FakeWhopEvent[] = [];
  // Whop's idempotency: a repeated Idempotency-Key gets the first answer's id; a repeated
  // (account_id, event_name, event_id) is counted once (the same id again).
  const counted = new Map<string, string>();
  const timers = new Set<NodeJS.Timeout>();
  let nextId = 1;
  let echo = options.echo ?? false;
  const validate = validator();

  const send = (res: ServerResponse, req: FakeWhopRequest, answer: FakeWhopAnswer) => {
    req.status = answer.status;
    const error = (answer.body as { error?: { message?: unknown } } | undefined)?.error;
    if (echo && answer.status >= 400 && error && typeof error === 'object') {
      answer = {
        ...answer,
        body: {
          error: {
            ...error,
            message: `${String(error.message ?? '')} (request: Authorization: ${String(req.headers.authorization)}; body: ${req.raw})`,
          },
        },
      };
    }
    const reply = () => {
      if (res.destroyed) return;
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    };
    if (answer.delayMs) {
      const t = setTimeout(() => (timers.delete(t), reply()), answer.delayMs);
      timers.add(t);
    } else reply();
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Conversion | undefined;
      try {
        body = JSON.parse(raw) as Conversion;
      } catch {
        body = undefined;
      }
      const record: FakeWhopRequest = {
        n: requests.length + 1,
        at: Date.now(),
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0]!,
        headers: req.headers,
        raw,
        body,
        errors: [],
        status: 0,
      };
      requests.push(record);
      const isEvents = record.path === `${basePath}/events`;
      if (body !== undefined) {
        if (!isEvents && !validate(body)) record.errors = (validate.errors ?? []).map(describeError);
        if (isEvents) record.errors = eventErrors(body, record.at);
      }
      const idempotencyKey = req.headers['idempotency-key'];
      if (isEvents && body !== undefined) {
        if (typeof idempotencyKey !== 'string' || !idempotencyKey) record.errors.push('Idempotency-Key header is missing');
        else if (idempotencyKey !== (body as unknown as WhopEvent).event_id)
          record.errors.push('Idempotency-Key header differs from event_id');
      }

      if (record.method !== 'POST' || (record.path !== `${basePath}/conversions` && !isEvents)) {
        return send(res, record, { status: 404, body: whopError('not_found', 'Resource not found') });
      }
      const chosen = typeof mode === 'function' ? mode(record, record.n) : mode;
      if (typeof chosen === 'object') return send(res, record, chosen);
      if (chosen === 'hang') return; // never answered; close() tears the socket down
      if (chosen === 'reset') return void req.socket.destroy();
      if (chosen !== 'ok' && chosen !== 'slow') {
        const status = Number(chosen);
        const [type, message] = _STATUS_ERRORS[status] ?? ['error', 'Error'];
        const headers: Record<string, string> = status === 429 || status === 503 ? { 'retry-after': retryAfter } : {};
        return send(res, record, { status, body: whopError(type, message), headers });
      }
      const delayMs = chosen === 'slow' ? slowMs : 0;
      if (req.headers.authorization !== `Bearer ${apiKey}`) {
        return send(res, record, { status: 401, body: whopError('unauthorized', 'Invalid or missing API key'), delayMs });
      }
      if (body === undefined || req.headers['content-type']?.split(';')[0]?.trim() !== 'application/json') {
        return send(res, record, { status: 400, body: whopError('invalid_request_error', 'Body must be JSON', 'invalid_json'), delayMs });
      }
      if (record.errors.length) {
        const first = isEvents ? undefined : validate.errors?.[0];
        const param = first
          ? first.instancePath.replace(/^\//, '').replace(/\//g, '.') ||
            (first.params as { missingProperty?: string }).missingProperty ||
            null
          : null;
        return send(res, record, {
          status: 400,
          body: whopError('invalid_request_error', record.errors.join('; '), 'parameter_invalid', param),
          delayMs,
        });
      }
      if (isEvents) {
        const event = body as unknown as WhopEvent;
        const key = JSON.stringify([event.account_id, event.event_name, event.event_id]);
        const id = counted.get(key) ?? `evnt_${String(nextId++).padStart(8, '0')}`;
        counted.set(key, id);
        events.push({ id, body: event, idempotencyKey: idempotencyKey as string, request: record });
        return send(res, record, { status: 200, body: { id }, delayMs });
      }
      const id = `conv_${String(nextId++).padStart(8, '0')}`;
      conversions.push({ id, body, request: record });
      send(res, record, { status: 200, body: { id }, delayMs });
    });
  });

  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${basePath}`,
    get apiKey() {
      return apiKey;
    },
    requests,
    conversions,
    events,
    setMode(next) {
      mode = next;
    },
    setApiKey(key) {
      apiKey = key;
    },
    setEcho(on) {
      echo = on;
    },
    counted() {
      const seen = new Map<string, number>();
      for (const c of conversions) {
        const key = JSON.stringify([c.body.company_id, c.body.event_name, c.body.event_id]);
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      return seen;
    },
    duplicates() {
      const seen = new Map<string, number>();
      for (const c of conversions) {
        // Whop counts one conversion per (event_name, event_id) of a company.
        const key = JSON.stringify([c.body.company_id, c.body.event_name, c.body.event_id]);
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      return [...seen].filter(([, n]) => n > 1).map(([k]) => (JSON.parse(k) as string[])[2]!);
    },
    eventDuplicates() {
      const seen = new Map<string, number>();
      for (const e of events) {
        const key = JSON.stringify([e.body.account_id, e.body.event_name, e.body.event_id]);
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      return [...seen].filter(([, n]) => n > 1).map(([k]) => (JSON.parse(k) as string[])[2]!);
    },
    connections: () => connections,
    reset() {
      connections = 0;
      requests.length = 0;
      conversions.length = 0;
      events.length = 0;
      counted.clear();
      mode = 'ok';
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
