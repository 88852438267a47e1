/**
 * Image references as Docker reads them (the distribution project's grammar):
 * [DOMAIN[:PORT]/]PATH[:TAG][@DIGEST]. A name without a domain is on docker.io, and a
 * one-part name there is under library/ ("busybox" is docker.io/library/busybox); a
 * reference with neither tag nor digest means ":latest". Names are shown the short way
 * Docker shows them ("busybox", "localhost:5000/app").
 */
import {usageError} from '../errors.js'
import {isDigest} from './digest.js'

export interface Reference {
  /** registry host[:port], e.g. "docker.io", "127.0.0.1:5000" */
  domain: string
  /** repository path on that registry, e.g. "library/busybox" */
  path: string
  tag?: string
  digest?: string
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/
export const DEFAULT_DOMAIN = 'docker.io'

function bad(ref: string, why: string): never {
  throw usageError(`invalid image reference "${ref.slice(0, 200)}": ${why}`, 'write NAME[:TAG] or NAME@sha256:DIGEST, e.g. busybox:1.36 or localhost:5000/app:v1')
}

export function parseReference(ref: string): Reference {
  if (ref.length === 0) bad(ref, 'it is empty')
  if (ref.length > 4096) bad(ref, 'it is too long')
  let rest = ref
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!isDigest(digest)) bad(ref, 'the part after "@" is not a sha256 digest')
  }
  let tag: string | undefined
  const slash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  if (colon > slash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) bad(ref, `"${tag}" is not a valid tag (letters, digits, "_", "." and "-", at most 128)`)
  }
  const parts = rest.split('/')
  let domain = DEFAULT_DOMAIN
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost' || /[A-Z]/.test(parts[0]))) {
    domain = parts.shift()!
    if (!DOMAIN.test(domain)) bad(ref, `"${domain}" is not a valid registry host`)
  }
  for (const p of parts) if (!COMPONENT.test(p)) bad(ref, p === '' ? 'a path part is empty' : `"${p}" is not a valid name part (lower-case letters, digits and single separators . _ __ -)`)
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN
  if (domain === DEFAULT_DOMAIN && parts.length === 1) parts.unshift('library')
  const path = parts.join('/')
  if (domain.length + path.length + 1 > 255) bad(ref, 'the name is longer than 255 characters')
  return {domain, path, ...(tag !== undefined ? {tag} : {}), ...(digest !== undefined ? {digest} : {}), ...(tag === undefined && digest === undefined ? {tag: 'latest'} : {})}
}

/** docker.io/library/busybox → busybox; docker.io/me/app → me/app; others in full. */
export function familiarName(r: Pick<Reference, 'domain' | 'path'>): string {
  if (r.domain !== DEFAULT_DOMAIN) return `${r.domain}/${r.path}`
  return r.path.startsWith('library/') && r.path.split('/').length === 2 ? r.path.slice('library/'.length) : r.path
}

/** The canonical "domain/path" key the store files tags under. */
export function repositoryOf(r: Pick<Reference, 'domain' | 'path'>): string {
  return `${r.domain}/${r.path}`
}

export function taggedName(r: Reference): string {
  return `${repositoryOf(r)}:${r.tag ?? 'latest'}`
}

/** "busybox:latest" for a stored "docker.io/library/busybox:latest". */
export function familiarTagged(canonical: string): string {
  const colon = canonical.lastIndexOf(':')
  const repo = canonical.slice(0, colon)
  const slash = repo.indexOf('/')
  return `${familiarName({domain: repo.slice(0, slash), path: repo.slice(slash + 1)})}${canonical.slice(colon)}`
}

export function familiarDigested(canonical: string): string {
  const at = canonical.indexOf('@')
  const repo = canonical.slice(0, at)
  const slash = repo.indexOf('/')
  return `${familiarName({domain: repo.slice(0, slash), path: repo.slice(slash + 1)})}${canonical.slice(at)}`
}
