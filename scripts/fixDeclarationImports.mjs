// tsc writes the .d.ts files with the source's extensionless relative imports ('./createRelay'),
// which TypeScript's node16/nodenext resolution refuses in an ES module package. The source keeps
// bundler-style imports; the emitted declarations get the specifier Node would load: './x.js', or
// './x/index.js' for a folder.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const _SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\2/g;

/** The Node-style specifier for `spec` written in `file`, or `spec` when it already is one. */
function _withExtension(file, spec) {
  if (/\.(js|mjs|cjs|json)$/.test(spec)) return spec;
  const target = resolve(dirname(file), spec);
  if (existsSync(`${target}.d.ts`)) return `${spec}.js`;
  if (existsSync(join(target, 'index.d.ts'))) return `${spec.replace(/\/$/, '')}/index.js`;
  throw new Error(`${file}: cannot resolve the declaration import ${spec}`);
}

/** Rewrites every .d.ts under `dir` in place; returns how many specifiers changed. */
export function fixDeclarationImports(dir) {
  let changed = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      changed += fixDeclarationImports(path);
      continue;
    }
    if (!name.endsWith('.d.ts')) continue;
    const text = readFileSync(path, 'utf8');
    const fixed = text.replace(_SPECIFIER, (all, head, quote, spec) => {
      const next = _withExtension(path, spec);
      if (next !== spec) changed++;
      return `${head}${quote}${next}${quote}`;
    });
    if (fixed !== text) writeFileSync(path, fixed);
  }
  return changed;
}
