import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startReceiver } from '../../src/run/receiver';
import { TemporalConnectionError, temporalConnectionOptions } from '../../src/temporal/connection';
import { isTemporalReachable } from '../../src/temporal/dev-server';
import { startWorker } from '../../src/temporal/worker';
import { generateTestCertificates, type TestCertificates } from '../support/certificates';
import { eventually } from '../support/eventually';
import { foreignToken, startJwtIssuer, type JwtIssuer } from '../support/jwt-issuer';
import { realTemporalPrerequisites, startRealTemporal, type RealTemporal } from '../support/real-temporal';
import { goCardlessBatch, postGoCardless, startBillflow, type Billflow } from '../workflows/support/e2e';

/**
 * billflow against real Temporal servers that secure their frontend, as a production cluster does:
 * one requiring client certificates (mTLS), one whose authorizer checks the bearer token billflow
 * sends as its API key (JWTs signed by a key set served on loopback). The connection comes from
 * the TEMPORAL_* variables only, as an operator would set them. Needs a cached server build and
 * PostgreSQL (.ci/run provides both); skipped otherwise.
 */
const prerequisites = await realTemporalPrerequisites();
const missing = 'missing' in prerequisites ? prerequisites.missing : undefined;
if (missing) console.log(`[secured-temporal] skipped: ${missing}`);

function capturedLogs() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', pretty: false }, sink) };
}

/** A mandate cancellation through the receiver; resolves with the workflow's history once the worker ran a task of it. */
async function deliverAndRun(billflow: Billflow): Promise<void> {
  const mandate = `MD${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
  const { body } = goCardlessBatch([{ resource_type: 'mandates', action: 'cancelled', links: { mandate } }]);
  const response = await postGoCardless(billflow.receiver, body);
  expect(response.status).toBeLessThan(300);
  const handle = billflow.client.workflow.getHandle(`gocardless:mandate:${mandate}`);
  await eventually(async () => {
    const history = await handle.fetchHistory();
    expect(history.events?.some((event) => event.workflowTaskCompletedEventAttributes)).toBe(true);
  }, 30_000);
  await handle.terminate('test over').catch(() => undefined);
}


/** These servers see a few calls each, beside the suite's own server: few connections, so all fit in PostgreSQL's 100. */
const lightServer = { main: 6, visibility: 2 };

describe.skipIf(missing !== undefined)('a real Temporal server requiring client certificates (mTLS)', () => {
  let scratch: string;
  let certificates: TestCertificates;
  let temporal: RealTemporal;
  let tlsVariables: Record<string, string>;

  beforeAll(async () => {
    if ('missing' in prerequisites) return;
    scratch = await mkdtemp(path.join(tmpdir(), 'billflow-mtls-'));
    certificates = await generateTestCertificates(path.join(scratch, 'certificates'));
    temporal = await startRealTemporal(prerequisites, 'mtls', {
      databaseConnections: lightServer,
      tls: {
        caFile: certificates.caFile,
        certFile: certificates.serverCertFile,
        keyFile: certificates.serverKeyFile,
        serverName: certificates.serverName,
        requireClientAuth: true,
        systemWorker: { certFile: certificates.clientCertFile, keyFile: certificates.clientKeyFile },
      },
      adminConnection: {
        tls: {
          serverNameOverride: certificates.serverName,
          serverRootCACertificate: readFileSync(certificates.caFile),
          clientCertPair: { crt: readFileSync(certificates.clientCertFile), key: readFileSync(certificates.clientKeyFile) },
        },
      },
    });
    tlsVariables = {
      TEMPORAL_ADDRESS: temporal.server.address,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certificates.caFile,
      TEMPORAL_TLS_SERVER_NAME: certificates.serverName,
    };
  });

  afterAll(async () => {
    await temporal?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('billflow connects with its client certificate: a webhook reaches its workflow and the worker runs it', async () => {
    const billflow = await startBillflow({
      ...tlsVariables,
      TEMPORAL_TLS_CLIENT_CERT_PATH: certificates.clientCertFile,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certificates.clientKeyFile,
    });
    try {
      await deliverAndRun(billflow);
    } finally {
      await billflow.close();
    }
  });

  it('connects as docker-compose configures it: the PEMs themselves in the _DATA variables, the unused ones empty', async () => {
    const billflow = await startBillflow({
      TEMPORAL_ADDRESS: temporal.server.address,
      TEMPORAL_API_KEY: '',
      TEMPORAL_TLS: '',
      TEMPORAL_TLS_CLIENT_CERT_DATA: readFileSync(certificates.clientCertFile, 'utf8'),
      TEMPORAL_TLS_CLIENT_KEY_DATA: readFileSync(certificates.clientKeyFile, 'utf8'),
      TEMPORAL_TLS_SERVER_CA_CERT_DATA: readFileSync(certificates.caFile, 'utf8'),
      TEMPORAL_TLS_SERVER_NAME: certificates.serverName,
    });
    try {
      await deliverAndRun(billflow);
    } finally {
      await billflow.close();
    }
  });

  it('is found running only when probed the way the client connects (what `dev` asks before starting a server of its own)', async () => {
    const withCertificate = loadConfig({ ...tlsVariables, TEMPORAL_TLS_CLIENT_CERT_PATH: certificates.clientCertFile, TEMPORAL_TLS_CLIENT_KEY_PATH: certificates.clientKeyFile });
    expect(await isTemporalReachable(temporalConnectionOptions(withCertificate.temporal), 10_000)).toBe(true);
    expect(await isTemporalReachable(temporal.server.address)).toBe(false);
    expect(await isTemporalReachable(temporalConnectionOptions(loadConfig(tlsVariables).temporal))).toBe(false);
  });

  it('a worker without a client certificate is refused, and told what to set', async () => {
    const config = loadConfig({ ...tlsVariables, TEMPORAL_TASK_QUEUE: `mtls-${randomUUID()}` });
    const { logger } = capturedLogs();
    const error = await startWorker(config, {}, logger).then(
      async (worker) => {
        await worker.shutdown();
        return undefined;
      },
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TemporalConnectionError);
    expect((error as Error).message).toContain(`Could not connect to Temporal (${temporal.server.address}, namespace default, TLS)`);
    expect((error as Error).message).toMatch(/requires client certificates \(mTLS\), set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/);
  });

  it('a receiver without a client certificate answers 503, so the provider retries', async () => {
    const config = loadConfig({ ...tlsVariables, PORT: '0', HOST: '127.0.0.1', GOCARDLESS_WEBHOOK_SECRET: 'workflow-e2e-gocardless-secret', SIGNAL_DEADLINE_MS: '3000' });
    const receiver = await startReceiver(config, capturedLogs().logger);
    try {
      const { body } = goCardlessBatch([{ resource_type: 'mandates', action: 'cancelled', links: { mandate: 'MD000MTLS' } }]);
      const response = await postGoCardless(receiver, body);
      expect(response.status).toBe(503);
    } finally {
      await receiver.close();
    }
  });
});

describe.skipIf(missing !== undefined)('a real Temporal server whose authorizer checks the API key (JWT)', () => {
  let scratch: string;
  let certificates: TestCertificates;
  let issuer: JwtIssuer;
  let temporal: RealTemporal;
  let variables: Record<string, string>;

  beforeAll(async () => {
    if ('missing' in prerequisites) return;
    scratch = await mkdtemp(path.join(tmpdir(), 'billflow-jwt-'));
    certificates = await generateTestCertificates(path.join(scratch, 'certificates'));
    // The server fetches the key set when it starts: it is served first.
    issuer = await startJwtIssuer();
    const tls = { serverNameOverride: certificates.serverName, serverRootCACertificate: readFileSync(certificates.caFile) };
    temporal = await startRealTemporal(prerequisites, 'jwt', {
      databaseConnections: lightServer,
      tls: {
        caFile: certificates.caFile,
        certFile: certificates.serverCertFile,
        keyFile: certificates.serverKeyFile,
        serverName: certificates.serverName,
        requireClientAuth: false,
      },
      authorization: { jwksUrl: issuer.jwksUrl },
      adminConnection: { tls, apiKey: issuer.token('cluster-admin', ['temporal-system:admin', 'default:admin']) },
    });
    variables = {
      TEMPORAL_ADDRESS: temporal.server.address,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certificates.caFile,
      TEMPORAL_TLS_SERVER_NAME: certificates.serverName,
    };
  });

  afterAll(async () => {
    await temporal?.close();
    await issuer?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('with the right key billflow works: a webhook reaches its workflow and the worker runs it; the key is never logged', async () => {
    const apiKey = issuer.token('billflow', ['default:admin']);
    const { lines, logger } = capturedLogs();
    const billflow = await startBillflow({ ...variables, TEMPORAL_API_KEY: apiKey }, {}, {}, logger);
    try {
      await deliverAndRun(billflow);
    } finally {
      await billflow.close();
    }
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(apiKey);
  });

  it('with a wrong key the worker fails with a clear error and the receiver answers 503; the key is never logged', async () => {
    const wrongKey = foreignToken(issuer, 'billflow', ['default:admin']);
    const config = loadConfig({ ...variables, TEMPORAL_API_KEY: wrongKey, TEMPORAL_TASK_QUEUE: `jwt-${randomUUID()}`, PORT: '0', HOST: '127.0.0.1', GOCARDLESS_WEBHOOK_SECRET: 'workflow-e2e-gocardless-secret', SIGNAL_DEADLINE_MS: '3000' });
    const { lines, logger } = capturedLogs();
    const error = await startWorker(config, {}, logger).then(
      async (worker) => {
        await worker.shutdown();
        return undefined;
      },
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TemporalConnectionError);
    expect((error as Error).message).toMatch(/The server refused the API key \(TEMPORAL_API_KEY\)/);
    expect((error as Error).message).not.toContain(wrongKey);

    const receiver = await startReceiver(config, logger);
    try {
      const { body } = goCardlessBatch([{ resource_type: 'mandates', action: 'cancelled', links: { mandate: 'MD000JWT' } }]);
      expect((await postGoCardless(receiver, body)).status).toBe(503);
    } finally {
      await receiver.close();
    }
    expect(lines.join('\n')).not.toContain(wrongKey);
  });
});
