/** IPv4 addresses and subnets as numbers: parsing, containment, overlap. */
import {usageError} from '../errors.js'

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

export function isIpv4(s: string): boolean {
  return IPV4.test(s)
}

export function ipToInt(s: string): number {
  return s.split('.').reduce((n, o) => n * 256 + Number(o), 0)
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((b) => Math.floor(n / 2 ** b) % 256).join('.')
}

export interface Cidr {
  base: number
  prefix: number
}

/** 10.1.0.0/16; the host bits must be zero, as Docker requires. */
export function parseCidr(s: string, what = '--subnet'): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s)
  if (!m || !isIpv4(m[1]) || Number(m[2]) < 8 || Number(m[2]) > 30) throw usageError(`${what} "${s}" is not an IPv4 subnet`, 'give ADDRESS/PREFIX with a prefix from 8 to 30, e.g. 10.90.0.0/24')
  const c = {base: ipToInt(m[1]), prefix: Number(m[2])}
  if (c.base % size(c) !== 0) throw usageError(`${what} "${s}" has host bits set`, `use ${intToIp(c.base - (c.base % size(c)))}/${c.prefix}`)
  return c
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix)
}

export function cidrText(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + size(c)
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a)
}

/** A usable host address of c: not the network or broadcast address. */
export function isHost(c: Cidr, ip: number): boolean {
  return contains(c, ip) && ip !== c.base && ip !== c.base + size(c) - 1
}
