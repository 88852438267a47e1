/** -u USER[:GROUP] resolved against the sandbox's own user database. */
import {readFileSync} from 'node:fs'

import {usageError} from '../errors.js'
import {BASE_GROUPS, BASE_USERS, type GroupEntry, parseGroup, parsePasswd, type PasswdEntry} from './etc.js'

/**
 * The user database -u resolves against: an image's own /etc/passwd and /etc/group (the
 * topmost layer that has them; none: numeric ids only), a --rootfs directory's, or the
 * synthesized one of the host's root.
 */
export function userDatabase(root: {type: string; path?: string}, image?: {passwd?: string; group?: string}): {users: PasswdEntry[]; groups: GroupEntry[]} {
  if (image) return {users: image.passwd ? parsePasswd(image.passwd) : [], groups: image.group ? parseGroup(image.group) : []}
  if (root.type === 'dir' && root.path) {
    try {
      return {users: parsePasswd(readFileSync(`${root.path}/etc/passwd`, {encoding: 'utf8', flag: 'r'})), groups: parseGroup(readFileSync(`${root.path}/etc/group`, {encoding: 'utf8', flag: 'r'}))}
    } catch {
      /* a root without a user database: numeric ids still work */
    }
  }
  return {users: BASE_USERS, groups: BASE_GROUPS}
}

const MAX_ID = 4294967294

function parseId(s: string): number | null {
  if (!/^\d+$/.test(s)) return null
  const n = Number(s)
  return n <= MAX_ID ? n : null
}

/** The spec's limit on supplementary groups (what one sandbox process carries). */
const MAX_GROUPS = 64

/**
 * -u USER[:GROUP] → ids, home and supplementary groups. As runc resolves it for Docker:
 * a user found in the sandbox's passwd (by name or uid) without a group given gets the
 * groups of the sandbox's /etc/group that list it as a member; an explicit group (the
 * "USER:GROUP" form) means that group and no others.
 */
export function resolveUser(spec: string, users: PasswdEntry[], groups: GroupEntry[]): {uid: number; gid: number; home: string; groups: number[]} {
  if (spec === '' || spec.split(':').length > 2) throw usageError(`invalid user "${spec}"`, 'use -u UID[:GID] or -u NAME[:GROUP]')
  const [u, g] = spec.split(':')
  let uid: number
  let gid: number
  let home = '/'
  let name: string | undefined
  const byId = parseId(u)
  if (byId !== null) {
    uid = byId
    const entry = users.find((x) => x.uid === uid)
    gid = entry?.gid ?? uid
    home = entry?.home ?? '/tmp'
    name = entry?.name
  } else {
    if (/^\d/.test(u)) throw usageError(`invalid user "${u}": uid out of range`, `use a uid from 0 to ${MAX_ID}`)
    const entry = users.find((x) => x.name === u)
    if (!entry) {
      throw usageError(`unknown user "${u}" in the sandbox`, `known users: ${users.map((x) => x.name).join(', ')}; or give a numeric uid`)
    }
    uid = entry.uid
    gid = entry.gid
    home = entry.home
    name = entry.name
  }
  if (g !== undefined) {
    const gById = parseId(g)
    if (gById !== null) gid = gById
    else {
      if (g === '' || /^\d/.test(g)) throw usageError(`invalid group "${g}"`, `use a gid from 0 to ${MAX_ID} or a group name`)
      const entry = groups.find((x) => x.name === g)
      if (!entry) throw usageError(`unknown group "${g}" in the sandbox`, `known groups: ${groups.map((x) => x.name).join(', ')}; or give a numeric gid`)
      gid = entry.gid
    }
  }
  const extra = g === undefined && name !== undefined ? [...new Set(groups.filter((x) => x.members?.includes(name)).map((x) => x.gid))].slice(0, MAX_GROUPS) : []
  return {uid, gid, home, groups: extra}
}
