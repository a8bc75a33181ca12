/**
 * Where an outbound request may go: the one rule, judged on the address actually connected
 * to (client.ts resolves, checks, then connects to what it checked). By default only public
 * addresses over https; SCOPEGATE_ALLOW_PRIVATE_TARGETS opens loopback and private ranges,
 * SCOPEGATE_OUTBOUND_ALLOW opens listed hosts and ranges (plain http included for both).
 * Link-local, cloud metadata and other special-purpose addresses stay closed whatever is set.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface AllowList {
  /** Host names, lower case, opened whatever they resolve to (except `never` addresses). */
  hosts: string[];
  /** Address ranges; a single address is a /32 or /128. */
  ranges: Array<[Address, number]>;
}

export interface OutboundPolicy {
  allowPrivate: boolean;
  allow: AllowList;
}

export const outboundPolicy = (config: Config): OutboundPolicy => ({
  allowPrivate: config.SCOPEGATE_ALLOW_PRIVATE_TARGETS,
  allow: config.SCOPEGATE_OUTBOUND_ALLOW,
});

/** Why a destination is refused; each has one message (refusalMessage). */
export type Refusal = 'never' | 'internal' | 'plain-http';

// Instance-metadata services outside link-local (AWS IPv6, Alibaba, Azure wire server, Oracle).
const METADATA = ['fd00:ec2::254', '100.100.100.200', '168.63.129.16', '192.0.0.192'].map((a) => ipaddr.parse(a).toNormalizedString());
// The internal ranges a setting can open; every other special-purpose range is never reachable.
const INTERNAL = new Set(['loopback', 'private', 'uniqueLocal', 'carrierGradeNat']);
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

/** public, internal (a setting may open it) or never; IPv4-mapped IPv6 is judged as its IPv4 address. */
export function classify(address: string): 'public' | 'internal' | 'never' {
  const ip = ipaddr.process(address);
  if (METADATA.includes(ip.toNormalizedString())) return 'never';
  const range = ip.range();
  if (INTERNAL.has(range)) return 'internal';
  if (range !== 'unicast') return 'never';
  // Outside 2000::/3 nothing is routable on the internet (and ::a.b.c.d is an old IPv4 embedding).
  if (ip.kind() === 'ipv6' && !ip.match(GLOBAL_UNICAST_V6)) return 'never';
  return 'public';
}

/** Why `protocol` to `hostname`, connecting to `address`, is refused; undefined when it is allowed. */
export function refusalFor(policy: OutboundPolicy, protocol: string, hostname: string, address: string): Refusal | undefined {
  const kind = classify(address);
  if (kind === 'never') return 'never';
  const opened = isListed(policy.allow, hostname, address) || (kind === 'internal' && policy.allowPrivate);
  if (kind === 'internal' && !opened) return 'internal';
  if (protocol !== 'https:' && !opened) return 'plain-http';
  return undefined;
}

/**
 * The same rule at input time, without resolving names: an IP literal is judged as it is;
 * a name is judged when it is connected to, but plain http to a name needs the name listed.
 */
export function inputRefusal(policy: OutboundPolicy, url: URL): Refusal | undefined {
  const hostname = bareHost(url.hostname);
  if (isIP(hostname)) return refusalFor(policy, url.protocol, hostname, hostname);
  return url.protocol === 'http:' && !policy.allow.hosts.includes(hostname) ? 'plain-http' : undefined;
}

/** What the caller reads: the setting that would allow it, never the address a name resolved to. */
export function refusalMessage(refusal: Refusal, service: string): string {
  switch (refusal) {
    case 'never':
      return `scopegate does not contact ${service}: its address is link-local, cloud metadata or otherwise reserved, which no setting allows`;
    case 'internal':
      return (
        `scopegate does not contact ${service}: its address is internal (loopback or private network); ` +
        'list the host in SCOPEGATE_OUTBOUND_ALLOW to allow it (SCOPEGATE_ALLOW_PRIVATE_TARGETS=true opens all internal addresses, for development)'
      );
    case 'plain-http':
      return `scopegate does not contact ${service} over plain http: use https, or list the host in SCOPEGATE_OUTBOUND_ALLOW`;
  }
}

function isListed(allow: AllowList, hostname: string, address: string): boolean {
  if (allow.hosts.includes(bareHost(hostname))) return true;
  const ip = ipaddr.process(address);
  return allow.ranges.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits));
}

/** "[::1]" -> "::1", "Example.COM." -> "example.com". */
function bareHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/**
 * SCOPEGATE_OUTBOUND_ALLOW: comma-separated host names, addresses and CIDR ranges.
 * Throws a message naming the entry at fault.
 */
export function parseAllowList(text: string): AllowList {
  const allow: AllowList = { hosts: [], ranges: [] };
  for (const entry of text.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean)) {
    const range = parseRange(entry);
    if (range) {
      if (classify(range[0].toString()) === 'never') {
        throw new Error(`"${entry}" is link-local, cloud metadata or reserved, which can never be allowed`);
      }
      allow.ranges.push(range);
    } else if (HOST_NAME.test(entry) && !/^[\d.]+$/.test(entry)) {
      allow.hosts.push(entry);
    } else {
      throw new Error(`"${entry}" is not a host name, an IP address or a CIDR range (e.g. registry.internal, 10.0.0.5, 10.1.0.0/16)`);
    }
  }
  return allow;
}

function parseRange(entry: string): [Address, number] | undefined {
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length) return undefined;
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(address);
  if (!v4 && !(address.includes(':') && ipaddr.IPv6.isValid(address))) return undefined;
  const max = v4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return [ipaddr.parse(address), prefix];
}
