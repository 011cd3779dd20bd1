/**
 * Resolves on the first SIGINT or SIGTERM, so the caller can stop gracefully (drain webhooks,
 * let the worker finish its tasks). A second signal while that is under way exits at once.
 */
export function stopSignal(onForce: (signal: NodeJS.Signals) => void = defaultForce): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals) => {
      process.off('SIGINT', first);
      process.off('SIGTERM', first);
      process.once('SIGINT', onForce);
      process.once('SIGTERM', onForce);
      resolve(signal);
    };
    process.on('SIGINT', first);
    process.on('SIGTERM', first);
  });
}

function defaultForce(signal: NodeJS.Signals): void {
  process.stderr.write(`${signal} again: exiting without waiting\n`);
  process.exit(130);
}
