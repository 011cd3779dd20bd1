import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities';
import { AccountStore } from '../../src/store/account-store';
import { openDatabase, type Database } from '../../src/store/database';
import { trigger } from '../../src/cli/trigger';
import { upperId } from '../../src/testing/webhooks/ids';
import { loadConfig, type Config } from '../../src/config';
import { getFreePort } from '../../src/free-port';
import { startReceiver, type RunningReceiver } from '../../src/run/receiver';
import { startProviderSandbox, type ProviderSandbox } from '../../src/testing/sandbox/server';
import { startDevServer } from '../../src/temporal/dev-server';
import { findOrBuildTemporalUiServer } from '../../src/temporal/server-binary';
import { startTemporalUi } from '../../src/temporal/temporal-server';
import { realTemporalPrerequisites, startRealTemporal } from '../support/real-temporal';
import { startWorker, type BillflowWorker } from '../../src/temporal/worker';
import { eventually } from '../support/eventually';

/** Debian's chromium (`apt-get install chromium`, done by .ci/run): never a browser downloaded by playwright. */
const chromiumPath = '/usr/bin/chromium';
// The README's picture is refreshed only on request; ordinary runs write to the temp dir.
const screenshotPath = process.env.BILLFLOW_UPDATE_SCREENSHOT
  ? path.resolve(__dirname, '../../docs/web-ui.png')
  : path.join(tmpdir(), 'billflow-web-ui.png');
const secret = 'web-ui-test-secret';
const silent = pino({ level: 'silent' });
const hasChromium = existsSync(chromiumPath);

if (!hasChromium) console.warn(`Skipping the Temporal Web UI browser test: ${chromiumPath} is missing (apt-get install chromium).`);

describe.skipIf(!hasChromium)('the Temporal Web UI after a real webhook, in Chromium', () => {
  /** The frontend's address, and the Web UI's URL in front of it. */
  let server: { address: string; uiUrl: string; stop(): Promise<void> };
  let sandbox: ProviderSandbox;
  let database: Database;
  let worker: BillflowWorker;
  let receiver: RunningReceiver;
  let client: Client;
  let config: Config;
  let browser: BrowserContext;
  let profile: string;
  const customerId = upperId('CU');
  const mandateId = upperId('MD');
  const activeMandateId = upperId('MD');
  const workflowId = `gocardless:mandate:${mandateId}`;
  const printed: string[] = [];

  beforeAll(async () => {
    // A server of its own, with the Web UI (the shared one runs headless): the real Temporal server
    // behind the UI server when the run is on the real server, else a dev server with its UI.
    const uiPort = await getFreePort();
    server = inject('temporalServer') === 'real' ? await startRealServerWithUi(uiPort) : await startDevServerWithUi(uiPort);
    sandbox = await startProviderSandbox({ host: '127.0.0.1' });
    config = loadConfig({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_UI_PORT: String(uiPort),
      // The server is this test's own: the task queue can read as it does under `npm run dev`.
      TEMPORAL_TASK_QUEUE: 'billflow',
      GOCARDLESS_WEBHOOK_SECRET: secret,
      GOCARDLESS_ACCESS_TOKEN: sandbox.accessToken,
      GOCARDLESS_API_URL: sandbox.urls.gocardless,
      PORT: '0',
      HOST: '127.0.0.1',
    });
    database = await openDatabase({});
    const activities = createActivities({ store: new AccountStore(database), providers: config });
    worker = await startWorker(config, activities, silent);
    receiver = await startReceiver(config, silent);
    client = new Client({ connection: await Connection.connect({ address: server.address }) });

    // What a user does after `npm run dev`: trigger a cancellation (the sandbox is seeded with the
    // mandate, already cancelled), plus a reinstatement of another mandate that must stay out of the filtered list.
    const options = { url: receiver.url, sandboxUrl: sandbox.url, secret, seed: true, dryRun: false };
    const print = (line: string) => printed.push(line);
    const cancelled = await trigger('gocardless', 'mandates.cancelled', { ...options, mandate: mandateId, customer: customerId }, config, print);
    expect(cancelled.status).toBe(200);
    expect(cancelled.workflowIds).toEqual([workflowId]);
    const reinstated = await trigger('gocardless', 'mandates.reinstated', { ...options, mandate: activeMandateId }, config, print);
    expect(reinstated.status).toBe(200);
    for (const [id, status] of [[workflowId, 'suspended'], [`gocardless:mandate:${activeMandateId}`, 'active']] as const) {
      await eventually(async () => {
        const described = await client.workflow.getHandle(id).describe();
        expect(described.typedSearchAttributes.getAll().find((pair) => pair.key.name === 'BillingStatus')?.value).toBe(status);
      });
    }

    profile = await mkdtemp(path.join(tmpdir(), 'billflow-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 900 },
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await worker?.shutdown();
    await client?.connection.close();
    await database?.close();
    await sandbox?.close();
    await server?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  async function openFilteredList(page: Page, query: string): Promise<void> {
    // Visibility is eventually consistent: reload until the row shows up.
    await eventually(async () => {
      await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`, { waitUntil: 'domcontentloaded' });
      await page.getByRole('link', { name: workflowId }).first().waitFor({ timeout: 10_000 });
    }, 60_000, 1_000);
  }

  it('finds the workflow filtered by BillingStatus, opens it, and shows its id and current details', async () => {
    const page = await browser.newPage();
    await openFilteredList(page, 'BillingStatus="suspended"');
    // The filter works: the active mandate's workflow is not listed.
    await expect(page.getByText(`gocardless:mandate:${activeMandateId}`).count()).resolves.toBe(0);

    await page.getByRole('link', { name: workflowId }).first().click();
    await page.waitForURL(new RegExp(`/workflows/${encodeURIComponent(workflowId).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`), { timeout: 30_000 });
    await page.getByText(workflowId).first().waitFor({ timeout: 30_000 });
    // The workflow's current details (set by the workflow) say what it did; the UI renders them
    // from markdown into a frame of their own on the User Metadata tab.
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    const details = await eventually(async () => {
      const texts = await Promise.all(page.frames().map((frame) => frame.locator('body').innerText().catch(() => '')));
      const found = texts.find((text) => text.includes('Last event: mandates.cancelled'));
      expect(found).toBeDefined();
      return found ?? '';
    }, 30_000, 500);
    expect(details).toContain(`gocardless mandate ${mandateId}`);
    expect(details).toContain(`customer ${customerId}, account suspended`);
    expect(details).toMatch(/→ account suspended/);
    // The summary billflow sets when the receiver starts the workflow (rendered in a frame of its own).
    const summary = `mandateWorkflow for gocardless mandate ${mandateId}`;
    await eventually(async () => {
      const texts = await Promise.all(page.frames().map((frame) => frame.locator('body').innerText().catch(() => '')));
      expect(texts.some((text) => text.includes(summary))).toBe(true);
    }, 10_000, 500);

    await mkdir(path.dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: false });
    expect(existsSync(screenshotPath)).toBe(true);
  });

  it('finds it by customer too', async () => {
    const page = await browser.newPage();
    await openFilteredList(page, `BillingCustomer="${customerId}"`);
    await expect(page.getByRole('link', { name: workflowId }).count()).resolves.toBeGreaterThan(0);
  });

  it('opens from the link `trigger` prints, which finds the workflow by its id', async () => {
    const link = printed.find((line) => line.startsWith('Web UI: '))?.slice('Web UI: '.length);
    expect(link).toContain('WorkflowId');
    const page = await browser.newPage();
    await eventually(async () => {
      await page.goto(link ?? '', { waitUntil: 'domcontentloaded' });
      await page.getByRole('link', { name: workflowId }).first().waitFor({ timeout: 10_000 });
    }, 60_000, 1_000);
  });
});

async function startDevServerWithUi(uiPort: number) {
  const dev = await startDevServer({ cliPath: inject('temporalCliPath'), port: await getFreePort(), uiPort });
  return { address: dev.address, uiUrl: dev.uiUrl ?? `http://127.0.0.1:${uiPort}`, stop: () => dev.stop() };
}

async function startRealServerWithUi(uiPort: number) {
  const prerequisites = await realTemporalPrerequisites();
  if ('missing' in prerequisites) throw new Error(`The run is on the real Temporal server, but ${prerequisites.missing}`);
  const binary = await findOrBuildTemporalUiServer({ build: false });
  // Few connections: it runs beside the suite's own server, and PostgreSQL takes 100 in all.
  const temporal = await startRealTemporal(prerequisites, 'webui', { databaseConnections: { main: 6, visibility: 2 } });
  const uiDir = await mkdtemp(path.join(tmpdir(), 'billflow-temporal-ui-'));
  const ui = await startTemporalUi({ binary, temporalAddress: temporal.server.address, port: uiPort, dir: uiDir }).catch(async (error: unknown) => {
    await temporal.close();
    throw error;
  });
  return {
    address: temporal.server.address,
    uiUrl: ui.url,
    async stop() {
      await ui.stop();
      await temporal.close();
      await rm(uiDir, { recursive: true, force: true });
    },
  };
}
