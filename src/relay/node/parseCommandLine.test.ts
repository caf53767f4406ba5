import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commands } from './cli';
import { parseCommandLine } from './parseCommandLine';

const parse = (line: string) => parseCommandLine(line ? line.split(' ') : [], commands);

describe('parseCommandLine', () => {
  it('shows help for no arguments, help, --help and -h, at the top and for each command', () => {
    for (const line of ['', 'help', '--help', '-h'])
      expect(parse(line)).toMatchObject({ kind: 'help', text: expect.stringContaining('Commands:') });
    for (const line of ['relay --help', 'relay -h', 'help relay', 'relay --bogus --help']) {
      expect(parse(line)).toMatchObject({ kind: 'help', text: expect.stringContaining('WHOP_API_KEY') });
    }
    expect(parse('demo --help')).toMatchObject({ kind: 'help', text: expect.stringContaining('--pages <dir>') });
  });

  it('answers --version and -v anywhere', () => {
    for (const line of ['--version', '-v', 'relay --version', 'demo -v']) expect(parse(line)).toEqual({ kind: 'version' });
  });

  it('refuses unknown commands, options and arguments by name', () => {
    expect(parse('serve')).toEqual({
      kind: 'usage-error',
      message: 'whopq: unknown command "serve". Commands: relay, demo (whopq --help).',
    });
    expect(parse('relay --port 80')).toEqual({
      kind: 'usage-error',
      message: 'whopq relay: unknown option --port. See `whopq relay --help`.',
    });
    expect(parse('relay now')).toEqual({
      kind: 'usage-error',
      message: 'whopq relay: unexpected argument "now". See `whopq relay --help`.',
    });
    expect(parse('demo --pages')).toEqual({
      kind: 'usage-error',
      message: 'whopq demo: option --pages needs a value. See `whopq demo --help`.',
    });
    expect(parse('--bogus')).toMatchObject({ kind: 'usage-error', message: expect.stringContaining('unknown option --bogus') });
  });

  it('runs a command with its checked arguments', () => {
    expect(parse('relay')).toEqual({ kind: 'run', command: 'relay', args: [], values: {} });
    expect(parse('demo --pages site')).toMatchObject({
      kind: 'run',
      command: 'demo',
      args: ['--pages', 'site'],
      values: { pages: 'site' },
    });
  });
});

describe("the relay's settings", () => {
  it('every environment variable relayConfig reads is in `whopq relay --help` and in the README table', () => {
    const names = [
      ...new Set([...readFileSync('src/relay/node/relayConfig.ts', 'utf8').matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!)),
    ];
    expect(names.length).toBeGreaterThan(10);
    const help = commands.relay!.details!;
    const readme = readFileSync('README.md', 'utf8');
    for (const name of names) {
      expect(help, `${name} in whopq relay --help`).toContain(name);
      expect(readme, `${name} in the README`).toContain(name);
    }
  });
});
