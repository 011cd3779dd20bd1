import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { inject } from 'vitest';
import { historyFromCliJson } from '../../../src/temporal/histories';

/** Committed histories of real runs, replayed by `test/workflows/replay.test.ts` on every test run. */
export const historiesDir = path.resolve(__dirname, '../../histories');

/** Set to re-record: `BILLFLOW_RECORD_HISTORIES=1 npx vitest run test/workflows test/integration/subscription* test/integration/user-workflow*`. */
export const recording = process.env.BILLFLOW_RECORD_HISTORIES === '1';

/**
 * Saves the history of the handle's current run as `test/histories/<name>.json` when recording;
 * otherwise does nothing. Call it once the run has done what the test is about. The JSON is the
 * Temporal CLI's (`temporal workflow show --output json`), the form the SDK's replayer reads
 * (the SDK's own `historyToJSON` trips over its two protobufjs copies in this install).
 */
export async function keepHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (!recording) return;
  const { runId } = await handle.describe();
  const { stdout } = await promisify(execFile)(
    inject('temporalCliPath'),
    ['workflow', 'show', '--address', inject('temporalAddress'), '--namespace', inject('temporalNamespace'), '--workflow-id', handle.workflowId, '--run-id', runId, '--output', 'json'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  await mkdir(historiesDir, { recursive: true });
  await writeFile(path.join(historiesDir, `${name}.json`), `${JSON.stringify(JSON.parse(stdout), anonymous, 2)}\n`);
}

/** Keeps the recording machine out of committed files: worker identities (pid@host) and stack traces. */
function anonymous(key: string, value: unknown): unknown {
  if (key === 'identity' && typeof value === 'string') return 'billflow-test-worker';
  if (key === 'stackTrace' && typeof value === 'string') return '';
  return value;
}

/** Every committed history, named by its file, decoded. */
export async function committedHistories(): Promise<{ workflowId: string; history: History }[]> {
  const files = (await readdir(historiesDir)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({ workflowId: file.replace(/\.json$/, ''), history: historyFromCliJson(JSON.parse(await readFile(path.join(historiesDir, file), 'utf8'))) })),
  );
}
