/** A GoCardless list's refusal of its query, as the sandbox renders it. */
export interface GoCardlessListRefusal {
  status: 400 | 422;
  type: string;
  reason: string;
  message: string;
  field?: string;
}

/**
 * The query of a GoCardless list endpoint: every parameter one `known` matches, and `limit` a whole
 * number from 1 to 500 (50 by default); otherwise the refusal GoCardless answers.
 */
export function readListQuery(querystring: string, known: RegExp): { params: URLSearchParams; limit: number } | GoCardlessListRefusal {
  const params = new URLSearchParams(querystring);
  for (const name of new Set(params.keys())) {
    if (!known.test(name)) return { status: 400, type: 'invalid_api_usage', reason: 'invalid_parameter', message: `${name} is not a parameter of this endpoint` };
  }
  const limitText = params.get('limit');
  const limit = limitText === null ? 50 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) return invalidParameter('limit', 'must be a whole number from 1 to 500');
  return { params, limit };
}

/** A parameter's value GoCardless refuses: `validation_failed`, pointing at the parameter. */
export function invalidParameter(field: string, message: string): GoCardlessListRefusal {
  return { status: 422, type: 'validation_failed', reason: 'validation_failed', message, field };
}
