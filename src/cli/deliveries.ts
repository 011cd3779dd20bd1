import { Command, Option } from 'commander';
import type { Config } from '../config';
import { deadLetterKinds } from '../core/dead-letters';
import { providerNames } from '../providers/registry';
import type { DeadLetterSummary } from '../store/dead-letter-store';

interface ApiOptions {
  url?: string;
  token?: string;
}

type Print = (line: string) => void;

const requestTimeoutMs = 30_000;

/**
 * `billflow deliveries list | show | replay | failures`: the receiver's `/deliveries` API from the
 * command line, so it works wherever the store is (the embedded database belongs to one process).
 */
export function deliveriesCommand(loadConfig: () => Config, print: Print = (line) => process.stdout.write(`${line}\n`)): Command {
  const api = (options: ApiOptions) => apiClient(options, loadConfig);
  const withApiOptions = (command: Command) =>
    command
      .option('--url <url>', 'receiver base URL (default: http://localhost:$PORT)')
      .option('--token <token>', 'API token (default: $BILLFLOW_API_TOKEN)');
  const deliveries = new Command('deliveries').description('Dead letters: deliveries billflow verified but could not act on; list, show and replay them');

  withApiOptions(deliveries.command('list').description('List dead letters, newest first'))
    .addOption(new Option('--provider <name>', 'only this provider').choices(providerNames))
    .addOption(new Option('--kind <kind>', 'only this kind').choices(deadLetterKinds))
    .option('--limit <n>', 'at most this many (1–500)', '50')
    .option('--before <id>', 'only those older than this id (the next page)')
    .option('--json', 'print the API answer as JSON')
    .action(async (options: ApiOptions & { provider?: string; kind?: string; limit: string; before?: string; json?: boolean }) => {
      const query = new URLSearchParams({ limit: options.limit });
      if (options.provider) query.set('provider', options.provider);
      if (options.kind) query.set('kind', options.kind);
      if (options.before) query.set('before', options.before);
      const answer = await api(options)<{ deliveries: DeadLetterSummary[] }>('GET', `/deliveries?${query}`);
      if (!answer) return;
      if (options.json) return print(JSON.stringify(answer, null, 2));
      if (answer.deliveries.length === 0) return print('no dead letters');
      for (const letter of answer.deliveries) print(summaryLine(letter));
    });

  withApiOptions(deliveries.command('show').description('Show one dead letter: its reason, and the delivery or event it holds').argument('<id>'))
    .action(async (id: string, options: ApiOptions) => {
      const answer = await api(options)('GET', `/deliveries/${encodeURIComponent(id)}`);
      if (answer) print(JSON.stringify(answer, null, 2));
    });

  withApiOptions(deliveries.command('replay').description('Send a dead letter through normalise → route → signal-with-start again (its events keep their ids)').argument('<id>'))
    .action(async (id: string, options: ApiOptions) => {
      const answer = await api(options)<{ accepted: number; ignored: number; unusable: string[]; workflowIds: string[] }>('POST', `/deliveries/${encodeURIComponent(id)}/replay`);
      if (!answer) return;
      print(`replayed ${id}: accepted ${answer.accepted}, ignored ${answer.ignored}`);
      for (const reason of answer.unusable) print(`still unusable: ${reason}`);
      for (const workflowId of answer.workflowIds) print(`workflow: ${workflowId}`);
    });

  withApiOptions(deliveries.command('failures').description('Deliveries that failed verification: counts per provider and reason, and the latest kept'))
    .option('--limit <n>', 'at most this many of the latest (1–500)', '20')
    .action(async (options: ApiOptions & { limit: string }) => {
      const answer = await api(options)('GET', `/deliveries/verification-failures?limit=${encodeURIComponent(options.limit)}`);
      if (answer) print(JSON.stringify(answer, null, 2));
    });
  return deliveries;
}

function summaryLine(letter: DeadLetterSummary): string {
  const seen = letter.timesSeen > 1 ? ` seen ${letter.timesSeen}×` : '';
  const replayed = letter.replays > 0 ? ` replayed ${letter.replays}× (${letter.lastReplayOutcome ?? ''})` : '';
  return `${letter.id.padStart(6)}  ${letter.lastSeenAt}  ${letter.provider.padEnd(11)} ${letter.kind.padEnd(19)} ${letter.reason}${seen}${replayed}`;
}

/** Calls the API; prints the refusal and sets exit code 1 on a non-2xx answer (resolving undefined). */
function apiClient(options: ApiOptions, loadConfig: () => Config) {
  return async <T = unknown>(method: string, path: string): Promise<T | undefined> => {
    const config = loadConfig();
    const base = (options.url ?? `http://localhost:${config.port}`).replace(/\/$/, '');
    const token = options.token ?? config.apiToken;
    if (!token) throw new Error('no API token: set BILLFLOW_API_TOKEN or pass --token');
    const response = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(requestTimeoutMs) });
    const text = await response.text();
    if (!response.ok) {
      let reason = text;
      try {
        reason = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // not JSON: shown as it came
      }
      process.stderr.write(`${response.status} ${reason}\n`);
      process.exitCode = 1;
      return undefined;
    }
    return JSON.parse(text) as T;
  };
}
