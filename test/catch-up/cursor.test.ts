import { describe, expect, it } from 'vitest';
import { cursorMarginMs, nextCursor, type CatchUpCursor } from '../../src/catch-up/sweep';

const at = (iso: string) => Date.parse(iso);
const logged = (id: string, iso: string) => ({ id, createdAtMs: at(iso), body: '{}' });

describe('the catch-up cursor', () => {
  const start: CatchUpCursor = { since: '2026-12-01T10:00:00.000Z', seen: [] };

  it('stays a margin behind the newest event, keeping the ids inside the margin so that none is handed on twice', () => {
    const cursor = nextCursor(start, [logged('a', '2026-12-01T10:01:00Z'), logged('b', '2026-12-01T10:09:00Z'), logged('c', '2026-12-01T10:10:00Z')]);
    expect(cursor.since).toBe(new Date(at('2026-12-01T10:10:00Z') - cursorMarginMs).toISOString());
    expect(cursor.seen.sort()).toEqual(['b', 'c']);
  });

  it('never moves back, and keeps what it had seen when nothing new was listed', () => {
    const cursor = { since: '2026-12-01T10:08:00.000Z', seen: ['b', 'c'] };
    expect(nextCursor(cursor, [])).toEqual(cursor);
    expect(nextCursor(cursor, [logged('b', '2026-12-01T10:09:00Z'), logged('c', '2026-12-01T10:10:00Z')])).toEqual(cursor);
  });

  it('drops ids the margin has passed', () => {
    const cursor = nextCursor({ since: '2026-12-01T10:08:00.000Z', seen: ['b', 'c'] }, [logged('b', '2026-12-01T10:09:00Z'), logged('c', '2026-12-01T10:10:00Z'), logged('d', '2026-12-01T10:30:00Z')]);
    expect(cursor).toEqual({ since: new Date(at('2026-12-01T10:30:00Z') - cursorMarginMs).toISOString(), seen: ['d'] });
  });
});
