// What the page alone knows of the browser for an event's `context`. The rest is the relay's to
// add from the request: the IP, the user agent, the language (Accept-Language), the ad platforms'
// own cookies (`_fbc`, `_ga`, `_ttp`) and the click context it keeps (lib/touch.ts). That saves the
// bundle the parsing and each event a `document.cookie` read.

/**
 * `screen_resolution` (`1920x1080`) for an event's context. No `timezone`: the only way to read the
 * IANA zone is `Intl`, and a page's first `Intl` call costs Chromium 35-150 ms of main thread (ICU
 * starting up; `node bench/run.mjs main-thread` went from 7 to 38 ms of script with it).
 */
export const deviceContext = (): Record<string, string> => ({ screen_resolution: screen.width + 'x' + screen.height });
