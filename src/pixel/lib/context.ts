// What the page alone knows of the browser for an event's `context`. The rest is the relay's to
// add from the request: the IP, the user agent, the language (Accept-Language), the ad platforms'
// own cookies (`_fbc`, `_ga`, `_ttp`) and the click context it keeps (lib/touch.ts). That saves the
// bundle the parsing and each event a `document.cookie` read.

/** The browser's time zone and screen size: read once a page (`Intl` formats cost a fraction of a millisecond). */
let device: Record<string, string> | undefined;

/** `timezone` (IANA) and `screen_resolution` (`1920x1080`) for an event's context. */
export const deviceContext = (): Record<string, string> =>
  (device ||= { timezone: Intl.DateTimeFormat().resolvedOptions().timeZone, screen_resolution: screen.width + 'x' + screen.height });
