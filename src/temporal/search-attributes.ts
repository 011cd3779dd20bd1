import { isGrpcServiceError, type Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { SearchAttributeType } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { billingCustomerKey, billingProviderKey, billingStatusKey } from '../../workflows/definitions';

/** The custom search attributes billflow's workflows set, so executions can be found by them in the Web UI. */
export const billingSearchAttributes = {
  provider: billingProviderKey,
  customer: billingCustomerKey,
  status: billingStatusKey,
} as const;

const GRPC_ALREADY_EXISTS = 6;

function indexedValueType(type: SearchAttributeType) {
  const encoded = encodeSearchAttributeIndexedValueType(type);
  if (encoded === undefined) throw new TypeError(`Unknown search attribute type ${type}`);
  return encoded;
}

/** `--search-attribute` flags for `temporal server start-dev`, e.g. `BillingProvider=Keyword`. */
export function searchAttributeFlags(): string[] {
  return Object.values(billingSearchAttributes).flatMap(({ name, type }) => [
    '--search-attribute',
    `${name}=${type.charAt(0)}${type.slice(1).toLowerCase()}`,
  ]);
}

/**
 * Registers billflow's search attributes on a server billflow did not start itself (a dev server
 * billflow starts gets them from `--search-attribute`). Attributes already there are left alone.
 */
export async function ensureSearchAttributes(connection: Connection | NativeConnection, namespace: string): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.values(billingSearchAttributes).filter(({ name }) => !(customAttributes && name in customAttributes));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(({ name, type }) => [name, indexedValueType(type)])),
    });
  } catch (error) {
    // Another process registered them between the list and the add.
    if (isGrpcServiceError(error) && error.code === GRPC_ALREADY_EXISTS) return;
    throw error;
  }
}
