import { describe, expect, inject, it } from 'vitest';
import { realTemporalPrerequisites } from './support/real-temporal';
import { describeSender } from '../bench/lib/sender';
import { describeFuzz } from '../chaos/fuzz';
import { runChaos } from '../chaos/run';

// The short crash test; `npm run chaos` is the full one (10,000 deliveries, 100,000 forgeries).
// On the server the run uses: the real Temporal server (on PostgreSQL) when the run is on it.
describe('crash test: provider-like deliveries while the worker and the Temporal server are SIGKILLed', () => {
  it('loses nothing, applies every event and effect once, and refuses every forgery', async () => {
    const prerequisites = inject('temporalServer') === 'real' ? await realTemporalPrerequisites() : undefined;
    if (prerequisites && 'missing' in prerequisites) throw new Error(`The run is on the real Temporal server, but ${prerequisites.missing}`);
    const lines: string[] = [];
    const started = Date.now();
    const report = await runChaos({
      webhooks: 150,
      duplicateShare: 0.15,
      maxBatch: 3,
      stripeShare: 0.1,
      concurrency: 8,
      workerKills: 2,
      temporalKills: 2,
      fuzzRequests: 1500,
      seed: 7,
      timeLimitMs: 170_000,
      cliPath: inject('temporalCliPath'),
      temporal: prerequisites && { kind: 'real', ...prerequisites },
      log: (line) => lines.push(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`),
    });
    const summary = [
      ...lines,
      `faults: ${report.faults.join('; ')}`,
      `sender: ${describeSender(report.sender)}`,
      report.fuzz ? `fuzz: ${describeFuzz(report.fuzz)}` : 'fuzz: skipped',
      ...report.verdict.problems.map((problem) => `PROBLEM: ${problem}`),
      `counts: ${report.counts}`,
    ].join('\n');
    console.log(summary);

    expect(report.faults, summary).toHaveLength(4);
    expect(report.unexpectedExits, summary).toBe(0);
    expect(report.sender.gaveUp, summary).toBe(0);
    expect(report.verdict.lost, summary).toBe(0);
    expect(report.verdict.appliedTwice, summary).toBe(0);
    expect(report.verdict.applied, summary).toBe(report.verdict.events);
    expect(report.verdict.problems, summary).toEqual([]);
    expect(report.fuzz?.crashed, summary).toBe(false);
    expect(report.fuzz?.serverErrors, summary).toBe(0);
    expect(report.fuzz?.accepted, summary).toBe(0);
    expect(report.fuzz?.signals, summary).toBe(0);
    expect(report.passed, summary).toBe(true);
  }, 180_000);
});
