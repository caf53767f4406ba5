// `npm run test:chaos`: the reliability and security suite at full size (real minute-long outages,
// ≥ 10,000 fuzzed bodies), then docs/RELIABILITY.md from what each scenario measured.
// `node scripts/chaos.mjs --fast` runs the sizes `npm test` uses. Extra arguments go to vitest
// (e.g. a file filter: `node scripts/chaos.mjs test/chaos/faults.test.ts`); the table then holds
// only what ran. The exit code is vitest's. test/chaos/NOTES.md (how to read the figures, known
// limits) is appended to the closing note.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const fast = args.includes('--fast');
const filters = args.filter((a) => a !== '--fast');
const work = mkdtempSync(join(tmpdir(), 'whopq-chaos-run-'));
const results = join(work, 'results.jsonl');
const report = join(work, 'vitest.json');
const started = new Date();

const run = spawnSync(
  process.execPath,
  [
    'node_modules/vitest/vitest.mjs',
    'run',
    ...(filters.length ? filters : ['test/chaos']),
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
  ],
  { stdio: 'inherit', env: { ...process.env, WHOPQ_CHAOS_FULL: fast ? '0' : '1', WHOPQ_CHAOS_RESULTS: results } },
);

const figures = existsSync(results)
  ? readFileSync(results, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
const tests = existsSync(report)
  ? JSON.parse(readFileSync(report, 'utf8')).testResults.flatMap((f) => f.assertionResults.map((a) => ({ ...a, file: f.name })))
  : [];
const status = new Map(tests.map((t) => [t.title, t.status]));
const seconds = new Map(tests.map((t) => [t.title, t.duration]));

const cell = (v) => String(v ?? '—').replace(/\|/g, '\\|');
const verdict = (name) => (status.get(name) === 'passed' ? 'pass' : status.get(name) === 'failed' ? '**FAIL**' : cell(status.get(name)));
const groups = [
  ['fault', 'Faults (events tracked to the fake Whop API)', 'events sent'],
  ['fuzz', 'Bad input (bodies posted / calls made)', 'inputs'],
  ['abuse', 'Abuse (attempts made)', 'attempts'],
  ['privacy', 'Privacy', 'events'],
];
const lines = [
  '# Reliability and security results',
  '',
  `Written by \`npm run test:chaos\` (scripts/chaos.mjs) on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${fast ? 'fast sizes (as in `npm test`)' : 'full sizes'}, Node ${process.version}.`,
  'Scenarios live in `test/chaos/`; each counts what it sent and what the fake Whop API (`test/fakeWhop.ts`) finally accepted.',
  '"delivered" counts distinct event_ids accepted, "duplicated" extra acceptances of an id, "lost" ids never accepted.',
  'For bad input and abuse rows, "delivered" is what was accepted (200), "lost" what was answered wrongly (a 5xx, a crash, a wrong shape, a leak).',
  '',
];
for (const [group, title, sentLabel] of groups) {
  const rows = figures.filter((f) => f.group === group);
  if (!rows.length) continue;
  lines.push(
    `## ${title}`,
    '',
    `| scenario | ${sentLabel} | delivered | duplicated | lost | verdict | seconds | notes |`,
    '| --- | ---: | ---: | ---: | ---: | --- | ---: | --- |',
  );
  for (const f of rows)
    lines.push(
      `| ${cell(f.scenario)} | ${f.sent} | ${f.delivered} | ${f.duplicated} | ${f.lost} | ${verdict(f.scenario)} | ${seconds.has(f.scenario) ? (seconds.get(f.scenario) / 1000).toFixed(1) : '—'} | ${cell(f.notes)} |`,
    );
  lines.push('');
}
const recorded = new Set(figures.map((f) => f.scenario));
const others = tests.filter((t) => !recorded.has(t.title));
if (others.length) {
  lines.push('## Checks without figures', '', '| check | file | verdict |', '| --- | --- | --- |');
  for (const t of others) lines.push(`| ${cell(t.title)} | ${cell(t.file.replace(process.cwd() + '/', ''))} | ${verdict(t.title)} |`);
  lines.push('');
}
const failed = tests.filter((t) => t.status === 'failed');
lines.push('## Closing note', '');
if (!tests.length) lines.push('vitest produced no report: the run did not complete.');
else if (failed.length)
  lines.push(
    `${failed.length} check(s) failed: ${failed.map((t) => t.title).join('; ')}. See the run's output for the assertion that failed.`,
  );
else lines.push(`All ${tests.length} checks passed.`);
const notes = existsSync(join(process.cwd(), 'test/chaos/NOTES.md'))
  ? readFileSync(join(process.cwd(), 'test/chaos/NOTES.md'), 'utf8').trim()
  : '';
if (notes) lines.push('', notes);
writeFileSync('docs/RELIABILITY.md', lines.join('\n') + '\n');
console.log(`\nchaos: ${figures.length} scenario(s) with figures, ${tests.length} check(s); wrote docs/RELIABILITY.md`);
rmSync(work, { recursive: true, force: true });
process.exit(run.status ?? 1);
