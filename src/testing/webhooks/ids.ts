import { randomInt } from 'node:crypto';

const upper = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const mixed = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function pick(alphabet: string, length: number): string {
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/** `MD` + 12 upper-case characters, the shape of GoCardless ids (MD000AMA19XGEC). */
export const upperId = (prefix: string, length = 12): string => `${prefix}${pick(upper, length)}`;

/** `cus_` + 14 mixed-case characters, the shape of Stripe ids. */
export const mixedId = (prefix: string, length = 14): string => `${prefix}${pick(mixed, length)}`;

/** Lower-case hexadecimal, e.g. Recurly's 13-character ids or a UUID-like token. */
export const hexId = (length: number): string => pick('0123456789abcdef', length);

/** Digits only, e.g. CCBill subscription ids. */
export const digitsId = (length: number): string => `${1 + randomInt(9)}${pick('0123456789', length - 1)}`;
