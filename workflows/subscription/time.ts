/** Compares two times (or dates); strings that are not times compare as text. */
function compare(a: string, b: string): number {
  const [x, y] = [Date.parse(a), Date.parse(b)];
  if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isBefore(a: string, b: string): boolean {
  return compare(a, b) < 0;
}

export function isAfter(a: string, b: string): boolean {
  return compare(a, b) > 0;
}

export function laterOf(a: string | undefined, b: string): string {
  return a === undefined || isBefore(a, b) ? b : a;
}
