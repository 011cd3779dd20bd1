import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedGoToolPath } from '../../src/go-tool';
import { findOrBuildStripeMock, STRIPE_MOCK_VERSION, StripeMockUnavailableError, stripeMockTool } from '../../src/testing/stripe-mock';

let root: string;
let emptyBin: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'billflow-stripe-mock-'));
  emptyBin = path.join(root, 'empty-bin');
  await mkdir(emptyBin);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function writeExecutable(file: string, script: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, script);
  await chmod(file, 0o755);
  return file;
}

const isolatedEnv = (overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: emptyBin,
  HOME: path.join(root, 'home'),
  BILLFLOW_CACHE_DIR: path.join(root, 'cache'),
  ...overrides,
});

describe('findOrBuildStripeMock', () => {
  it('prefers STRIPE_MOCK, then the cache, and never looks on PATH', async () => {
    const onPath = await writeExecutable(path.join(emptyBin, 'stripe-mock'), '#!/bin/sh\n');
    const configured = await writeExecutable(path.join(root, 'mine', 'stripe-mock'), '#!/bin/sh\n');
    expect(await findOrBuildStripeMock({ env: isolatedEnv({ STRIPE_MOCK: configured }) })).toBe(configured);

    const cached = await writeExecutable(cachedGoToolPath(stripeMockTool, isolatedEnv()), '#!/bin/sh\n');
    expect(cached).toBe(path.join(root, 'cache', 'stripe-mock', `v${STRIPE_MOCK_VERSION}`, 'stripe-mock'));
    expect(await findOrBuildStripeMock({ env: isolatedEnv() })).toBe(cached);
    expect(cached).not.toBe(onPath);
  });

  it('says how to get one when nothing is cached and there is no Go', async () => {
    const error: unknown = await findOrBuildStripeMock({ env: isolatedEnv() }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StripeMockUnavailableError);
    expect((error as Error).message).toContain(`go install github.com/stripe/stripe-mock@v${STRIPE_MOCK_VERSION}`);
  });

  it('builds the pinned version with go install, CGO off, into the cache', async () => {
    const goBin = path.join(root, 'go-bin');
    const record = path.join(root, 'go-invocation');
    await writeExecutable(
      path.join(goBin, 'go'),
      ['#!/bin/sh', `echo "args=$* CGO_ENABLED=$CGO_ENABLED" > "${record}"`, `printf '#!/bin/sh\\n' > "$GOBIN/stripe-mock"`, '/bin/chmod +x "$GOBIN/stripe-mock"'].join('\n'),
    );
    const found = await findOrBuildStripeMock({ env: isolatedEnv({ PATH: goBin }) });
    expect(found).toBe(cachedGoToolPath(stripeMockTool, isolatedEnv()));
    expect(await readFile(record, 'utf8')).toBe(`args=install github.com/stripe/stripe-mock@v${STRIPE_MOCK_VERSION} CGO_ENABLED=0\n`);
  });
});
