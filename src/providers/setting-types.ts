import { z } from 'zod';
import { parseBasicCredentialList } from './basic-auth';
import { parseIpAllowList } from './ip-allow-list';

/* The kinds of value providers' settings take, checked when the config loads. */

/** Comma-separated secrets; several are accepted at once so a secret can be rotated without downtime. */
export { commaList as secretList } from '../settings';

/** `user:password[,user:password…]`; several for rotation. Errors never repeat the value. */
export const credentialList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    try {
      return parseBasicCredentialList(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/** Comma-separated IPs and CIDR ranges; unset means the provider's published list. */
export const ipList = (published: readonly string[]) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      const entries = value === undefined ? [...published] : value.split(',').map((part) => part.trim()).filter(Boolean);
      try {
        parseIpAllowList(entries);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
      return entries;
    });

/** A signature's accepted age, in seconds, both ways. */
export const toleranceSeconds = z.coerce.number().int().positive().default(300);

/** An API's base URL, with the provider's production (or sandbox) API as default. */
export const apiUrl = (defaultUrl: string) => z.string().url().default(defaultUrl);
