import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { definedOnly, isoFromSeconds, isoFromUnixSeconds } from '../../src/providers/payload';
import { MalformedPayloadError } from '../../src/providers/types';

describe('isoFromSeconds', () => {
  const asDate = (seconds: number): string => new Date(seconds * 1000).toISOString();

  it('writes what Date#toISOString writes, for every second from 1970 to 9999', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 253_402_300_799 }), (seconds) => isoFromSeconds(seconds) === asDate(seconds)), { numRuns: 20_000 });
  });

  it('agrees on the edges: epoch, leap days, century years, the last second of 9999', () => {
    for (const iso of ['1970-01-01T00:00:00.000Z', '2000-02-29T23:59:59.000Z', '2100-03-01T00:00:00.000Z', '2024-02-29T12:00:00.000Z', '2400-02-29T00:00:00.000Z', '9999-12-31T23:59:59.000Z']) {
      expect(isoFromSeconds(Date.parse(iso) / 1000)).toBe(iso);
    }
  });

  it('leaves fractions, times before 1970 and after 9999 to Date', () => {
    for (const seconds of [1.5, -1, -86_400 * 365, 253_402_300_800, 8.64e12]) expect(isoFromSeconds(seconds)).toBe(asDate(seconds));
    expect(() => isoFromSeconds(1e300)).toThrow(MalformedPayloadError);
  });

  it('keeps null and absent as they are', () => {
    expect(isoFromUnixSeconds(null)).toBeNull();
    expect(isoFromUnixSeconds(undefined)).toBeUndefined();
    expect(isoFromUnixSeconds(0)).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('definedOnly', () => {
  it('drops undefined fields and keeps null, false, 0 and empty strings', () => {
    expect(definedOnly({ a: undefined, b: null, c: false, d: 0, e: '', f: 'x' })).toEqual({ b: null, c: false, d: 0, e: '', f: 'x' });
    expect(Object.keys(definedOnly({ a: undefined }))).toEqual([]);
  });
});
