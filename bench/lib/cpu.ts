import { readFileSync } from 'node:fs';

const ticksPerSecond = 100;

/** CPU seconds (user + system) a process has used so far, from /proc; undefined where there is none. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at index 2 of this split.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** CPU seconds used by each named process between `start()` and `stop()`. */
export function cpuMeter(pids: Record<string, number | undefined>): { stop(): Record<string, number> } {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const selfBefore = process.cpuUsage();
  return {
    stop() {
      const used: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids)) {
        const start = before[name];
        const end = cpuSeconds(pid);
        if (start !== undefined && end !== undefined) used[name] = end - start;
      }
      const self = process.cpuUsage(selfBefore);
      used.harness = (self.user + self.system) / 1e6;
      return used;
    },
  };
}

export function describeCpu(used: Record<string, number>): string {
  return Object.entries(used)
    .map(([name, seconds]) => `${name} ${seconds.toFixed(1)}s`)
    .join(', ');
}
