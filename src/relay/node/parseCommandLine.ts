import { parseArgs } from 'node:util';

/** One `whopq` subcommand as the argument parser and `--help` see it. */
export interface CommandSpec {
  /** One line for the command list. */
  summary: string;
  /** The usage line, e.g. `whopq demo [--pages <dir>]`. */
  usage: string;
  /** Its own options (besides `--help` and `--version`), as `node:util` parseArgs takes them. */
  options?: Record<string, { type: 'string' | 'boolean'; short?: string; description: string; valueName?: string }>;
  /** More help after the options (e.g. the environment it reads). */
  details?: string;
}

/** What the command line asks for. */
export type CommandLine =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'usage-error'; message: string }
  | { kind: 'run'; command: string; args: string[]; values: Record<string, string | boolean | undefined> };

const _COMMON = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** The top-level help: the commands and how to get each one's help. */
export function mainHelp(commands: Record<string, CommandSpec>): string {
  return [
    'whopq — first-party conversion pixel and relay for Whop',
    '',
    'Usage: whopq <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     show help (also `whopq <command> --help`)',
    '  -v, --version  print the version',
  ].join('\n');
}

/** A command's help: usage, options and details. */
export function commandHelp(spec: CommandSpec): string {
  const rows = Object.entries(spec.options ?? {}).map(([option, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${option}${o.type === 'string' ? ` <${o.valueName ?? 'value'}>` : ''}`;
    return `  ${flag.padEnd(20)} ${o.description}`;
  });
  rows.push(`  ${'-h, --help'.padEnd(20)} show this help`, `  ${'-v, --version'.padEnd(20)} print the version`);
  return [`Usage: ${spec.usage}`, '', spec.summary, '', 'Options:', ...rows, ...(spec.details ? ['', spec.details] : [])].join('\n');
}

/** The option an ERR_PARSE_ARGS_* error is about, e.g. `--port`. */
function _option(error: Error): string {
  return /'([^']+)'/.exec(error.message)?.[1] ?? '';
}

/**
 * Reads `whopq [command] [options]` with node:util's parseArgs (strict): `--help`/`-h` and
 * `--version`/`-v` anywhere, unknown commands, options and stray arguments refused by name.
 */
export function parseCommandLine(argv: readonly string[], commands: Record<string, CommandSpec>): CommandLine {
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'help', text: mainHelp(commands) };
  if (first === 'help') {
    const spec = rest[0] ? commands[rest[0]] : undefined;
    if (rest[0] && !spec)
      return {
        kind: 'usage-error',
        message: `whopq: unknown command ${JSON.stringify(rest[0])}. Commands: ${Object.keys(commands).join(', ')}.`,
      };
    return { kind: 'help', text: spec ? commandHelp(spec) : mainHelp(commands) };
  }
  const name = first.startsWith('-') ? '' : first;
  const spec = name ? commands[name] : undefined;
  if (name && !spec)
    return {
      kind: 'usage-error',
      message: `whopq: unknown command ${JSON.stringify(name)}. Commands: ${Object.keys(commands).join(', ')} (whopq --help).`,
    };
  const args = name ? rest : argv.slice();
  const options = {
    ..._COMMON,
    ...Object.fromEntries(
      Object.entries(spec?.options ?? {}).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
    ),
  };
  const where = name ? `whopq ${name}` : 'whopq';
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }) as {
      values: Record<string, string | boolean | undefined>;
    });
  } catch (error) {
    const e = error as Error & { code?: string };
    // Help and version win over anything else on the line (`whopq relay --bogus --help` shows help).
    if (args.includes('--help') || args.includes('-h')) return { kind: 'help', text: spec ? commandHelp(spec) : mainHelp(commands) };
    if (args.includes('--version') || args.includes('-v')) return { kind: 'version' };
    const option = _option(e);
    const message =
      e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `${where}: unknown option ${option}.`
        : e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
          ? `${where}: unexpected argument ${JSON.stringify(option)}.`
          : e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing/.test(e.message)
            ? `${where}: option ${option.split(' ')[0]} needs a value.`
            : e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
              ? `${where}: option ${option} takes no value.`
              : `${where}: ${e.message}`;
    return { kind: 'usage-error', message: `${message} See \`${where} --help\`.` };
  }
  if (values.help) return { kind: 'help', text: spec ? commandHelp(spec) : mainHelp(commands) };
  if (values.version) return { kind: 'version' };
  if (!name) return { kind: 'help', text: mainHelp(commands) };
  return { kind: 'run', command: name, args: [...args], values };
}
