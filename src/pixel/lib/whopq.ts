// The command dispatcher: `whopq(command, …args)`. Holds one page's state (companies, options,
// consent, identified user, page) and never lets an error reach the host page.
import type { Conversion, ConversionUser } from '../../shared/conversion';
import { AID_KEY, browserId, FBP_KEY, newFbp } from './browserId';
import { Consent, forget, REVOKED_KEY, USER_KEY } from './consent';
import { followConsentMode } from './consentMode';
import { deviceContext } from './context';
import { cookieJar, registrableDomain } from './cookies';
import { type Draft, draftEvent, type TrackProps, userFields } from './event';
import { log, setDebug, warn } from './log';
import { enqueue, setPersist } from './queue';
import { store } from './storage';
import { post } from './deliver';
import { createSender } from './sender';
import { mappedParams, TOUCH_FIELDS } from './touch';
import { uuid } from './uuid';

/** Options of `whopq('init', companyId, options)`; later inits may add companies and change options. */
export interface InitOptions {
  /** Relay base URL, absolute or relative. Default `/wq` on the page's origin. */
  relay?: string;
  /** @deprecated Ignored: the relay keeps each network's click for that network's window (docs/PROTOCOL.md). */
  windowDays?: number;
  /** Cookie domain. Default: the registrable domain, found by probing. */
  cookieDomain?: string;
  /** Hold everything in memory until `whopq('consent', 'grant')`. Default false. */
  requireConsent?: boolean;
  /** Log each step to the console. Default false (or `?whopq_debug=1`). */
  debug?: boolean;
  /** Extra URL parameter → context field mappings, e.g. `{ cid: 'ad_campaign_id' }`; a target the API lacks is ignored. */
  params?: Record<string, string>;
  /** Send a `page` event on load, on SPA route changes and on a back/forward-cache restore. Default true. */
  pageViews?: boolean;
}

/** What page code hands its own backend so a server event matches the browser's (see TrackOptions.callback). */
export interface TrackedIds {
  /** The event's id: a server event with the same name and id counts once at Whop. */
  event_id: string;
  /** The visitor's anonymous id (`user.anonymous_id`, cookie `wq_aid`). */
  anonymous_id: string;
}

/** Per-call options of `track`. */
export interface TrackOptions {
  /** Your own id, to deduplicate against events your server sends. Default: a random UUID. */
  event_id?: string;
  /** User fields for this event only (merged over `identify`). */
  user?: ConversionUser;
  /** Send to this initialised company only. Default: every initialised company. */
  company_id?: string;
  /** Called with the event's id and the visitor's anonymous id once the event is queued (one id for every company). */
  callback?: (ids: TrackedIds) => void;
}

/** localStorage flag (set by hand) that makes the snippet load the debug build on every page. */
export const DEBUG_KEY = 'wq_debug';

/** What the lean build prints when debug output is asked for at run time (why it cannot show any). */
export const DEBUG_HINT = 'whopq: logs need ?whopq_debug=1';

/** The `whopq` function: a command name and its arguments. */
export type Whopq = ((command: string, ...args: unknown[]) => void) & {
  /** Runs a call made earlier, with its own time and page (the snippet's queue; see global.ts). */
  _r?: (args: unknown[], time?: number, href?: string) => void;
};

/** A failed check: a message in the debug build, false in the lean one (see lib/event.ts). */
const bad = <T>(x: T | string | false): x is string | false => (__DEBUG__ ? typeof x != 'object' : !x);

/** Creates a dispatcher (the IIFE installs one as `window.whopq`; the ESM API wraps one). */
export function createWhopq(): Whopq {
  const companies: string[] = [];
  let opts: InitOptions = {};
  /**
   * Undefined until the page says: then `requireConsent` decides (a CMP may grant before init).
   * A revoke on an earlier page is remembered.
   */
  let consent: Consent | undefined = store(REVOKED_KEY) ? Consent.Revoked : undefined;
  /** The identified user's fields, normalised; persisted (consent granted) so later pages carry them. */
  let user: ConversionUser = {};
  try {
    user = JSON.parse(store(USER_KEY) || '{}');
  } catch {}
  let aid: string | undefined;
  let fbp: string | undefined;
  /** The URL (without its fragment) of the last page view: an SPA route change is a new one. */
  let loc: string | undefined;
  let sender: ReturnType<typeof createSender> | undefined;
  /** The sender's next run, once per task however many calls ask for it (init, a page view, tracks). */
  let soon: ReturnType<typeof setTimeout> | 0 | undefined;
  const send = () => (soon ||= setTimeout(() => ((soon = 0), sender!())));
  /** `track`/`identify` calls made before the first init (tag managers fire in no fixed order), run right after it. */
  const early: [unknown[], number, string?][] = [];
  /** The time and page of the call being run when it was made earlier (replayed), else undefined: now. */
  let at: number | undefined;
  let href: string | undefined;

  let dom: string | undefined;
  const domain = () => (dom ||= opts.cookieDomain || registrableDomain());
  const granted = () => (consent ?? (opts.requireConsent ? Consent.Pending : Consent.Granted)) == Consent.Granted;
  const base = () => (opts.relay || '/wq').replace(/\/$/, '');
  /** Persists the identified user (bounded: identify cuts each value, and a huge record is not kept). */
  const saveUser = () => {
    const j = JSON.stringify(user);
    granted() && j.length < 4e3 && store(USER_KEY, j);
  };
  /** The browser ids: read, or minted once per page; written when consent allows. */
  const ids = (persist: boolean) => {
    // One read for both ids, after the domain probe: once a page has written a cookie, Chromium's
    // next read is a round trip to the browser process.
    const jar = (persist && domain(), cookieJar());
    aid = browserId(AID_KEY, uuid, 400, persist, domain, aid, jar);
    fbp = browserId(FBP_KEY, newFbp, 90, persist, domain, fbp, jar);
  };

  /**
   * The relay's endpoint `p`, told the cookie domain the pixel uses: without one configured the relay
   * sets its cookies (`wq_c` above all) there too, so every host name of the site shares them.
   */
  const relay = (p: string) => base() + p + '?d=' + (domain() || '');

  /**
   * Forgets the visitor here and at the relay (its HttpOnly `wq_c`, its host-only copies): the
   * ids, the identity; `all` (a revoke) the queue too. The next event mints new ids.
   */
  function wipe(all?: boolean): void {
    // The id goes in the body: the cookie is gone before the request leaves. The relay forgets what
    // its visitor memory holds under it.
    const a = (aid || ids(false), aid);
    aid = fbp = undefined;
    user = {};
    forget(domain(), all);
    post(relay('/forget'), JSON.stringify({ anonymous_id: a }));
  }

  // In the lean build Object.prototype's names (`whopq('toString')`) reach harmless built-ins or
  // throw into the catch below; the debug build looks up own commands only, to name the mistake.
  const commands: Record<string, (...a: any[]) => void> = {
    init(id: string, o: unknown) {
      // A non-string id is coerced by test() and fails it.
      if (!/^biz_\w+$/.test(id)) return __DEBUG__ && warn('init needs a company id like "biz_XXXXXXXXXXXXXX", got ' + JSON.stringify(id));
      if (__DEBUG__ && o != null && typeof o != 'object') return warn('init options must be an object');
      opts = { ...opts, ...(o as InitOptions) };
      // A mapping to a field the API lacks is ignored (lib/touch.ts); the debug build says so.
      if (__DEBUG__)
        for (const k in opts.params)
          TOUCH_FIELDS.includes(opts.params[k]) ||
            warn('params: "' + opts.params[k] + '" is not a context field of the API; "' + k + '" ignored');
      if (opts.debug) commands.debug();
      if (!companies.includes(id)) companies.push(id);
      __DEBUG__ && log('initialised ' + id);
      if (!sender) {
        // A consent manager's default and update come before the first write (lib/consentMode.ts):
        // an update changes the state as the page's own consent call would; a default denial holds
        // events like requireConsent unless the page already said.
        followConsentMode((ok, update) =>
          update
            ? consent != (ok ? Consent.Granted : Consent.Revoked) && commands.consent(ok ? 'grant' : 'revoke')
            : ok || (consent ??= Consent.Pending),
        );
        setPersist(granted());
        sender = createSender(
          () => relay('/e'),
          () => granted() && !!companies.length,
        );
        // Route changes are page views; pushState's title is set by the app after the call.
        const view = (e?: Partial<PageTransitionEvent>) => run(['page', e && e.persisted]);
        for (const k of ['pushState', 'replaceState'] as const) {
          const f = history[k];
          history[k] = function (this: History, ...a: any) {
            setTimeout(view);
            return f.apply(this, a);
          };
        }
        addEventListener('popstate', view);
        // A back/forward-cache restore is a page view of the same URL, marked `resumed`.
        addEventListener('pageshow', (e) => e.persisted && ((loc = ''), view(e)));
        // The calls that waited for this init go to this company (and the ones initialised by then).
        for (const e of early.splice(0)) run(...e);
      }
      commands.page();
      // The sender runs in a task of its own, soon: it writes what track() held in memory, then
      // delivers. The caller (often a click or submit handler, or the page's load task when the
      // snippet replays init + track) pays only for building the event.
      send();
    },

    track(name: unknown, props: unknown, o?: TrackOptions) {
      if (consent == Consent.Revoked) return __DEBUG__ && log('consent revoked: track dropped');
      // A route change the hooks missed is a page view too, before this event.
      commands.page();
      const d = draftEvent(name, props);
      if (__DEBUG__ ? bad(d) : !d) return __DEBUG__ && warn(d + '; call dropped');
      if (__DEBUG__ && o != null && typeof o != 'object') return warn('track options must be an object; call dropped');
      let event_id = o && o.event_id;
      const company_id = o && o.company_id;
      const u = o && o.user ? userFields(o.user) : {};
      // The lean build's userFields always gives an object (lib/event.ts).
      if (__DEBUG__ && bad(u)) return warn(u + '; call dropped');
      if (__DEBUG__ && event_id != null && typeof event_id != 'string') return warn('event_id must be a string; call dropped');
      if (company_id != null && !companies.includes(company_id))
        return __DEBUG__ && warn('company_id ' + company_id + ' was not initialised; call dropped');
      // Asked for it (the callback): one id for every company's copy, known now. Else each copy
      // draws its own in the builder, off the call's task.
      if (o && o.callback) event_id ||= uuid();
      // The call fixes what must be as it was then: the time, the page, the companies (one
      // builder each), the user as identified now (a copy: an identify after the track changes
      // later events only), the mapped URL params and the event_id. The rest (the browser ids,
      // the device context, the JSON) is built when the queue is
      // next read: in the sender's task a few ms later, or at once when the page is being hidden
      // or left (lib/queue.ts). The cookies read then are the call's unless the page changes
      // _fbp, _fbc, _ga or _ttp in between. A revoke before then drops the builders unrun.
      const t = at || Date.now();
      const url = href || location.href;
      const tu = opts.params && mappedParams(location.search, opts.params);
      const who: ConversionUser = { ...user, ...(u as ConversionUser) };
      for (const c of company_id ? [company_id] : companies)
        enqueue(() => {
          const e = {
            company_id: c,
            event_id: event_id || uuid(),
            ...(d as Draft),
            // Epoch ms: the relay writes the ISO time (it reads both).
            event_time: t as unknown as string,
            action_source: 'website',
            url,
            // A document's referrer never changes. undefined is left out by JSON.stringify: the
            // API field is absent, not an empty string.
            referrer_url: document.referrer || undefined,
            // The ids are read (and written when missing) once a page; the relay fills the clicks.
            context: { ...deviceContext(), ...tu, fbp: (aid || ids(granted()), fbp) },
            // Whop's own pixel's visitor id, read, never written: Whop links the two pixels' events.
            user: { ...who, anonymous_id: aid, linked_wuid: store('_wuid') },
          } as Conversion;
          __DEBUG__ && log('queued ' + (e.custom_name || e.event_name) + ' for ' + c + (granted() ? '' : ' (held until consent)'), e);
          return { e, t };
        });
      send();
      // After the enqueue: a callback that throws loses nothing (run's catch takes it).
      o && o.callback && o.callback({ event_id: event_id!, anonymous_id: (aid || ids(granted()), aid!) });
    },

    identify(u: unknown) {
      const f = userFields(u);
      if (__DEBUG__ && bad(f)) return warn(f + '; identify dropped');
      user = { ...user, ...(f as ConversionUser) };
      saveUser();
      __DEBUG__ && log('identified', user);
    },

    consent(state: unknown) {
      if (state == 'grant') {
        consent = Consent.Granted;
        store(REVOKED_KEY, null);
        setPersist(true);
        saveUser();
        if (sender) {
          ids(true);
          sender();
        }
      } else if (state == 'revoke') {
        consent = Consent.Revoked;
        wipe(true);
      } else return __DEBUG__ && warn('consent takes "grant" or "revoke", got ' + JSON.stringify(state));
      __DEBUG__ && log('consent ' + state);
    },

    /**
     * A page view when the URL (its fragment aside) changed since the last one: init, the route
     * hooks and every track call it. A replayed call's page is its own (the snippet's queue, or an
     * earlier page's kept calls). The relay reads the view's URL for a new click.
     */
    page(resumed?: boolean) {
      const u = (href || location.href).split('#')[0];
      if (sender && loc != u && consent != Consent.Revoked) {
        loc = u;
        opts.pageViews != false && commands.track('page', { title: document.title, resumed });
      }
    },

    /** Forgets the identified user and the browser ids (a logout, a shared device); the next event mints new ids. */
    reset() {
      wipe();
      __DEBUG__ && log('reset: identity and ids forgotten');
    },

    flush() {
      sender && sender();
    },

    debug(on: unknown) {
      // The lean build has no words to print (they cost 1 kB gzip, a third of the budget): the
      // snippet loads dist/whopq.debug.js when the URL has whopq_debug=1 or localStorage wq_debug
      // is set (by hand: the pixel writes no storage of its own for this, consent or not).
      if (__DEBUG__) setDebug(on !== false);
      else console.info(DEBUG_HINT);
    },
  };

  if (__DEBUG__ && (/[?&]whopq_debug=1/.test(location.search) || store(DEBUG_KEY))) setDebug(true);

  function run(args: unknown[], t?: number, u?: string): void {
    try {
      const c = args[0] as string;
      // Lean: an unknown name calls undefined, which throws into the catch below.
      if (__DEBUG__ && !{}.hasOwnProperty.call(commands, c)) return warn('unknown command ' + JSON.stringify(c) + '; call dropped');
      if (!sender && (c == 'track' || c == 'identify')) {
        early.push([args, t || Date.now(), u]);
        return void (__DEBUG__ && log(c + ' before init: runs when init comes'));
      }
      at = t;
      href = u;
      commands[c](...args.slice(1));
    } catch (e) {
      // A bug of ours (or a hostile page patch) must not become the host page's exception.
      __DEBUG__ && warn('internal error, call dropped', e);
    }
    at = href = undefined;
  }

  const whopq: Whopq = (...args) => run(args);
  whopq._r = run;
  return whopq;
}
