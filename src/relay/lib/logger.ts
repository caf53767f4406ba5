type _Fields = Record<string, unknown>;

/** JSON-lines logger. Callers pass ids and counts only: no emails, phones, IPs, bodies or keys. */
export interface Logger {
  info(msg: string, fields?: _Fields): void;
  warn(msg: string, fields?: _Fields): void;
  error(msg: string, fields?: _Fields): void;
}

export interface LoggerOptions {
  /** Where lines go. Default `console.log` (one JSON object per line, stdout). */
  write?: (line: string) => void;
  /** Drop `info` lines. Default false. */
  quiet?: boolean;
  /** Strings replaced by `[redacted]` in every line, whatever field they hide in (the API key). */
  secrets?: readonly string[];
}

/** Creates a JSON-lines logger: `{"t":"2026-…","level":"info","msg":"…",…fields}`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => console.log(line));
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const line = (level: string, msg: string, fields?: _Fields) => {
    let text: string;
    try {
      text = JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields });
    } catch {
      text = JSON.stringify({ t: new Date().toISOString(), level, msg });
    }
    for (const s of secrets) text = text.split(s).join('[redacted]');
    write(text);
  };
  return {
    info: (msg, fields) => !options.quiet && line('info', msg, fields),
    warn: (msg, fields) => line('warn', msg, fields),
    error: (msg, fields) => line('error', msg, fields),
  };
}

/** A logger that drops everything (the default when none is given to `createRelay`). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
