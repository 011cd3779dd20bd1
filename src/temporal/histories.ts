import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { History } from '@temporalio/common/lib/proto-utils';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

/**
 * Decodes a history in the Temporal CLI's JSON (`temporal workflow show --output json`) with the
 * protobufjs copy `@temporalio/proto` itself uses. The SDK's `historyFromJSON` does the same with
 * `@temporalio/common`'s copy, and npm may install one copy per package (a protobufjs 7 sits at
 * the top for gRPC): the two never agree that a type is a type. The replayer takes decoded
 * histories as they are.
 */
export function historyFromCliJson(json: unknown): History {
  const protoModule = require.resolve('@temporalio/proto');
  const { fromJson } = createRequire(protoModule)('protobufjs/ext/protojson') as { fromJson(type: unknown, json: unknown, options: object): History };
  // The module as Node loads it: an `import * as` wrapper would hide the root's lookup methods.
  const root = patchProtobufRoot(createRequire(__filename)(protoModule)) as unknown as { lookupType(name: string): unknown };
  return fromJson(root.lookupType('temporal.api.history.v1.History'), json, { ignoreUnknownFields: true });
}

/** A recorded history file (the CLI's JSON), decoded for `Worker.runReplayHistory`. */
export async function readHistoryFile(file: string): Promise<History> {
  return historyFromCliJson(JSON.parse(await readFile(file, 'utf8')));
}
