/**
 * Checks docker-compose.yml, Dockerfile and .dockerignore without a Docker engine: the structure
 * (services, start-up order, ports, environment, healthchecks, pinned images), and the commands the
 * containers would run, executed here: the healthcheck one-liners against local servers and the
 * namespace set-up script against the test run's Temporal dev server. Full Compose validation
 * (interpolation, Compose Specification schema) and BuildKit's Dockerfile checks are in
 * scripts/check-compose.sh.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import vm from 'node:vm';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { configVariables } from '../src/config';
import { providerSettingsTrees } from '../src/providers/registry';
import { settingVariables } from '../src/settings';
import { temporalDynamicConfig } from '../src/temporal/temporal-server';
import { runtimeImports } from './support/import-graph';

const root = path.resolve(__dirname, '..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

interface Healthcheck {
  test?: string[] | string;
  disable?: boolean;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}
interface Service {
  image?: string;
  build?: string | { context: string };
  command?: string[];
  entrypoint?: string[];
  restart?: string;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: Healthcheck;
}
interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml')) as ComposeFile;
const services = compose.services;
const dockerfile = read('Dockerfile');

function service(name: string): Service {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/** What Compose leaves of a value when the variable it names is unset: `${X:-d}` → d; `$$` → `$`. */
function withDefaults(value: string): string {
  return value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1').replace(/\$\$/g, '$');
}

/** The environment variables billflow reads, as src/config.ts declares them. */
function billflowVariables(): Set<string> {
  return new Set(configVariables());
}

/** Temporal's environment configuration for TLS and API keys, passed through to both billflow services. */
const temporalTlsVariables = [
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
];
/** What the receiver reads of the providers' settings (the worker takes the API ones). */
const webhookVariables = [
  'GOCARDLESS_WEBHOOK_SECRET',
  'STRIPE_WEBHOOK_SECRET',
  'RECURLY_WEBHOOK_SECRET',
  'RECURLY_WEBHOOK_BASIC_AUTH',
  'RECURLY_ALLOWED_IPS',
  'CCBILL_ALLOWED_IPS',
  'BILLFORWARD_WEBHOOK_BASIC_AUTH',
];
const apiVariables = [
  'GOCARDLESS_ACCESS_TOKEN',
  'GOCARDLESS_API_URL',
  'STRIPE_API_KEY',
  'STRIPE_API_URL',
  'RECURLY_API_KEY',
  'RECURLY_API_URL',
  'CCBILL_DATALINK_URL',
  'CCBILL_DATALINK_USERNAME',
  'CCBILL_DATALINK_PASSWORD',
  'CCBILL_CLIENT_ACCNUM',
  'CCBILL_CLIENT_SUBACC',
  'BILLFORWARD_ACCESS_TOKEN',
  'BILLFORWARD_API_URL',
];

/** The JavaScript of a `node -e` healthcheck. */
function nodeHealthcheckScript(check: Healthcheck | undefined): string {
  const test = check?.test;
  expect(Array.isArray(test)).toBe(true);
  const [kind, program, flag, script] = test as string[];
  expect([kind, program, flag]).toEqual(['CMD', 'node', '-e']);
  expect(() => new vm.Script(script as string)).not.toThrow();
  return script as string;
}

/** A one-shot service's shell script, as the shell will see it. */
function shellScript(name: string): string {
  const entry = service(name);
  expect(entry.entrypoint).toEqual(['/bin/sh', '-euc']);
  expect(entry.command).toHaveLength(1);
  return (entry.command as string[])[0]!.replace(/\$\$/g, '$');
}

function runNode(script: string, env: Record<string, string>, timeoutMs = 15_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('docker-compose.yml', () => {
  it('has the production-like topology', () => {
    expect(compose.name).toBe('billflow');
    expect(Object.keys(services).sort()).toEqual(
      ['billflow-db', 'postgresql', 'receiver', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker'].sort(),
    );
    expect(service('postgresql').volumes).toEqual(['postgresql-data:/var/lib/postgresql/data']);
    expect(compose.volumes).toHaveProperty('postgresql-data');
    // The database is reachable from the Compose network only.
    expect(service('postgresql').ports).toBeUndefined();
  });

  it('pins every image to a version tag, the Temporal ones moving together', () => {
    const images = Object.fromEntries(Object.entries(services).map(([name, entry]) => [name, entry.image]));
    expect(images).toEqual({
      postgresql: 'postgres:16',
      'temporal-schema': 'temporalio/admin-tools:1.30.1',
      'billflow-db': 'postgres:16',
      temporal: 'temporalio/server:1.30.1',
      'temporal-namespace': 'temporalio/admin-tools:1.30.1',
      'temporal-ui': 'temporalio/ui:2.34.0',
      worker: 'billflow:local',
      receiver: 'billflow:local',
    });
    for (const name of ['worker', 'receiver']) expect(service(name).build).toBe('.');
    expect(service('worker').command).toEqual(['worker']);
    expect(service('receiver').command).toEqual(['receiver']);
  });

  it('starts everything in order', () => {
    const conditions = Object.fromEntries(
      Object.entries(services).map(([name, entry]) => [
        name,
        Object.fromEntries(Object.entries(entry.depends_on ?? {}).map(([dependency, { condition }]) => [dependency, condition])),
      ]),
    );
    expect(conditions).toEqual({
      postgresql: {},
      'temporal-schema': { postgresql: 'service_healthy' },
      'billflow-db': { postgresql: 'service_healthy', 'temporal-schema': 'service_completed_successfully' },
      temporal: { 'temporal-schema': 'service_completed_successfully' },
      'temporal-namespace': { temporal: 'service_healthy' },
      'temporal-ui': { temporal: 'service_healthy' },
      worker: {
        postgresql: 'service_healthy',
        'billflow-db': 'service_completed_successfully',
        'temporal-namespace': 'service_completed_successfully',
      },
      receiver: { 'temporal-namespace': 'service_completed_successfully', worker: 'service_healthy' },
    });
    for (const [name, entry] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(entry.depends_on ?? {})) {
        // Waiting for `healthy` needs a healthcheck; waiting for an exit needs a service that exits.
        if (condition === 'service_healthy') expect(service(dependency).healthcheck?.test, `${name} → ${dependency}`).toBeDefined();
        if (condition === 'service_completed_successfully') expect(service(dependency).restart, `${name} → ${dependency}`).toMatch(/^on-failure/);
      }
    }
  });

  it('publishes the receiver, and the Web UI and Temporal on loopback only', () => {
    expect(service('receiver').ports).toEqual(['3000:3000']);
    expect(service('temporal-ui').ports).toEqual(['127.0.0.1:8080:8080']);
    expect(service('temporal').ports).toEqual(['127.0.0.1:7233:7233']);
    for (const name of ['worker', 'temporal-schema', 'temporal-namespace', 'billflow-db']) expect(service(name).ports).toBeUndefined();
  });

  it('sets every variable billflow needs, and only variables billflow reads', () => {
    const known = billflowVariables();
    const shared = ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'LOG_LEVEL', ...temporalTlsVariables];
    const needed: Record<string, string[]> = {
      receiver: [...shared, 'PORT', ...webhookVariables],
      worker: [...shared, 'DATABASE_URL', ...apiVariables],
    };
    for (const [name, variables] of Object.entries(needed)) {
      const environment = service(name).environment ?? {};
      expect(Object.keys(environment).sort(), name).toEqual([...variables].sort());
      for (const variable of variables) expect(known, `${variable} is read by src/config.ts`).toContain(variable);
      expect(withDefaults(environment.TEMPORAL_ADDRESS!)).toBe('temporal:7233');
      expect(withDefaults(environment.TEMPORAL_NAMESPACE!)).toBe('default');
      expect(withDefaults(environment.TEMPORAL_TASK_QUEUE!)).toBe('billflow');
    }
    // The namespace the set-up job creates and the UI shows is billflow's.
    expect(service('temporal-namespace').environment?.NAMESPACE).toBe(service('worker').environment?.TEMPORAL_NAMESPACE);
    expect(service('temporal-ui').environment?.TEMPORAL_DEFAULT_NAMESPACE).toBe(service('worker').environment?.TEMPORAL_NAMESPACE);
    expect(withDefaults(service('worker').environment!.GOCARDLESS_API_URL!)).toBe('https://api-sandbox.gocardless.com');
  });

  it('makes every provider configurable: its webhook settings on the receiver, its API settings on the worker', () => {
    for (const [provider, tree] of Object.entries(providerSettingsTrees)) {
      // The signature tolerances keep their defaults; everything else a provider reads is there.
      const variables = settingVariables(tree).filter((variable) => !variable.endsWith('_SIGNATURE_TOLERANCE_SECONDS'));
      for (const variable of variables) {
        const where = webhookVariables.includes(variable) ? 'receiver' : 'worker';
        expect(service(where).environment, `${provider}: ${variable} on the ${where}`).toHaveProperty(variable);
      }
    }
    // Optional ones pass through unset (empty: billflow's default), never a placeholder.
    for (const name of ['receiver', 'worker']) {
      for (const [variable, value] of Object.entries(service(name).environment ?? {})) {
        if (!variable.startsWith('GOCARDLESS_') && !['TEMPORAL_', 'DATABASE_URL', 'PORT', 'LOG_LEVEL'].some((prefix) => variable.startsWith(prefix))) {
          expect(value, `${name}: ${variable}`).toBe(`\${${variable}:-}`);
        }
      }
    }
  });

  it('leaves TLS to Temporal optional: plaintext to the bundled server unless TEMPORAL_* say otherwise', () => {
    for (const name of ['receiver', 'worker']) {
      const environment = service(name).environment ?? {};
      for (const variable of [...temporalTlsVariables, 'TEMPORAL_ADDRESS']) expect(environment[variable], `${name}: ${variable}`).toMatch(new RegExp(`^\\$\\{${variable}:-`));
      for (const variable of temporalTlsVariables) expect(withDefaults(environment[variable]!)).toBe('');
    }
  });

  it('runs the Temporal server with the dynamic config billflow’s tests run it with', () => {
    const temporal = service('temporal');
    const mounted = temporal.environment?.DYNAMIC_CONFIG_FILE_PATH;
    expect(temporal.volumes).toEqual([`./compose/temporal-dynamicconfig.yaml:${mounted}:ro`]);
    expect(parse(read('compose/temporal-dynamicconfig.yaml'))).toEqual(temporalDynamicConfig());
  });

  it('keeps billflow’s account store in a database of its own', () => {
    const url = new URL(service('worker').environment!.DATABASE_URL!.replace(/\$\{[^}]+\}/, 'secret'));
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('postgresql');
    expect(url.username).toBe('billflow');
    expect(url.pathname).toBe('/billflow');
    const temporal = service('temporal').environment!;
    expect([temporal.DBNAME, temporal.VISIBILITY_DBNAME]).toEqual(['temporal', 'temporal_visibility']);
    expect(temporal.POSTGRES_USER).not.toBe('billflow');
    expect(shellScript('billflow-db')).toContain('CREATE DATABASE billflow OWNER billflow');
  });

  it('requires the secrets instead of shipping placeholders', () => {
    const required = (value: string | undefined, variable: string) => expect(value).toContain(`\${${variable}:?`);
    required(service('receiver').environment?.GOCARDLESS_WEBHOOK_SECRET, 'GOCARDLESS_WEBHOOK_SECRET');
    required(service('worker').environment?.GOCARDLESS_ACCESS_TOKEN, 'GOCARDLESS_ACCESS_TOKEN');
    required(service('worker').environment?.DATABASE_URL, 'BILLFLOW_DB_PASSWORD');
    required(service('postgresql').environment?.POSTGRES_PASSWORD, 'POSTGRES_PASSWORD');
    required(service('temporal').environment?.POSTGRES_PWD, 'POSTGRES_PASSWORD');
    required(service('temporal-schema').environment?.SQL_PASSWORD, 'POSTGRES_PASSWORD');
  });

  it('has healthchecks wherever something waits for health', () => {
    expect(service('postgresql').healthcheck?.test).toEqual(['CMD-SHELL', 'pg_isready -U temporal -d postgres']);
    expect(service('temporal').healthcheck?.test).toEqual(['CMD', 'nc', '-z', 'localhost', '7233']);
    expect(nodeHealthcheckScript(service('receiver').healthcheck)).toContain("path:'/healthz'");
    expect(nodeHealthcheckScript(service('worker').healthcheck)).toContain('describeTaskQueue');
  });

  it('gives the one-shot jobs shell scripts that parse', () => {
    for (const name of ['temporal-schema', 'billflow-db', 'temporal-namespace']) {
      const result = spawnSync('sh', ['-n', '-c', shellScript(name)], { encoding: 'utf8' });
      expect(result.status, `${name}: ${result.stderr}`).toBe(0);
    }
    expect(shellScript('temporal-schema')).toContain('temporal-sql-tool --db "$db" update-schema -d "$schema"');
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfile
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const all = (keyword: string) => instructions.filter((line) => line.startsWith(`${keyword} `));
  /** The instructions of each stage, from its FROM on. */
  const stages = () => instructions.reduce<string[][]>((found, line) => (line.startsWith('FROM ') ? [...found, [line]] : (found.at(-1)?.push(line), found)), []);
  /** The build stage's `rm -rf` list: what the image leaves out of dist/. */
  const notInImage = (/^RUN rm -rf (.*)$/m.exec(instructions.join('\n'))?.[1] ?? '').split(/\s+/).filter(Boolean);
  const globToRegExp = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);

  it('compiles in a build stage and runs the compiled JavaScript as non-root, with production dependencies only', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(all('FROM')).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE}']);
    const [build, image] = stages();
    // Build stage: every dependency, the sources, tsc and the workflow bundle, then the stand-ins out.
    expect(build!.filter((line) => line.startsWith('RUN ')).map((line) => line.replace(/\s+/g, ' '))).toEqual([
      'RUN npm ci --no-audit --no-fund',
      'RUN npm run build',
      `RUN rm -rf ${notInImage.join(' ')}`,
    ]);
    const copiedToBuild = build!.filter((line) => line.startsWith('COPY ')).flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(copiedToBuild.sort()).toEqual(['activities', 'package-lock.json', 'package.json', 'scripts/bundle-workflows.js', 'src', 'tsconfig.build.json', 'tsconfig.json', 'workflows'].sort());
    expect((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.build).toMatch(/tsc -p tsconfig\.build\.json && node scripts\/bundle-workflows\.js$/);
    // The image: production dependencies and the compiled output, nothing else.
    expect(image!.filter((line) => line.startsWith('RUN '))).toEqual(['RUN npm ci --omit=dev && npm cache clean --force']);
    expect(image!.filter((line) => line.startsWith('COPY '))).toEqual(['COPY package.json package-lock.json ./', 'COPY --from=build /app/dist ./dist']);
    expect(all('USER')).toEqual(['USER node']);
    expect(all('ENTRYPOINT')).toEqual(['ENTRYPOINT ["node", "dist/src/cli/main.js"]']);
    expect(all('CMD')).toEqual(['CMD ["receiver"]']);
    const manifest = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(manifest.dependencies.tsx).toBeUndefined();
    expect(manifest.devDependencies.tsx).toBeDefined();
  });

  it('leaves out the sandbox, the test webhooks, dev, trigger, the dev server and the CLI build', () => {
    const leftOut = (source: string) => notInImage.some((pattern) => globToRegExp(pattern).test(`dist/${source.replace(/\.ts$/, '.js')}`));
    for (const source of [
      'src/testing/sandbox/server.ts',
      'src/providers/stripe/testing/webhooks.ts',
      'src/providers/gocardless/testing/sandbox.ts',
      'src/testing/index.ts',
      'src/cli/dev.ts',
      'src/cli/trigger.ts',
      'src/temporal/dev-server.ts',
      'src/temporal/cli-binary.ts',
      'src/go-tool.ts',
      'src/testing/stripe-mock.ts',
    ]) {
      expect(leftOut(source), source).toBe(true);
    }
    // What the receiver and worker load (static imports from the CLI and the package's entries) stays in.
    const graph = runtimeImports(['src/cli/main.ts', 'src/exports/index.ts', 'src/exports/receiver.ts', 'src/exports/worker.ts'].map((file) => path.join(root, file)));
    const missing = [...graph.files].map((file) => path.relative(root, file)).filter(leftOut);
    expect(missing).toEqual([]);
    expect(graph.files.has(path.join(root, 'src/run/worker.ts'))).toBe(true);
  });
  it('checks /healthz with the same one-liner as the receiver service', () => {
    const healthcheck = all('HEALTHCHECK');
    expect(healthcheck).toHaveLength(1);
    const match = /CMD (\[.*\])$/.exec(healthcheck[0]!);
    const test = JSON.parse(match![1]!) as string[];
    expect(test.slice(0, 2)).toEqual(['node', '-e']);
    const normalise = (script: string) => script.replace(/\s+/g, '');
    expect(normalise(test[2]!)).toBe(normalise(nodeHealthcheckScript(service('receiver').healthcheck)));
  });

  it('has a .dockerignore that keeps local state and secrets out, and the sources in', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const entry of ['node_modules', '.billflow', '.git', 'coverage', '.env', 'test', 'dist', 'examples']) expect(ignored).toContain(entry);
    for (const entry of ['src', 'workflows', 'activities', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(ignored).not.toContain(entry);
    }
    // scripts/ stays out but for the build stage's bundling script.
    expect(ignored.slice(ignored.indexOf('scripts/*'))).toContain('!scripts/bundle-workflows.js');
  });
});

describe('the receiver healthcheck, run against a local server', () => {
  let server: Server;
  let status = 200;
  let port = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      response.statusCode = request.url === '/healthz' ? status : 404;
      response.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('passes on 200 from /healthz and fails otherwise', async () => {
    const script = nodeHealthcheckScript(service('receiver').healthcheck);
    status = 200;
    expect(await runNode(script, { PORT: String(port) })).toBe(0);
    status = 503;
    expect(await runNode(script, { PORT: String(port) })).toBe(1);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await runNode(script, { PORT: String(port) })).toBe(1);
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  });
});

describe('against the test run’s Temporal dev server', () => {
  const address = inject('temporalAddress');
  const cliPath = inject('temporalCliPath');

  it('creates the namespace with the temporal-namespace script, and leaves it alone the second time', async () => {
    const namespace = `compose-${Date.now()}`;
    const env = {
      ...process.env,
      PATH: `${path.dirname(cliPath)}${path.delimiter}${process.env.PATH ?? ''}`,
      TEMPORAL_ADDRESS: address,
      NAMESPACE: namespace,
      RETENTION: '30d',
    };
    // The CLI found by global setup may not be named `temporal`: give the script one that is.
    const script = shellScript('temporal-namespace').replace(/\btemporal operator\b/g, `"${cliPath}" operator`);
    const first = spawnSync('sh', ['-euc', script], { env, encoding: 'utf8', timeout: 60_000 });
    expect(first.status, first.stderr).toBe(0);
    const second = spawnSync('sh', ['-euc', script], { env, encoding: 'utf8', timeout: 60_000 });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain(`namespace ${namespace} exists`);
  });

  it('calls the worker healthy only once something polls its workflow task queue', async () => {
    const script = nodeHealthcheckScript(service('worker').healthcheck);
    const taskQueue = `compose-healthcheck-${Date.now()}`;
    // As Compose passes them with nothing set: the TLS variables empty, which means unset.
    const unset = Object.fromEntries(temporalTlsVariables.map((variable) => [variable, '']));
    const env = { ...unset, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: inject('temporalNamespace'), TEMPORAL_TASK_QUEUE: taskQueue };
    expect(await runNode(script, env)).toBe(1);

    // A bare long poll stands in for the worker: it is what makes Temporal list a poller.
    const connection = await Connection.connect({ address });
    const controller = new AbortController();
    const poll = connection
      .withAbortSignal(controller.signal, () =>
        connection.withDeadline(Date.now() + 60_000, () =>
          connection.workflowService.pollWorkflowTaskQueue({
            namespace: env.TEMPORAL_NAMESPACE,
            taskQueue: { name: taskQueue },
            identity: 'docker-compose.test',
          }),
        ),
      )
      .catch(() => undefined);
    try {
      let code: number | null = 1;
      for (let attempt = 0; attempt < 20 && code !== 0; attempt++) {
        code = await runNode(script, env);
        if (code !== 0) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(code).toBe(0);
    } finally {
      controller.abort();
      await poll;
      await connection.close();
    }
  });

  it('fails the worker healthcheck when Temporal does not answer', async () => {
    const script = nodeHealthcheckScript(service('worker').healthcheck);
    expect(await runNode(script, { TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: 'billflow' })).toBe(1);
  });
});
