// billflow's receiver as `billflow receiver` runs it (same config, logger, metrics, HTTP server), but
// signalling through a Temporal client stand-in that answers at once: what is left of its CPU is the
// receiver's own. `BENCH_RECEIVER=bare` runs a bare node:http server instead (read the body, answer
// JSON), the floor every HTTP receiver pays. It answers the harness's `cpu` question over IPC.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startReceiver } from '../../src/run/receiver';

/** Just what the receiver calls on its client, each answered at once as if Temporal took it. */
function answeringClient(): Client {
  const workflow = {
    signalWithStart: async () => ({}),
  };
  const connection = {
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
    close: async () => undefined,
  };
  return { workflow, connection } as unknown as Client;
}

async function bareServer(port: number): Promise<{ url: string }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.stringify({ accepted: Buffer.concat(chunks).length > 0 ? 1 : 0 });
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const { url } =
    process.env.BENCH_RECEIVER === 'bare'
      ? await bareServer(config.port)
      : await startReceiver(config, createLogger({ level: config.logLevel, pretty: false }), { client: answeringClient() });
  process.on('message', (question: { id: number; type: 'cpu' }) => {
    const used = process.cpuUsage();
    process.send?.({ id: question.id, type: question.type, value: (used.user + used.system) / 1e6 });
  });
  process.once('disconnect', () => process.exit(0));
  process.once('SIGTERM', () => process.exit(0));
  process.send?.({ type: 'ready', value: url });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
