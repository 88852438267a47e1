/** -u USER[:GROUP] resolved against the sandbox's own user database. */
import {usageError} from '../errors.js'
import type {GroupEntry, PasswdEntry} from './etc.js'

const MAX_ID = 4294967294

function parseId(s: string): number | null {
  if (!/^\d+$/.test(s)) return null
  const n = Number(s)
  return n <= MAX_ID ? n : null
}

export function resolveUser(spec: string, users: PasswdEntry[], groups: GroupEntry[]): {uid: number; gid: number; home: string} {
  if (spec === '' || spec.split(':').length > 2) throw usageError(`invalid user "${spec}"`, 'use -u UID[:GID] or -u NAME[:GROUP]')
  const [u, g] = spec.split(':')
  let uid: number
  let gid: number
  let home = '/'
  const byId = parseId(u)
  if (byId !== null) {
    uid = byId
    const entry = users.find((x) => x.uid === uid)
    gid = entry?.gid ?? uid
    home = entry?.home ?? '/tmp'
  } else {
    if (/^\d/.test(u)) throw usageError(`invalid user "${u}": uid out of range`, `use a uid from 0 to ${MAX_ID}`)
    const entry = users.find((x) => x.name === u)
    if (!entry) {
      throw usageError(`unknown user "${u}" in the sandbox`, `known users: ${users.map((x) => x.name).join(', ')}; or give a numeric uid`)
    }
    uid = entry.uid
    gid = entry.gid
    home = entry.home
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
  return {uid, gid, home}
}
