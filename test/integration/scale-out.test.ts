import { describe, expect, inject, it } from 'vitest';
import { describeSender } from '../../bench/lib/sender';
import { runChaos } from '../../chaos/run';
import { createPostgresSchema, testDatabaseUrl } from '../support/database';

/**
 * Scale-out: two receivers (`billflow receiver`) and two workers (billflow's worker process) on one
 * task queue of the suite's Temporal server (the real one or the dev server), the workers sharing
 * one account store on PostgreSQL. A provider-like sender spreads the deliveries over both receivers
 * and retries whatever was not answered 2xx; one worker and one receiver are SIGKILLed mid-run and
 * restarted. Audited from the workflows' histories, the account store and the sandbox's recorded
 * calls: every event applied once, every effect once.
 */
describe.skipIf(!testDatabaseUrl)('two receivers and two workers against one Temporal server', () => {
  it('applies every event and every effect once through a worker and a receiver SIGKILL', async () => {
    const schema = await createPostgresSchema(testDatabaseUrl as string);
    const lines: string[] = [];
    const started = Date.now();
    try {
      const report = await runChaos({
        webhooks: 240,
        duplicateShare: 0.15,
        maxBatch: 3,
        stripeShare: 0.1,
        concurrency: 8,
        receivers: 2,
        workers: 2,
        workerKills: 1,
        receiverKills: 1,
        temporalKills: 0,
        fuzzRequests: 0,
        seed: 14,
        timeLimitMs: 200_000,
        temporal: { kind: 'external', address: inject('temporalAddress') },
        databaseUrl: schema.url,
        log: (line) => lines.push(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`),
      });
      const summary = [...lines, `faults: ${report.faults.join('; ')}`, `sender: ${describeSender(report.sender)}`, ...report.verdict.problems.map((problem) => `PROBLEM: ${problem}`), `counts: ${report.counts}`].join(
        '\n',
      );
      console.log(summary);

      expect(report.faults, summary).toEqual([expect.stringMatching(/^worker \d\/2 SIGKILLed/), expect.stringMatching(/^receiver \d\/2 SIGKILLed/)]);
      expect(report.unexpectedExits, summary).toBe(0);
      expect(report.sender.gaveUp, summary).toBe(0);
      // Some deliveries met the killed receiver and were delivered again through the other.
      expect(report.sender.retried, summary).toBeGreaterThan(0);
      expect(report.verdict.lost, summary).toBe(0);
      expect(report.verdict.appliedTwice, summary).toBe(0);
      expect(report.verdict.applied, summary).toBe(report.verdict.events);
      expect(report.verdict.storeEffects, summary).toBeGreaterThan(0);
      expect(report.verdict.sandboxEffects, summary).toBeGreaterThan(0);
      expect(report.verdict.problems, summary).toEqual([]);
      expect(report.passed, summary).toBe(true);
    } finally {
      await schema.drop();
    }
  }, 300_000);
});
