// Vitest's global set-up: the chaos suite's browser scenarios launch Chromium, so it is found (or
// installed, as root on Debian) before any test file runs, as `npm test` promises on a fresh machine.
import { ensureChromium } from './chromium.mjs';

export default function setup() {
  // Without a browser the unit and integration tests still run; the browser scenarios then fail
  // with Playwright's "Executable doesn't exist", after the instructions printed here.
  ensureChromium();
}
