import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  cachedTemporalCliPath,
  findOrBuildTemporalCli,
  TEMPORAL_CLI_VERSION,
  TemporalCliNotFoundError,
} from '../../src/temporal/cli-binary';

let root: string;
let emptyBin: string;
let cacheDir: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'billflow-cli-'));
  emptyBin = path.join(root, 'empty-bin');
  cacheDir = path.join(root, 'cache');
  await mkdir(emptyBin);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function writeExecutable(file: string, script = '#!/bin/sh\necho fake temporal\n'): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, script);
  await chmod(file, 0o755);
  return file;
}

/** An environment in which nothing outside the test's own directory can be found or built. */
function isolatedEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: emptyBin, HOME: path.join(root, 'home'), BILLFLOW_CACHE_DIR: cacheDir, ...overrides };
}

const noInstall = { build: false, download: false } as const;

describe('findOrBuildTemporalCli', () => {
  it('prefers the configured path to PATH and the cache', async () => {
    const configured = await writeExecutable(path.join(root, 'configured', 'temporal'));
    const pathBin = path.join(root, 'path-bin');
    await writeExecutable(path.join(pathBin, 'temporal'));
    await writeExecutable(cachedTemporalCliPath(isolatedEnv()));

    const found = await findOrBuildTemporalCli({ configuredPath: configured, env: isolatedEnv({ PATH: pathBin }), ...noInstall });

    expect(found).toBe(configured);
  });

  it('reads the configured path from TEMPORAL_CLI when none is passed', async () => {
    const configured = await writeExecutable(path.join(root, 'configured', 'temporal'));

    expect(await findOrBuildTemporalCli({ env: isolatedEnv({ TEMPORAL_CLI: configured }), ...noInstall })).toBe(configured);
  });

  it('finds temporal on PATH, skipping directories where it is missing or not executable', async () => {
    const notExecutable = path.join(root, 'not-executable');
    await mkdir(notExecutable);
    await writeFile(path.join(notExecutable, 'temporal'), 'not a program');
    const pathBin = path.join(root, 'path-bin');
    const onPath = await writeExecutable(path.join(pathBin, 'temporal'));
    await writeExecutable(cachedTemporalCliPath(isolatedEnv()));
    const lines: string[] = [];

    const found = await findOrBuildTemporalCli({
      env: isolatedEnv({ PATH: [emptyBin, notExecutable, pathBin].join(path.delimiter) }),
      log: (line) => lines.push(line),
      ...noInstall,
    });

    expect(found).toBe(onPath);
    expect(lines.join('\n')).toContain(onPath);
  });

  it('uses the cached build when nothing is configured or on PATH', async () => {
    const cached = await writeExecutable(path.join(cacheDir, 'temporal-cli', `v${TEMPORAL_CLI_VERSION}`, 'temporal'));

    expect(await findOrBuildTemporalCli({ env: isolatedEnv(), ...noInstall })).toBe(cached);
  });

  it('places the cache under XDG_CACHE_HOME, else ~/.cache, when BILLFLOW_CACHE_DIR is unset', () => {
    const xdg = path.join(root, 'xdg');
    expect(cachedTemporalCliPath({ XDG_CACHE_HOME: xdg, HOME: root })).toBe(
      path.join(xdg, 'billflow', 'temporal-cli', `v${TEMPORAL_CLI_VERSION}`, 'temporal'),
    );
    expect(cachedTemporalCliPath({ HOME: root })).toBe(
      path.join(root, '.cache', 'billflow', 'temporal-cli', `v${TEMPORAL_CLI_VERSION}`, 'temporal'),
    );
  });

  it('rejects a configured path that does not exist, naming TEMPORAL_CLI', async () => {
    const missing = path.join(root, 'nowhere', 'temporal');
    await writeExecutable(path.join(cacheDir, 'temporal-cli', `v${TEMPORAL_CLI_VERSION}`, 'temporal'));

    await expect(findOrBuildTemporalCli({ configuredPath: missing, env: isolatedEnv(), ...noInstall })).rejects.toThrow(
      `TEMPORAL_CLI is set to "${missing}", but no such file exists`,
    );
  });

  it('rejects a configured path that is not executable', async () => {
    const notExecutable = path.join(root, 'temporal');
    await writeFile(notExecutable, 'not a program');

    await expect(findOrBuildTemporalCli({ configuredPath: notExecutable, env: isolatedEnv(), ...noInstall })).rejects.toThrow(
      'which is not an executable file',
    );
  });

  it('says what to install when nothing is found and nothing may be built', async () => {
    const error: unknown = await findOrBuildTemporalCli({ env: isolatedEnv(), ...noInstall }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TemporalCliNotFoundError);
    const message = (error as Error).message;
    expect(message).toContain('Go >= 1.22');
    expect(message).toContain('TEMPORAL_CLI');
    expect(message).toContain('https://docs.temporal.io/cli');
  });

  describe('building with Go (a stand-in `go` on PATH, so no real build runs)', () => {
    it('runs go install for the pinned version with CGO off and moves the binary into the cache', async () => {
      const goBin = path.join(root, 'go-bin');
      const record = path.join(root, 'go-invocation');
      await writeExecutable(
        path.join(goBin, 'go'),
        [
          '#!/bin/sh',
          `echo "args=$*" > "${record}"`,
          `echo "CGO_ENABLED=$CGO_ENABLED" >> "${record}"`,
          `echo "GOBIN=$GOBIN" >> "${record}"`,
          'echo "go: downloading github.com/temporalio/cli v1.5.1" >&2',
          '/bin/sleep 0.3',
          `printf '#!/bin/sh\\necho built\\n' > "$GOBIN/temporal"`,
          '/bin/chmod +x "$GOBIN/temporal"',
        ].join('\n'),
      );
      const lines: string[] = [];

      const found = await findOrBuildTemporalCli({
        env: isolatedEnv({ PATH: goBin }),
        log: (line) => lines.push(line),
        download: false,
        progressIntervalMs: 100,
      });

      expect(found).toBe(cachedTemporalCliPath(isolatedEnv()));
      const invocation = await readFile(record, 'utf8');
      expect(invocation).toContain(`install -ldflags=-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION} github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`);
      expect(invocation).toContain('CGO_ENABLED=0');
      // GOBIN is a temporary directory inside the cache, removed after the move.
      expect(invocation).toContain(`GOBIN=${path.join(cacheDir, 'temporal-cli', 'build-')}`);
      expect(lines).toContain('go: downloading github.com/temporalio/cli v1.5.1');
      expect(lines.some((line) => /^still building… \d+s$/.test(line))).toBe(true);
      // A second lookup is a cache hit: no build.
      expect(await findOrBuildTemporalCli({ env: isolatedEnv(), ...noInstall })).toBe(found);
    });

    it('reports the tail of a failed build', async () => {
      const goBin = path.join(root, 'go-bin');
      await writeExecutable(path.join(goBin, 'go'), '#!/bin/sh\necho "go: module lookup disabled by GOPROXY=off" >&2\nexit 1\n');

      await expect(findOrBuildTemporalCli({ env: isolatedEnv({ PATH: goBin }), download: false })).rejects.toThrow(
        /building with Go failed: .*exit code 1:\ngo: module lookup disabled by GOPROXY=off/,
      );
    });
  });
});
