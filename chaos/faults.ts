/** How many of each fault a crash test injects while the sender delivers. */
export interface FaultCounts {
  workerKills: number;
  temporalKills: number;
  /** Receiver SIGKILLs, each receiver restarted on its port (default 0). */
  receiverKills?: number;
  /** Crash-restarts of the PostgreSQL under the real Temporal server: the run's own only (default 0). */
  postgresRestarts?: number;
}

export type FaultTarget = 'worker' | 'receiver' | 'temporal' | 'postgres';

export interface Fault {
  /** Share of deliveries answered 2xx when it strikes. */
  at: number;
  target: FaultTarget;
}

/** The faults spread evenly over the sending, the kinds interleaved (worker, receiver, Temporal, PostgreSQL, worker, …). */
export function faultPlan(counts: FaultCounts): Fault[] {
  const wanted: [FaultTarget, number][] = [
    ['worker', counts.workerKills],
    ['receiver', counts.receiverKills ?? 0],
    ['temporal', counts.temporalKills],
    ['postgres', counts.postgresRestarts ?? 0],
  ];
  const kinds: FaultTarget[] = [];
  for (let round = 0; round < Math.max(...wanted.map(([, count]) => count)); round += 1) {
    for (const [target, count] of wanted) if (round < count) kinds.push(target);
  }
  return kinds.map((target, index) => ({ target, at: (index + 1) / (kinds.length + 1) }));
}
