/**
 * The patch under which an event of a state the workflow already holds (paused while paused, resumed
 * while not paused, cancelled while its end is scheduled) changes nothing. Catch-up reconciles
 * Recurly by state, under ids of its own, so such an event can follow the webhook of the same change;
 * histories recorded before it applied them again, and replay so.
 */
export const heldStateIsNoOp = 'held-state-is-no-op';
