import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  cachedTemporalServerDir,
  findOrBuildTemporalServer,
  TEMPORAL_SERVER_VERSION,
  TemporalServerNotFoundError,
} from '../../src/temporal/server-binary';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'billflow-server-build-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function writeExecutable(file: string, script: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, script);
  await chmod(file, 0o755);
}

function isolatedEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: path.join(root, 'empty-bin'), HOME: path.join(root, 'home'), BILLFLOW_CACHE_DIR: path.join(root, 'cache'), ...overrides };
}

describe('findOrBuildTemporalServer', () => {
  it("is pinned to the version of docker-compose's temporalio/server image", async () => {
    const compose = parse(await readFile(path.resolve(__dirname, '../../docker-compose.yml'), 'utf8')) as { services: Record<string, { image?: string }> };
    const images = Object.values(compose.services).map((service) => service.image ?? '');
    expect(images).toContain(`temporalio/server:${TEMPORAL_SERVER_VERSION}`);
  });

  it('says what to do when nothing is cached and there is no Go', async () => {
    const error: unknown = await findOrBuildTemporalServer({ env: isolatedEnv() }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TemporalServerNotFoundError);
    expect((error as Error).message).toMatch(/Install Go .* or run against the dev server \(TEMPORAL_TEST_SERVER=dev\)/);
    expect((error as Error).message).toContain('no `go` on PATH');
  });

  it('builds the server and the SQL tool with go install (CGO off), copies the schema out of the module cache, then uses the cache', async () => {
    const goBin = path.join(root, 'go-bin');
    const record = path.join(root, 'go-invocations');
    const moduleCache = path.join(root, 'gomodcache');
    const schema = path.join(moduleCache, `go.temporal.io/server@v${TEMPORAL_SERVER_VERSION}`, 'schema/postgresql/v12');
    for (const store of ['temporal', 'visibility']) {
      await mkdir(path.join(schema, store, 'versioned', 'v1.0'), { recursive: true });
      await writeFile(path.join(schema, store, 'versioned', 'v1.0', 'manifest.json'), '{}');
    }
    // Go's module cache is read-only: the copy must not be.
    await chmod(path.join(schema, 'temporal', 'versioned', 'v1.0', 'manifest.json'), 0o444);
    await writeExecutable(
      path.join(goBin, 'go'),
      [
        '#!/bin/sh',
        `if [ "$1" = env ]; then echo "${moduleCache}"; exit 0; fi`,
        `echo "args=$* CGO_ENABLED=$CGO_ENABLED" >> "${record}"`,
        'echo "go: downloading go.temporal.io/server" >&2',
        '/bin/sleep 0.3',
        `printf '#!/bin/sh\\necho server\\n' > "$GOBIN/server"; printf '#!/bin/sh\\necho sql\\n' > "$GOBIN/sql"`,
        '/bin/chmod +x "$GOBIN/server" "$GOBIN/sql"',
      ].join('\n'),
    );
    const lines: string[] = [];

    const build = await findOrBuildTemporalServer({ env: isolatedEnv({ PATH: goBin }), log: (line) => lines.push(line), progressIntervalMs: 100 });

    const dir = cachedTemporalServerDir(isolatedEnv());
    expect(build).toEqual({
      version: TEMPORAL_SERVER_VERSION,
      server: path.join(dir, 'temporal-server'),
      sqlTool: path.join(dir, 'temporal-sql-tool'),
      schemaDir: path.join(dir, 'schema/postgresql/v12'),
    });
    expect(await readFile(record, 'utf8')).toBe(
      `args=install go.temporal.io/server/cmd/server@v${TEMPORAL_SERVER_VERSION} go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION} CGO_ENABLED=0\n`,
    );
    expect(await readFile(path.join(build.schemaDir, 'visibility/versioned/v1.0/manifest.json'), 'utf8')).toBe('{}');
    expect(lines).toContain('go: downloading go.temporal.io/server');
    expect(lines.some((line) => /^still building… \d+s$/.test(line))).toBe(true);
    // Found in the cache from now on, with no Go at all.
    expect(await findOrBuildTemporalServer({ env: isolatedEnv(), build: false })).toEqual(build);
  });
});
