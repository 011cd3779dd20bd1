import { describe, expect, it } from 'vitest';
import { billflowWorkflowBundlePath, billflowWorkflowsPath, workflowCode } from '../../src/temporal/worker';

describe('the workflow code a worker runs', () => {
  it('is what the caller gives: a workflows file to bundle at start, or a prebuilt bundle', () => {
    expect(workflowCode({ workflowsPath: '/app/src/workflows.ts' })).toEqual({ workflowsPath: '/app/src/workflows.ts' });
    expect(workflowCode({ workflowBundle: { codePath: '/app/dist/workflow-bundle.js' } })).toEqual({ workflowBundle: { codePath: '/app/dist/workflow-bundle.js' } });
    expect(() => workflowCode({ workflowsPath: '/a', workflowBundle: { code: '' } })).toThrow(/either workflowsPath or workflowBundle/);
  });

  it('is billflow\'s own sources when run from them: the build\'s bundle sits beside the compiled code only', () => {
    expect(billflowWorkflowBundlePath).not.toContain('/dist/');
    expect(workflowCode({})).toEqual({ workflowsPath: billflowWorkflowsPath });
  });
});
