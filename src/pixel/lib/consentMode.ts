// Google Consent Mode v2, followed without page code: a consent manager that speaks it calls
// `gtag('consent', 'default' | 'update', { ad_storage, ad_user_data, … })`, which pushes that
// `arguments` object onto `window.dataLayer`. The commands already there are read at init, later
// ones as they are pushed. Only commands naming `ad_storage` or `ad_user_data` count: an update of
// `analytics_storage` alone says nothing about ads.

/** Calls `set(granted, isUpdate)` for each Consent Mode command on the page's dataLayer, now and later. */
export function followConsentMode(set: (granted: boolean, update: boolean) => void): void {
  const dl: any[] = ((window as any).dataLayer ||= []);
  const see = (a: any) => {
    try {
      const s = a[0] == 'consent' && a[2];
      (s.ad_storage || s.ad_user_data) && set(!/denied/.test(s.ad_storage + s.ad_user_data), a[1] == 'update');
    } catch {}
  };
  dl.map(see);
  const push = dl.push;
  // Ours calls whichever push was there (Google's tag wraps it too, and calls the one it found).
  dl.push = (...a: unknown[]) => (a.map(see), push.apply(dl, a));
}
