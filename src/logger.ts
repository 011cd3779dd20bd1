import pino from 'pino';

const secretHeaders = ['authorization', 'cookie', 'webhook-signature', 'stripe-signature', 'recurly-signature'];
const secretFields = ['secret', 'webhookSecret', 'webhookSecrets', 'password', 'accessToken', 'apiKey'];

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
  return destination ? pino(options, destination) : pino(options);
}
