import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { findProvider } from '../../src/receiver/providers';

const bin = path.resolve(__dirname, '../../bin/billflow.js');
const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node bin/billflow.js …` as a user runs it, with only the given variables set. */
async function billflow(args: string[], environment: Record<string, string> = {}): Promise<Outcome> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...environment };
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('billflow --help', () => {
  it('lists every command', async () => {
    const { code, stdout } = await billflow(['--help']);
    expect(code).toBe(0);
    for (const command of ['dev', 'receiver', 'worker', 'trigger', 'temporal-cli']) expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it.each(['dev', 'receiver', 'worker', 'trigger', 'temporal-cli'])('explains `%s`', async (command) => {
    const { code, stdout } = await billflow([command, '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: billflow ${command}`);
  });

  it('shows trigger options, events and examples, even with a broken environment', async () => {
    const { code, stdout } = await billflow(['trigger', '--help'], { PORT: 'not-a-port' });
    expect(code).toBe(0);
    for (const option of ['--subscription', '--mandate', '--customer', '--invoice', '--url', '--secret', '--no-seed', '--dry-run']) {
      expect(stdout).toContain(option);
    }
    expect(stdout).toContain('gocardless: mandates.created');
    expect(stdout).toContain('billflow trigger gocardless mandates.cancelled');
  });
});

describe('configuration is validated at start', () => {
  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['DATABASE_URL', 'not a url'],
    ['SIGNAL_DEADLINE_MS', '-5'],
    ['WORKER_METRICS_PORT', 'x'],
    ['SANDBOX_PORT', '1.5'],
  ])('`billflow receiver` with %s=%s stops with a message naming it', async (name, value) => {
    const { code, stdout, stderr } = await billflow(['receiver'], { [name]: value });
    expect(code).toBe(2);
    expect(stderr).toContain('Invalid configuration');
    expect(stderr).toMatch(new RegExp(`^  - ${name}: `, 'm'));
    // Stopped before anything started: no log line, no listening message.
    expect(stdout).toBe('');
  });

  it('names every malformed variable at once', async () => {
    const { code, stderr } = await billflow(['worker'], { PORT: 'x', RETRY_AFTER_SECONDS: '0' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/- PORT: /);
    expect(stderr).toMatch(/- RETRY_AFTER_SECONDS: /);
  });

  it('stops `trigger` too', async () => {
    const { code, stderr } = await billflow(['trigger', 'gocardless', 'mandates.cancelled'], { SANDBOX_PORT: 'nope' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/- SANDBOX_PORT: /);
  });
});

describe('billflow trigger --dry-run', () => {
  it('prints a delivery the receiver verifies and parses', async () => {
    const { code, stdout } = await billflow(['trigger', 'gocardless', 'mandates.cancelled', '--mandate', 'MD000TEST', '--secret', 's3cret', '--dry-run']);
    expect(code).toBe(0);
    const [requestLine = '', ...rest] = stdout.trimEnd().split('\n');
    expect(requestLine).toBe('POST http://localhost:3000/webhooks/gocardless');
    const blank = rest.indexOf('');
    const headers = Object.fromEntries(rest.slice(0, blank).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
    const body = rest.slice(blank + 1).join('\n');
    const request = { rawBody: Buffer.from(body), headers, query: {}, ip: '127.0.0.1' };
    const config = loadConfig({ GOCARDLESS_WEBHOOK_SECRET: 's3cret' });
    const provider = findProvider('gocardless');
    expect(() => provider?.verify(request, config)).not.toThrow();
    expect(() => provider?.verify(request, loadConfig({ GOCARDLESS_WEBHOOK_SECRET: 'other' }))).toThrow();
    expect(provider?.parse(request)).toEqual([expect.objectContaining({ kind: 'mandate.cancelled', references: { mandate: 'MD000TEST' } })]);
  });

  it('refuses an event it cannot build, naming the ones it can', async () => {
    const { code, stderr } = await billflow(['trigger', 'gocardless', 'mandates.exploded', '--dry-run']);
    expect(code).toBe(1);
    expect(stderr).toContain('mandates.cancelled');
  });

  it('refuses a provider it does not know', async () => {
    const { code, stderr } = await billflow(['trigger', 'paypal', 'x']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/Allowed choices are .*gocardless/);
  });
});
