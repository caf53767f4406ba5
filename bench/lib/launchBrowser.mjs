// The browser every browser benchmark drives: the machine's Chromium (scripts/chromium.mjs).
import { chromium } from '@playwright/test';
import { chromiumLaunchOptions } from '../../scripts/chromium.mjs';

/**
 * Context options. The user agent is a desktop Chrome's: headless Chromium announces itself as
 * "HeadlessChrome", and PostHog (rightly) drops bot traffic, which would flatter it by doing nothing.
 */
export const CONTEXT_OPTIONS = {
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36',
  viewport: { width: 1280, height: 800 },
};

/** Host names a bench site may take (startBenchSite's `host`): the browser resolves them to loopback. */
export const BENCH_HOSTS = '*.bench.test';

/** Launches headless Chromium with this machine's flags. */
export function launchBrowser() {
  const options = chromiumLaunchOptions();
  return chromium.launch({ ...options, args: [...options.args, `--host-resolver-rules=MAP ${BENCH_HOSTS} 127.0.0.1`] });
}
