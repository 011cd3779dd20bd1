import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

/**
 * billflow's workflow interceptors for OpenTelemetry (workflows/tracing.ts), in every bundle: they
 * stay inert until a traced call comes in, so one bundle serves workers with tracing on and off.
 */
export const workflowTracingInterceptorsPath = path.resolve(__dirname, '../../workflows/tracing');

/**
 * Bundles a workflows file (or folder) once, at build time, into `outFile`, for a worker started
 * with `workflowBundle: { codePath: outFile }`: the worker then skips webpack at every start.
 * The bundle holds the workflow code as built, so rebuild it with the code it ships beside.
 */
export async function bundleWorkflows({ workflowsPath, outFile }: { workflowsPath: string; outFile: string }): Promise<{ outFile: string; bytes: number }> {
  // Webpack's module list comes at info level: warnings and errors only.
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: [workflowTracingInterceptorsPath], logger: new DefaultLogger('WARN') });
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, code);
  return { outFile, bytes: Buffer.byteLength(code) };
}
