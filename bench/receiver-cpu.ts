// Receiver CPU: the receiver's own CPU time per webhook — HTTP, raw body, verification, parsing,
// routing, logging, metrics — with a Temporal client stand-in that answers at once, so that none of
// the gRPC client's work is counted; beside a bare node:http server answering the same requests (the
// floor any Node receiver pays), in alternating rounds of the same run.
import path from 'node:path';
import { closedLoop, keepAliveAgent, median, postWebhook } from './lib/load';
import { spawnTypeScript, type Child } from './lib/processes';
import { progress, readOptions, round, runAlone, verdict, type BenchResult } from './lib/report';
import { scratchDirectory } from './lib/stack';
import { allProviders, receiverEnvironment, seededRandom, webhookMix, type PreparedWebhook } from './lib/webhooks';

export const receiverCpuOptions = {
  webhooks: { quick: 3000, full: 10_000, help: 'webhooks per receiver and round' },
  concurrency: { quick: 16, full: 16, help: 'requests in flight' },
  entities: { quick: 300, full: 2000, help: 'entities per provider the webhooks are spread over' },
  rounds: { quick: 3, full: 5, help: 'rounds; each measures the bare server and the receiver once, in alternating order' },
  seed: { quick: 5, full: 5, help: 'seed of the mix' },
} as const;

type ReceiverCpuOptions = ReturnType<typeof readOptions<keyof typeof receiverCpuOptions>>;

/** The receiver's own CPU per webhook, milliseconds (issue 14). */
const targetMs = 0.3;

interface MeteredChild {
  url: string;
  child: Child;
  /** CPU seconds (user + system) the child has used so far, by its own `process.cpuUsage()`. */
  cpuSeconds(): Promise<number>;
}

async function startMetered(kind: 'receiver' | 'bare', env: Record<string, string>, logFile: string, nodeFlags: string[] = []): Promise<MeteredChild> {
  const child = spawnTypeScript('bench/lib/receiver-child.ts', [], { env: { ...env, BENCH_RECEIVER: kind }, logFile, ipc: true, nodeFlags });
  const pending = new Map<number, (value: number) => void>();
  let nextId = 0;
  const url = await new Promise<string>((resolve, reject) => {
    child.process.on('message', (message: { id?: number; type: string; value: unknown }) => {
      if (message.type === 'ready') resolve(message.value as string);
      else if (message.id !== undefined) pending.get(message.id)?.(message.value as number);
    });
    void child.exited.then(({ code, signal }) => reject(new Error(`${kind} exited (${signal ?? code}) before it listened (log: ${logFile})`)));
  });
  return {
    url,
    child,
    cpuSeconds: () =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, (value) => {
          pending.delete(id);
          resolve(value);
        });
        child.process.send({ id, type: 'cpu' });
      }),
  };
}

/** Posts every webhook; resolves with the child's CPU milliseconds per answered request. */
async function measure(target: MeteredChild, webhooks: readonly PreparedWebhook[], concurrency: number): Promise<{ msPerWebhook: number; failed: number; failures: Record<string, number> }> {
  const agent = keepAliveAgent(concurrency);
  try {
    const before = await target.cpuSeconds();
    const result = await closedLoop(webhooks, concurrency, async (webhook) => {
      const answer = await postWebhook(agent, target.url, webhook);
      return answer.status >= 200 && answer.status < 300 ? true : String(answer.status);
    }, 600_000);
    const used = (await target.cpuSeconds()) - before;
    return { msPerWebhook: (used * 1000) / Math.max(1, result.ok), failed: result.failed, failures: result.failures };
  } finally {
    agent.destroy();
  }
}

export async function receiverCpu(options: ReceiverCpuOptions): Promise<BenchResult> {
  const scratch = await scratchDirectory('bench-receiver-cpu');
  const env = {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: options.logLevel,
    // Never dialled: the stand-in answers every call.
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    TEMPORAL_TASK_QUEUE: 'bench-receiver-cpu',
    BILLFLOW_DATA_DIR: path.join(scratch.dir, 'data'),
    ...receiverEnvironment(),
  };
  const profileDir = path.join(scratch.dir, 'profiles');
  const receiver = await startMetered('receiver', env, path.join(scratch.dir, 'receiver.log'), options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  const bare = await startMetered('bare', env, path.join(scratch.dir, 'bare.log'));
  const random = seededRandom(options.seed);
  const mix = (webhooks: number) => webhookMix({ webhooks, entities: options.entities, providers: allProviders, random }).webhooks;
  try {
    progress(`receiver-cpu: ${options.webhooks} webhooks × ${options.rounds} rounds per server, ${options.concurrency} in flight; warm-up`);
    await measure(receiver, mix(1000), options.concurrency);
    await measure(bare, mix(1000), options.concurrency);
    const figures: Record<'receiver' | 'bare', number[]> = { receiver: [], bare: [] };
    let failed = 0;
    for (let roundIndex = 0; roundIndex < options.rounds; roundIndex += 1) {
      const order = roundIndex % 2 === 0 ? (['bare', 'receiver'] as const) : (['receiver', 'bare'] as const);
      for (const kind of order) {
        const measured = await measure(kind === 'receiver' ? receiver : bare, mix(options.webhooks), options.concurrency);
        failed += measured.failed;
        if (measured.failed) progress(`${kind}: ${measured.failed} not accepted ${JSON.stringify(measured.failures)}`);
        figures[kind].push(measured.msPerWebhook);
      }
      progress(`round ${roundIndex + 1}: receiver ${round(figures.receiver.at(-1) ?? NaN, 3)} ms, bare node:http ${round(figures.bare.at(-1) ?? NaN, 3)} ms CPU per webhook`);
    }
    const own = median(figures.receiver);
    const floor = median(figures.bare);
    const spread = (values: number[]) => `${round(Math.min(...values), 3)}–${round(Math.max(...values), 3)}`;
    const met = own <= targetMs && failed === 0;
    const figure = `receiver ${round(own, 3)} ms CPU per webhook (rounds ${spread(figures.receiver)}), bare node:http ${round(floor, 3)} ms (${spread(figures.bare)}); Temporal client stood in for`;
    return {
      name: 'receiver-cpu',
      summary: `receiver-cpu: ${figure} → ${round(own / targetMs, 2)}× the target of ${targetMs} ms (${verdict(met)})`,
      rows: [
        {
          what: `Receiver's own CPU per webhook (${allProviders.join(', ')}; HTTP, raw body, verify, parse, route, log, metrics), ${options.concurrency} in flight`,
          command: `npm run bench -- receiver-cpu${options.full ? ' --full' : ''}`,
          figure,
          ratio: own / targetMs,
          target: `≤ ${targetMs} ms (1.00×)`,
          met,
        },
      ],
    };
  } finally {
    await receiver.child.stop();
    await bare.child.stop();
    if (options.cpuProf) progress(`receiver CPU profile in ${profileDir} (kept)`);
    else await scratch.remove();
  }
}

runAlone(module, () => receiverCpu(readOptions(process.argv.slice(2), receiverCpuOptions)));
