/** Content digests ("sha256:<64 hex>"), the only names the store gives to content. */
import {createHash, type Hash} from 'node:crypto'

import {refused} from './errors.js'

export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/

export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && DIGEST_RE.test(s)
}

/** Validates a digest taken from a manifest, an archive or a user; other algorithms are refused. */
export function checkDigest(s: unknown, where: string): string {
  if (isDigest(s)) return s
  throw refused(`${where}: "${String(s).slice(0, 80)}" is not a sha256 digest`, 'digests are "sha256:" and 64 lower-case hex digits; lab reads no other algorithm')
}

export function hexOf(digest: string): string {
  return digest.slice('sha256:'.length)
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

export function hasher(): Hash {
  return createHash('sha256')
}
