import { randomBytes } from 'node:crypto';

/** A Recurly uuid as Recurly makes them: 32 lower-case hexadecimal characters. */
export const recurlyUuid = (): string => randomBytes(16).toString('hex');
