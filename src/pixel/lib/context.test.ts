// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { deviceContext } from './context';

describe('deviceContext', () => {
  it('is the time zone and the screen size, read once a page', () => {
    const format = vi.spyOn(Intl, 'DateTimeFormat');
    const first = deviceContext();
    expect(first).toEqual({
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      screen_resolution: `${screen.width}x${screen.height}`,
    });
    format.mockClear();
    expect(deviceContext()).toBe(first);
    expect(format).not.toHaveBeenCalled();
    format.mockRestore();
  });

  it("reads no cookie: _fbc, _ga, _ttp and the clicks are the relay's to add", () => {
    document.cookie = '_ga=GA1.1.987654321.1700000000;path=/';
    const cookie = vi.spyOn(document, 'cookie', 'get');
    expect(Object.keys(deviceContext())).toEqual(['timezone', 'screen_resolution']);
    expect(cookie).not.toHaveBeenCalled();
  });
});
