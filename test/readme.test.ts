import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The README's first screen is what sellers copy: it must be the snippet the build produces
// (npm test builds before it runs the unit tests).
describe('README', () => {
  it('shows the built snippet', () => {
    const snippet = readFileSync('dist/snippet.html', 'utf8').trim();
    expect(readFileSync('README.md', 'utf8')).toContain(snippet);
  });
});
