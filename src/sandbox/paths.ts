/** Guards for paths that come from users, labs, jobs or submissions. */
import {usageError} from '../errors.js'

/** True for "/a/b": absolute, no empty, "." or ".." components, no NUL, no trailing slash. */
export function isCleanAbsolute(p: string): boolean {
  if (!p.startsWith('/') || p.includes('\0')) return false
  if (p === '/') return true
  if (p.endsWith('/')) return false
  return p.slice(1).split('/').every((c) => c !== '' && c !== '.' && c !== '..')
}

/** Normalises "//a/./b/" to "/a/b" but refuses ".." outright (never resolve it lexically). */
export function cleanDestination(p: string, what: string): string {
  if (!p.startsWith('/')) throw usageError(`${what} "${p}" is not an absolute path`, 'use a path inside the sandbox that starts with /')
  if (p.includes('\0')) throw usageError(`${what} contains a NUL byte`)
  const parts = p.split('/').filter((c) => c !== '' && c !== '.')
  if (parts.includes('..')) throw usageError(`${what} "${p}" contains ".."`, 'write the path without ".." components')
  return '/' + parts.join('/')
}

/** Is `p` equal to or below `dir`? Both clean absolute. */
export function isWithin(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(dir + '/')
}
