import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { getFreePort } from '../../src/free-port';
import { isTemporalReachable, startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { billingSearchAttributes, ensureSearchAttributes } from '../../src/temporal/search-attributes';

const cliPath = inject('temporalCliPath');
const billflowAttributeNames = Object.values(billingSearchAttributes).map(({ name }) => name);

let root: string;
const servers: DevServer[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'billflow-dev-server-'));
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  await rm(root, { recursive: true, force: true });
});

async function started(options: Parameters<typeof startDevServer>[0]): Promise<DevServer> {
  const server = await startDevServer(options);
  servers.push(server);
  return server;
}

async function withClient<T>(address: string, use: (client: Client, connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await use(new Client({ connection, namespace: 'default' }), connection);
  } finally {
    await connection.close();
  }
}

describe('startDevServer', () => {
  it('keeps workflows and search attributes across a restart on the same db file', async () => {
    const dbFile = path.join(root, 'state', 'temporal.db');
    const port = await getFreePort();
    const uiPort = await getFreePort();
    const workflowId = `dev-server-test-${randomUUID()}`;

    const first = await started({ cliPath, dbFile, port, uiPort });
    expect(first.address).toBe(`127.0.0.1:${port}`);
    expect(first.uiUrl).toBe(`http://127.0.0.1:${uiPort}`);
    expect((await fetch(first.uiUrl!)).status).toBe(200);
    // Persisted in write-ahead-log mode (the default pragma): the log file sits beside the database.
    expect(existsSync(`${dbFile}-wal`)).toBe(true);
    await withClient(first.address, (client) =>
      // Nobody polls this task queue: the workflow stays open with no worker at all.
      client.workflow.start('nobodyRunsThis', {
        taskQueue: 'nobody-polls',
        workflowId,
        typedSearchAttributes: [{ key: billingSearchAttributes.provider, value: 'gocardless' }],
      }),
    );
    await first.stop();
    expect(first.process.exitCode !== null || first.process.signalCode !== null).toBe(true);
    expect(await isTemporalReachable(first.address, 500)).toBe(false);

    const second = await started({ cliPath, dbFile, port });
    expect(second.uiUrl).toBeUndefined();
    await withClient(second.address, async (client, connection) => {
      const description = await client.workflow.getHandle(workflowId).describe();
      expect(description.status.name).toBe('RUNNING');
      expect(description.typedSearchAttributes.get(billingSearchAttributes.provider)).toBe('gocardless');

      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(billflowAttributeNames));

      const found: string[] = [];
      for await (const execution of client.workflow.list({ query: `BillingProvider = 'gocardless' AND WorkflowId = '${workflowId}'` })) {
        found.push(execution.workflowId);
      }
      expect(found).toEqual([workflowId]);
    });
    await second.stop();
  });

  it('kill() ends the server abruptly', async () => {
    const server = await started({ cliPath, port: await getFreePort() });
    const exited = new Promise((resolve) => server.process.once('exit', (_code, signal) => resolve(signal)));

    server.kill();

    expect(await exited).toBe('SIGKILL');
  });

  it("rejects with the tail of the server's output when it exits before answering", async () => {
    const fakeCli = path.join(root, 'failing-temporal');
    await writeFile(fakeCli, '#!/bin/sh\necho "starting"\necho "unable to open database file" >&2\nexit 3\n');
    await chmod(fakeCli, 0o755);

    await expect(startDevServer({ cliPath: fakeCli, port: await getFreePort() })).rejects.toThrow(
      /exited before it answered .*\(exit code 3\)[\s\S]*unable to open database file/,
    );
  });

  it('refuses a port that something already listens on', async () => {
    const port = Number(inject('temporalAddress').split(':').pop());

    await expect(startDevServer({ cliPath, port })).rejects.toThrow('something is already listening there');
  });
});

describe('isTemporalReachable', () => {
  it('is true for a running server', async () => {
    expect(await isTemporalReachable(inject('temporalAddress'))).toBe(true);
  });

  it('is false when nothing listens at the address', async () => {
    const startedAt = Date.now();

    expect(await isTemporalReachable(`127.0.0.1:${await getFreePort()}`, 1000)).toBe(false);
    expect(Date.now() - startedAt).toBeLessThan(5000);
  });
});

describe('ensureSearchAttributes', () => {
  it('registers the attributes in a namespace that lacks them, and is idempotent', async () => {
    const namespace = `billflow-test-${randomUUID()}`;
    await withClient(inject('temporalAddress'), async (_client, connection) => {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
      const before = await connection.operatorService.listSearchAttributes({ namespace });
      expect(Object.keys(before.customAttributes ?? {})).not.toEqual(expect.arrayContaining(billflowAttributeNames));

      await ensureSearchAttributes(connection, namespace);
      await ensureSearchAttributes(connection, namespace);

      const after = await connection.operatorService.listSearchAttributes({ namespace });
      expect(Object.keys(after.customAttributes ?? {})).toEqual(expect.arrayContaining(billflowAttributeNames));
    });
  });
});
