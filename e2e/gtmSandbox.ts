// Runs a GTM custom template's sandboxed code in a real page the way Tag Manager does: the
// template's `require(name)` returns small real implementations of GTM's sandbox APIs
// (https://developers.google.com/tag-platform/tag-manager/templates/api), each checking the
// permissions the template declares in ___WEB_PERMISSIONS___ and throwing when one is missing, as
// GTM does. Arguments crossing into the page are copied, as GTM copies sandbox values.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** What a template is allowed to do, read from its ___WEB_PERMISSIONS___ section. */
export interface TemplatePermissions {
  globals: Record<string, { read: boolean; write: boolean; execute: boolean }>;
  injectUrls: string[];
  logging: string | null;
  templateStorage: boolean;
}

export interface Template {
  code: string;
  permissions: TemplatePermissions;
  parameters: Array<Record<string, unknown>>;
  /** The ___TESTS___ section: scenarios run by the template editor's Tests tab (and by `installSandbox`'s `__gtmScenario`). */
  tests: { scenarios: Array<{ name: string; code: string }>; setup?: string };
  /** Every section by name (INFO, TEMPLATE_PARAMETERS, …), trimmed. */
  sections: Map<string, string>;
}

type _Param = { key: string; value: _Value };
type _Value = { type: number; string?: string; boolean?: boolean; listItem?: _Value[]; mapKey?: _Value[]; mapValue?: _Value[] };

/** Splits a `.tpl` file into its sections and reads the code, parameters and permissions. */
export function readTemplate(path: string): Template {
  const text = readFileSync(path, 'utf8');
  const sections = new Map<string, string>();
  const parts = text.split(/^___([A-Z_]+)___$/m);
  for (let i = 1; i < parts.length; i += 2) sections.set(parts[i]!, parts[i + 1]!.trim());
  const permissions: TemplatePermissions = { globals: {}, injectUrls: [], logging: null, templateStorage: false };
  for (const entry of JSON.parse(sections.get('WEB_PERMISSIONS')!) as Array<{
    instance: { key: { publicId: string }; param?: _Param[] };
  }>) {
    const params = new Map((entry.instance.param ?? []).map((p) => [p.key, p.value]));
    switch (entry.instance.key.publicId) {
      case 'access_globals':
        for (const item of params.get('keys')?.listItem ?? []) {
          const map = Object.fromEntries(item.mapKey!.map((k, j) => [k.string, item.mapValue![j]]));
          permissions.globals[map.key!.string!] = {
            read: !!map.read?.boolean,
            write: !!map.write?.boolean,
            execute: !!map.execute?.boolean,
          };
        }
        break;
      case 'inject_script':
        permissions.injectUrls = (params.get('urls')?.listItem ?? []).map((v) => v.string!);
        break;
      case 'logging':
        permissions.logging = params.get('environments')?.string ?? null;
        break;
      case 'access_template_storage':
        permissions.templateStorage = true;
        break;
    }
  }
  const tests = (parseYaml(sections.get('TESTS') ?? '') ?? { scenarios: [] }) as Template['tests'];
  return {
    code: sections.get('SANDBOXED_JS_FOR_WEB_TEMPLATE')!,
    permissions,
    parameters: JSON.parse(sections.get('TEMPLATE_PARAMETERS')!),
    tests,
    sections,
  };
}

/**
 * Installs `window.__gtmFire(code, data)` in the page: runs the template code once, as a firing tag,
 * and resolves 'success' or 'failure' when the template calls gtmOnSuccess / gtmOnFailure.
 * Passed to `page.evaluate`, so it must not close over anything.
 */
export function installSandbox(permissions: TemplatePermissions): void {
  const w = window as unknown as Record<string, unknown>;
  const storage = new Map<string, unknown>();
  const injected = new Map<string, Promise<void>>();
  const deny = (api: string, what: string) => {
    throw new Error(`Permission denied: ${api} ${what} is not declared in ___WEB_PERMISSIONS___`);
  };
  const allowed = (key: string, need: 'read' | 'write' | 'execute') => !!permissions.globals[key]?.[need];
  const check = (api: string, key: string, needs: Array<'read' | 'write' | 'execute'>) => {
    for (const need of needs) if (!allowed(key, need)) deny(api, `${need} of "${key}"`);
  };
  // GTM URL match patterns: scheme and host with a `*` wildcard, path prefix with `*`.
  const urlAllowed = (url: string) =>
    permissions.injectUrls.some((pattern) =>
      new RegExp(
        '^' +
          pattern
            .split('*')
            .map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
            .join('.*') +
          '$',
      ).test(url),
    );
  const path = (key: string) => {
    const names = key.split('.');
    let parent: Record<string, unknown> = w;
    for (const name of names.slice(0, -1)) parent = parent[name] as Record<string, unknown>;
    return { parent, name: names[names.length - 1]! };
  };
  const copy = (v: unknown) => (v === undefined || typeof v === 'function' ? v : JSON.parse(JSON.stringify(v)));
  const apis: Record<string, unknown> = {
    callInWindow(key: string, ...args: unknown[]) {
      check('callInWindow', key, ['execute']);
      const { parent, name } = path(key);
      const fn = parent?.[name];
      if (typeof fn === 'function') (fn as (...a: unknown[]) => unknown).apply(parent, args.map(copy));
      return undefined;
    },
    copyFromWindow(key: string) {
      check('copyFromWindow', key, ['read']);
      const { parent, name } = path(key);
      return copy(parent?.[name]);
    },
    setInWindow(key: string, value: unknown, override?: boolean) {
      check('setInWindow', key, override ? ['read', 'write'] : ['write']);
      const { parent, name } = path(key);
      if (parent[name] !== undefined && !override) return false;
      parent[name] = copy(value);
      return true;
    },
    createQueue(key: string) {
      check('createQueue', key, ['read', 'write']);
      const { parent, name } = path(key);
      if (!Array.isArray(parent[name])) parent[name] = [];
      return (...values: unknown[]) => (parent[name] as unknown[]).push(...values.map(copy));
    },
    createArgumentsQueue(fnKey: string, arrayKey: string) {
      check('createArgumentsQueue', fnKey, ['read', 'write']);
      check('createArgumentsQueue', arrayKey, ['read', 'write']);
      const fnAt = path(fnKey);
      if (typeof fnAt.parent[fnAt.name] !== 'function') {
        fnAt.parent[fnAt.name] = function (this: unknown) {
          const at = path(arrayKey);
          // eslint-disable-next-line prefer-rest-params
          (at.parent[at.name] as unknown[]).push(arguments);
        };
      }
      const at = path(arrayKey);
      if (!Array.isArray(at.parent[at.name])) at.parent[at.name] = [];
      return fnAt.parent[fnAt.name];
    },
    injectScript(url: string, onSuccess: () => void, onFailure: () => void, cacheToken?: string) {
      if (!urlAllowed(url)) deny('injectScript', url);
      const token = cacheToken ?? url;
      let loading = injected.get(token);
      if (!loading) {
        loading = new Promise<void>((resolve, reject) => {
          const script = document.createElement('script');
          script.async = true;
          script.src = url;
          script.onload = () => resolve();
          script.onerror = () => reject(new Error('load failed'));
          document.head.appendChild(script);
        });
        injected.set(token, loading);
      }
      loading.then(
        () => onSuccess(),
        () => onFailure(),
      );
    },
    queryPermission(name: string, arg?: string) {
      if (name === 'inject_script') return urlAllowed(String(arg));
      if (name === 'access_globals') return !!permissions.globals[String(arg)];
      return false;
    },
    logToConsole(...args: unknown[]) {
      if (!permissions.logging) deny('logToConsole', 'logging');
      console.log(...args);
    },
    templateStorage: {
      getItem: (key: string) => (permissions.templateStorage ? storage.get(key) : deny('templateStorage', 'access')),
      setItem: (key: string, value: unknown) =>
        permissions.templateStorage ? void storage.set(key, value) : deny('templateStorage', 'access'),
    },
    getType: (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v),
    makeNumber: (v: unknown) => Number(v),
    makeString: (v: unknown) => String(v),
  };
  const require = (name: string) => {
    if (!(name in apis)) throw new Error(`require('${name}'): not available in this sandbox stub`);
    return apis[name];
  };
  // GTM's test API (https://developers.google.com/tag-platform/tag-manager/templates/tests): each
  // scenario runs setup + its code with mock, runCode, assertApi, assertThat and fail; the template
  // gets the stubs above unless mocked, fresh template storage, and every API call is recorded.
  const canonical = (v: unknown): string =>
    JSON.stringify(v, (_k, x) =>
      x && typeof x === 'object' && !Array.isArray(x)
        ? Object.fromEntries(
            Object.keys(x)
              .sort()
              .map((k) => [k, (x as Record<string, unknown>)[k]]),
          )
        : x === undefined
          ? '(undefined)'
          : x,
    );
  w.__gtmScenario = (code: string, setup: string, scenario: string) => {
    const mocks = new Map<string, unknown>();
    const calls = new Map<string, unknown[][]>();
    const scenarioStorage = new Map<string, unknown>();
    const record = (name: string, args: unknown[]) => {
      if (!calls.has(name)) calls.set(name, []);
      calls.get(name)!.push(args);
    };
    const testRequire = (name: string) => {
      if (name === 'templateStorage' && !mocks.has(name))
        return { getItem: (k: string) => scenarioStorage.get(k), setItem: (k: string, v: unknown) => void scenarioStorage.set(k, v) };
      const impl = mocks.has(name) ? mocks.get(name) : require(name);
      return typeof impl === 'function'
        ? (...args: unknown[]) => (record(name, args), (impl as (...a: unknown[]) => unknown)(...args))
        : impl;
    };
    const fail = (message: string) => {
      throw new Error(message);
    };
    const api = {
      mock: (name: string, impl: unknown) => void mocks.set(name, impl),
      runCode: (data: Record<string, unknown>) => {
        const run = new Function('data', 'require', code) as (data: unknown, req: unknown) => void;
        run({ ...data, gtmOnSuccess: () => record('gtmOnSuccess', []), gtmOnFailure: () => record('gtmOnFailure', []) }, testRequire);
      },
      assertApi: (name: string) => ({
        wasCalled: () => (calls.get(name)?.length ? undefined : fail(`${name} was not called`)),
        wasNotCalled: () => (calls.get(name)?.length ? fail(`${name} was called: ${canonical(calls.get(name))}`) : undefined),
        wasCalledWith: (...args: unknown[]) =>
          (calls.get(name) ?? []).some((c) => canonical(c) === canonical(args))
            ? undefined
            : fail(`${name} was not called with ${canonical(args)}; calls: ${canonical(calls.get(name) ?? [])}`),
      }),
      assertThat: (actual: unknown) => ({
        isEqualTo: (expected: unknown) =>
          canonical(actual) === canonical(expected) ? undefined : fail(`expected ${canonical(expected)}, got ${canonical(actual)}`),
        isNotEqualTo: (expected: unknown) =>
          canonical(actual) !== canonical(expected) ? undefined : fail(`expected something other than ${canonical(expected)}`),
        isTrue: () => (actual === true ? undefined : fail(`expected true, got ${canonical(actual)}`)),
        isFalse: () => (actual === false ? undefined : fail(`expected false, got ${canonical(actual)}`)),
        isUndefined: () => (actual === undefined ? undefined : fail(`expected undefined, got ${canonical(actual)}`)),
        isDefined: () => (actual !== undefined ? undefined : fail('expected a value, got undefined')),
      }),
      fail,
    };
    try {
      (new Function(...Object.keys(api), `${setup}\n${scenario}`) as (...a: unknown[]) => void)(...Object.values(api));
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  };
  w.__gtmFire = (code: string, data: Record<string, unknown>) =>
    new Promise<'success' | 'failure'>((resolve) => {
      const run = new Function('data', 'require', code) as (data: unknown, req: unknown) => void;
      run({ ...data, gtmOnSuccess: () => resolve('success'), gtmOnFailure: () => resolve('failure') }, require);
    });
}
