import { z } from 'zod';
import type { ProviderName } from '../core/events';
import { providerNames } from '../providers/registry';
import { setting, type SettingsOf } from '../settings';
import { duration } from '../workflow-settings';

const providerChoice = z
  .string()
  .optional()
  .transform((value) => (value ?? 'auto').split(',').map((part) => part.trim().toLowerCase()).filter(Boolean))
  .pipe(z.union([z.tuple([z.literal('auto')]), z.tuple([z.literal('none')]), z.array(z.enum(providerNames as [ProviderName, ...ProviderName[]]))]));

/**
 * Catch-up from the providers' event lists (src/catch-up/): which providers, how often, and how far
 * the first sweep looks back. A running catch-up workflow takes new values when the worker starts.
 */
export const catchUpSettings = {
  /**
   * `auto` (the default): every provider with an event list whose API credentials are set; `none`;
   * or a list of providers (each must have an event list and credentials).
   */
  providers: setting('BILLFLOW_CATCH_UP', providerChoice),
  /** Time between two sweeps of a provider's event list. */
  intervalMs: setting('BILLFLOW_CATCH_UP_INTERVAL', z.string().default('5 minutes').pipe(duration)),
  /** How far back the very first sweep reads, before a cursor exists. */
  firstLookbackMs: setting('BILLFLOW_CATCH_UP_FIRST_LOOKBACK', z.string().default('3 days').pipe(duration)),
  /** Events a sweep hands on at once (the events of one workflow still one at a time, in order). */
  concurrency: setting('BILLFLOW_CATCH_UP_CONCURRENCY', z.coerce.number().int().min(1).max(256).default(16)),
};

export type CatchUpSettings = SettingsOf<typeof catchUpSettings>;
