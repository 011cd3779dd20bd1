import { ApplicationFailure } from '@temporalio/common';
import { XMLParser } from 'fast-xml-parser';
import { failureFromErrorAnswer, failureFromMalformedAnswer } from '../http/failures';
import { invalidInput, missingConfiguration, sendProviderRequest } from '../http/request';

/*
 * CCBill DataLink's subscription management script: one GET with the merchant's credentials in
 * the query string, an answer of XML (`returnXML=1`) or two CSV lines, and errors reported as a
 * negative `results` code inside an HTTP 200. There is no SDK and no idempotency key, so a cancel
 * reads the status first and acts only on a subscription that still renews.
 * The query string holds the password: operations and failures name only the action.
 */

const PROVIDER = 'CCBill';

export interface CCBillOptions {
  /** `https://datalink.ccbill.com/utils/subscriptionManagement.cgi`, or a local sandbox. */
  datalinkUrl: string;
  username: string;
  password: string;
  /** The 6-digit main account number. */
  clientAccnum: string;
  /** The 4-digit sub-account; absent for calls on the main account. */
  clientSubacc?: string;
  /** Per HTTP call; keep it under the activity's start-to-close timeout. */
  timeoutMs?: number;
}

/**
 * `active`: renews; `cancelled`: will not renew, usable until `expirationDate`; `inactive`: over.
 * CCBill's own codes are 2, 1 and 0.
 */
export type CCBillSubscriptionState = 'active' | 'cancelled' | 'inactive';

export interface CCBillSubscriptionStatus {
  subscriptionId: string;
  status: CCBillSubscriptionState;
  statusCode: number;
  recurring: boolean;
  /** ISO dates (CCBill sends `YYYYMMDD`), absent when CCBill left them empty. */
  signupDate?: string;
  cancelDate?: string;
  expirationDate?: string;
  nextRenewalDate?: string;
  timesRebilled?: number;
}

/** DataLink's documented error codes; the rest fail for good under their number. */
const errorCodes: Record<string, { type: string; message: string; retryAfterMs?: number }> = {
  '0': { type: 'action_failed', message: 'the requested action failed' },
  '-1': { type: 'authentication_failed', message: 'the credentials were invalid or missing' },
  '-2': { type: 'invalid_subscription', message: 'the subscription id is invalid or not supported by this action' },
  '-3': { type: 'subscription_not_found', message: 'no record was found for the subscription' },
  '-4': { type: 'wrong_account', message: 'the subscription does not belong to this account' },
  '-5': { type: 'invalid_arguments', message: 'the arguments for the action were invalid or missing' },
  '-6': { type: 'invalid_action', message: 'the requested action was invalid' },
  '-7': { type: 'internal_error', message: 'an internal or database error stopped the action', retryAfterMs: 0 },
  '-8': { type: 'ip_not_allowed', message: 'this IP address is not allowed to use DataLink' },
  '-9': { type: 'not_permitted', message: 'the account may not use DataLink or this action' },
  '-10': { type: 'datalink_not_set_up', message: 'the account is not set up for DataLink' },
  // Locked out after repeated failed logins; the lock lifts within the hour.
  '-12': { type: 'login_locked', message: 'too many failed logins in the last hour', retryAfterMs: 60 * 60 * 1000 },
};

const xml = new XMLParser({ parseTagValue: false, trimValues: true });

export function createCCBillActivities(options: CCBillOptions) {
  const call = ccbillCaller(options);

  async function viewStatus(subscriptionId: string): Promise<CCBillSubscriptionStatus> {
    const fields = await call('viewSubscriptionStatus', subscriptionId);
    if (typeof fields === 'string') {
      throw failureFromMalformedAnswer(PROVIDER, 'viewSubscriptionStatus', `a bare result "${fields}" instead of the subscription's fields`, false);
    }
    return toStatus(subscriptionId, fields);
  }

  return {
    viewCCBillSubscriptionStatus: viewStatus,
    /**
     * Stops renewal. CCBill lets a cancelled subscription run to its expiration date; one that
     * is already cancelled or over is returned as it is.
     */
    async cancelCCBillSubscription(input: { subscriptionId: string }): Promise<CCBillSubscriptionStatus> {
      const current = await viewStatus(input.subscriptionId);
      if (current.status !== 'active') return current;
      const result = await call('cancelSubscription', input.subscriptionId);
      if (result !== '1') throw failureFromMalformedAnswer(PROVIDER, 'cancelSubscription', 'no success code', false);
      return viewStatus(input.subscriptionId);
    },
  };
}

function toStatus(subscriptionId: string, fields: Record<string, string>): CCBillSubscriptionStatus {
  const statusCode = Number(fields.subscriptionStatus);
  if (![0, 1, 2].includes(statusCode)) {
    throw failureFromMalformedAnswer(PROVIDER, 'viewSubscriptionStatus', `unknown subscriptionStatus "${fields.subscriptionStatus ?? ''}"`, false);
  }
  const status: CCBillSubscriptionState = statusCode === 2 ? 'active' : statusCode === 1 ? 'cancelled' : 'inactive';
  const timesRebilled = fields.timesRebilled ? Number(fields.timesRebilled) : undefined;
  return {
    subscriptionId,
    status,
    statusCode,
    recurring: fields.recurringSubscription === '1',
    ...optionalDate('signupDate', fields.signupDate),
    ...optionalDate('cancelDate', fields.cancelDate),
    ...optionalDate('expirationDate', fields.expirationDate),
    ...optionalDate('nextRenewalDate', fields.nextRenewalDate),
    ...(timesRebilled === undefined || Number.isNaN(timesRebilled) ? {} : { timesRebilled }),
  };
}

/** `20250131` or `20250131123000` → ISO; anything else is kept as CCBill wrote it. */
function optionalDate<Key extends string>(key: Key, value: string | undefined): Partial<Record<Key, string>> {
  if (!value) return {};
  const match = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?$/.exec(value);
  if (!match) return { [key]: value } as Record<Key, string>;
  const [, year, month, day, hour = '00', minute = '00', second = '00'] = match;
  return { [key]: `${year}-${month}-${day}T${hour}:${minute}:${second}Z` } as Record<Key, string>;
}

function ccbillCaller({ datalinkUrl, username, password, clientAccnum, clientSubacc, timeoutMs = 10_000 }: CCBillOptions) {
  /** The subscription's fields, or the bare `results` value an action answers with. */
  return async function call(action: 'viewSubscriptionStatus' | 'cancelSubscription', subscriptionId: string): Promise<Record<string, string> | string> {
    const operation = `${action} ${subscriptionId}`;
    if (!username || !password || !clientAccnum) {
      throw missingConfiguration(PROVIDER, action, 'DataLink (CCBILL_DATALINK_USERNAME, CCBILL_DATALINK_PASSWORD, CCBILL_CLIENT_ACCNUM)');
    }
    if (!/^\d+$/.test(subscriptionId)) throw invalidInput(`${PROVIDER} subscription ids are numeric, got "${subscriptionId}"`);
    const url = new URL(datalinkUrl);
    url.search = new URLSearchParams({
      clientAccnum,
      ...(clientSubacc ? { clientSubacc, usingSubacc: clientSubacc } : {}),
      username,
      password,
      action,
      subscriptionId,
      returnXML: '1',
    }).toString();

    const answer = await sendProviderRequest({ provider: PROVIDER, operation, method: 'GET', url: url.toString(), headers: {}, timeoutMs });
    if (!answer.ok) {
      throw failureFromErrorAnswer({ provider: PROVIDER, operation, status: answer.status, headers: answer.headers, errorMessage: answer.text.trim().slice(0, 200) || undefined });
    }
    const results = parseResults(answer.text);
    if (results === undefined) {
      // A proxy's page or a cut answer may not happen again.
      throw failureFromMalformedAnswer(PROVIDER, operation, 'neither DataLink XML nor CSV', true);
    }
    if (typeof results === 'string' && /^-?\d+$/.test(results) && results !== '1') throw dataLinkFailure(operation, results);
    if (typeof results !== 'string' && results.results !== undefined && results.results !== '1') throw dataLinkFailure(operation, results.results);
    return results;
  };
}

function dataLinkFailure(operation: string, code: string): ApplicationFailure {
  const known = errorCodes[code];
  const message = `${PROVIDER} ${operation} answered ${code}: ${known?.message ?? 'an undocumented error'}`;
  const type = known?.type ?? `datalink_error_${code.replace('-', 'minus_')}`;
  if (known?.retryAfterMs === undefined) return ApplicationFailure.create({ message, type, nonRetryable: true, details: [{ provider: PROVIDER, code }] });
  return ApplicationFailure.create({
    message,
    type,
    nonRetryable: false,
    details: [{ provider: PROVIDER, code }],
    nextRetryDelay: known.retryAfterMs || undefined,
  });
}

/**
 * `<results>1</results>` → `'1'`; `<results><subscriptionStatus>2</subscriptionStatus>…</results>`
 * → its fields; CSV (`"field",…` then `"value",…`) likewise; anything else → undefined.
 */
function parseResults(text: string): Record<string, string> | string | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('<')) {
    let document: unknown;
    try {
      document = xml.parse(trimmed);
    } catch {
      return undefined;
    }
    const results = (document as { results?: unknown }).results;
    if (typeof results === 'string' || typeof results === 'number') return String(results).trim();
    if (results && typeof results === 'object') {
      return Object.fromEntries(Object.entries(results).map(([name, value]) => [name, typeof value === 'string' ? value : '']));
    }
    return undefined;
  }
  const [header, values] = trimmed.split(/\r?\n/).map(csvRow);
  if (!header || !values || header.length !== values.length) return undefined;
  const fields = Object.fromEntries(header.map((name, index) => [name, values[index] ?? '']));
  return header.length === 1 && header[0] === 'results' ? (fields.results ?? '') : fields;
}

function csvRow(line: string): string[] {
  return line.split(',').map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
}
