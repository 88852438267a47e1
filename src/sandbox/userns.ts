/**
 * User remapping. As root, every sandbox gets its own user namespace mapped onto a
 * distinct range of 65536 host ids taken from a pool, so root inside is never root
 * outside. The pool is the `lab` entry of /etc/subuid (and /etc/subgid) when there is
 * one, otherwise DEFAULT_POOL. The helper takes a free range by locking a slot file in
 * POOL_LOCK_DIR for the sandbox's life (the kernel drops the lock when the helper dies,
 * so a crash frees the range too). Without root, the caller's own uid/gid is mapped to
 * the sandbox user (rootless mode).
 */
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {userInfo} from 'node:os'

import {usageError} from '../errors.js'

export type UsernsMode = 'private' | 'host'

export const RANGE_SIZE = 65536
/** 1e9 upwards: far above ordinary users and system ids; 4096 ranges. */
export const DEFAULT_POOL = {base: 1_000_000_000, count: 4096}
/** Machine-wide (not per state dir): two state dirs must never hand out the same range. */
export const POOL_LOCK_DIR = '/run/lab/idpool'

export interface IdPool {
  base: number
  count: number
  source: string
}

function subidEntry(file: string, name: string): {start: number; count: number} | null {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return null
  }
  for (const line of text.split('\n')) {
    const [user, start, count] = line.trim().split(':')
    if (user === name && /^\d+$/.test(start ?? '') && /^\d+$/.test(count ?? '')) return {start: Number(start), count: Number(count)}
  }
  return null
}

let poolCache: IdPool | null = null

/** The pool of host id ranges (read once per process). */
export function idPool(): IdPool {
  if (poolCache) return poolCache
  const u = subidEntry('/etc/subuid', 'lab')
  const g = subidEntry('/etc/subgid', 'lab')
  if (u && g && u.start === g.start && u.count >= RANGE_SIZE && g.count >= RANGE_SIZE) {
    poolCache = {base: u.start, count: Math.floor(Math.min(u.count, g.count) / RANGE_SIZE), source: '/etc/subuid and /etc/subgid entry "lab"'}
  } else {
    poolCache = {...DEFAULT_POOL, source: 'default pool'}
  }
  return poolCache
}

export interface RootlessRanges {
  uid: {start: number; count: number}
  gid: {start: number; count: number}
  newuidmap: string
  newgidmap: string
}

let rootlessCache: RootlessRanges | null | undefined

/**
 * Rootless with subordinate ids: the caller's /etc/subuid and /etc/subgid entries (at
 * most 65535 ids each, so the sandbox has 65536 users) and shadow's newuidmap and
 * newgidmap to write them. Null when any piece is missing: then only the caller's own
 * id is mapped, to the sandbox user.
 */
export function rootlessRanges(): RootlessRanges | null {
  if (rootlessCache !== undefined) return rootlessCache
  rootlessCache = null
  let name: string
  try {
    name = userInfo().username
  } catch {
    return null
  }
  const tool = (n: string) => ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].map((d) => `${d}/${n}`).find((p) => existsSync(p))
  const newuidmap = tool('newuidmap')
  const newgidmap = tool('newgidmap')
  const u = subidEntry('/etc/subuid', name) ?? subidEntry('/etc/subuid', String(process.getuid?.()))
  const g = subidEntry('/etc/subgid', name) ?? subidEntry('/etc/subgid', String(process.getuid?.()))
  if (newuidmap && newgidmap && u && g && u.count > 0 && g.count > 0) {
    rootlessCache = {uid: {start: u.start, count: Math.min(u.count, RANGE_SIZE - 1)}, gid: {start: g.start, count: Math.min(g.count, RANGE_SIZE - 1)}, newuidmap, newgidmap}
  }
  return rootlessCache
}

let lockDirReady = false

export function ensurePoolLockDir(): void {
  if (lockDirReady) return
  mkdirSync(POOL_LOCK_DIR, {recursive: true, mode: 0o700})
  lockDirReady = true
}

export function parseUsernsOption(value: string | undefined): UsernsMode {
  if (value === undefined || value === '' || value === 'private') return 'private'
  if (value === 'host') return 'host'
  throw usageError(`invalid --userns "${value}"`, 'use --userns=private (the default: root inside is not root outside) or --userns=host')
}
