import ipaddr from 'ipaddr.js';
import { VerificationError } from './types';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/** A dotted-quad IPv4 or an IPv6 address, as sockets and proxies write them; never `127.1` or `0x7f.0.0.1`. */
function parseAddress(text: string): Address | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  // `process` turns an IPv4-mapped IPv6 address (`::ffff:64.38.212.1`, a dual-stack socket) into IPv4.
  if (ipaddr.IPv6.isValid(text)) return ipaddr.process(text);
  return undefined;
}

function parseRange(entry: string): Range {
  const slash = entry.indexOf('/');
  const address = parseAddress(slash < 0 ? entry : entry.slice(0, slash));
  if (address === undefined) throw new Error(`"${entry}" is not an IP address or CIDR range`);
  const maxBits = address.kind() === 'ipv4' ? 32 : 128;
  if (slash < 0) return [address, maxBits];
  const bits = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > maxBits) throw new Error(`"${entry}" has an invalid prefix length`);
  return [address, Number(bits)];
}

/** Parses `a.b.c.d`, `a.b.c.d/n` and IPv6 forms; throws naming the first bad entry. */
export function parseIpAllowList(entries: readonly string[]): Range[] {
  return entries.map(parseRange);
}

const parsed = new WeakMap<readonly string[], Range[]>();

function rangesOf(entries: readonly string[]): Range[] {
  let ranges = parsed.get(entries);
  if (ranges === undefined) {
    ranges = parseIpAllowList(entries);
    parsed.set(entries, ranges);
  }
  return ranges;
}

export function isAllowedIp(ip: string, allowed: readonly string[]): boolean {
  const address = parseAddress(ip);
  if (address === undefined) return false;
  return rangesOf(allowed).some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
}

/**
 * Throws a 403 unless `ip` (the client address the receiver trusts: the socket's, or the one the
 * trusted proxies saw) lies in one of the allowed ranges.
 */
export function verifySourceIp(ip: string, allowed: readonly string[], what: string): void {
  if (allowed.length === 0) throw new VerificationError(403, `${what} source-IP allow-list is empty`);
  if (!isAllowedIp(ip, allowed)) throw new VerificationError(403, `source IP ${ip.slice(0, 64) || '(none)'} is not in the ${what} allow-list`);
}
