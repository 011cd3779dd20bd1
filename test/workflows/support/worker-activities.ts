import { createActivities, type Activities } from '../../../activities';
import type { AccountStore } from '../../../src/store/account-store';
import type { Config } from '../../../src/config';
import { routeEvents } from '../../../src/routing';

/** billflow's activities for a config pointing at the sandbox, as the worker process builds them. */
export function activitiesFor(config: Config, store: AccountStore): Activities {
  return createActivities({ store, providers: config, route: (event) => routeEvents(event, { settings: config.workflows }) });
}
