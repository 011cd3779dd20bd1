import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

/**
 * Bundles a workflows file (or folder) once, at build time, into `outFile`, for a worker started
 * with `workflowBundle: { codePath: outFile }`: the worker then skips webpack at every start.
 * The bundle holds the workflow code as built, so rebuild it with the code it ships beside.
 */
export async function bundleWorkflows({ workflowsPath, outFile }: { workflowsPath: string; outFile: string }): Promise<{ outFile: string; bytes: number }> {
  // Webpack's module list comes at info level: warnings and errors only.
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, code);
  return { outFile, bytes: Buffer.byteLength(code) };
}
