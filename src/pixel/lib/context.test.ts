// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { deviceContext } from './context';

describe('deviceContext', () => {
  it('is the screen size, and touches no Intl API (its first call costs Chromium tens of ms)', () => {
    const format = vi.spyOn(Intl, 'DateTimeFormat');
    expect(deviceContext()).toEqual({ screen_resolution: `${screen.width}x${screen.height}` });
    expect(format).not.toHaveBeenCalled();
    format.mockRestore();
  });

  it("reads no cookie: _fbc, _ga, _ttp and the clicks are the relay's to add", () => {
    document.cookie = '_ga=GA1.1.987654321.1700000000;path=/';
    const cookie = vi.spyOn(document, 'cookie', 'get');
    expect(Object.keys(deviceContext())).toEqual(['screen_resolution']);
    expect(cookie).not.toHaveBeenCalled();
  });
});
