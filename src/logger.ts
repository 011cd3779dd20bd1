import pino from 'pino';

const secretHeaders = ['authorization', 'cookie', 'webhook-signature', 'stripe-signature', 'recurly-signature'];
const secretFields = ['secret', 'webhookSecret', 'webhookSecrets', 'password', 'accessToken', 'apiKey', 'clientKey'];

/** Paths pino blanks out wherever a request's headers or a config-like object get logged. */
export const redactPaths = [
  ...secretHeaders.flatMap((header) => [
    `headers["${header}"]`,
    `req.headers["${header}"]`,
    `request.headers["${header}"]`,
  ]),
  ...secretFields.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

export interface LoggerOptions {
  level: pino.LevelWithSilent;
  /** Human-readable, coloured lines (development); JSON lines otherwise. */
  pretty: boolean;
}

export function createLogger({ level, pretty }: LoggerOptions, destination?: pino.DestinationStream): pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
  if (destination) return pino(options, destination);
  if (pretty) return pino(options);
  // Buffered, asynchronous writes to stdout: a synchronous write per line cost the receiver more CPU
  // per webhook than verifying it. pino flushes the buffer when the process exits (SIGTERM, errors
  // included); only a SIGKILL can lose the last lines.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}
