/** COPY --chown=USER[:GROUP]: ids for the files a COPY writes, read from the image's own files (never the host's). */
import {closeSync, constants, fstatSync, openSync, readSync} from 'node:fs'

import type {Owner} from './copy.js'
import {copyError, type ImageTree} from './tree.js'

/** --chown=USER[:GROUP]: numbers, or names of the image's own /etc/passwd and /etc/group. */
export function resolveOwner(spec: string, tree: ImageTree): Owner {
  const [u, g] = spec.split(':')
  const read = (path: string): string[][] => {
    try {
      const rel = tree.resolve(path, true)
      const e = tree.entry(rel)
      if (!e || !e.st.isFile()) return []
      const fd = openSync(e.abs, constants.O_RDONLY | constants.O_NOFOLLOW)
      try {
        const size = Math.min(fstatSync(fd).size, 4 << 20)
        const b = Buffer.alloc(size)
        readSync(fd, b, 0, size, 0)
        return b.toString('utf8').split('\n').map((l) => l.split(':'))
      } finally {
        closeSync(fd)
      }
    } catch {
      return []
    }
  }
  let uid: number
  let gid: number | undefined
  if (/^[0-9]+$/.test(u)) uid = Number(u)
  else {
    const ent = read('/etc/passwd').find((f) => f[0] === u)
    if (!ent) throw copyError(`--chown: no user "${u}" in the image's /etc/passwd`, 'give a numeric id, or add the user first (RUN adduser …)')
    uid = Number(ent[2])
    gid = Number(ent[3])
  }
  if (g !== undefined && g !== '') {
    if (/^[0-9]+$/.test(g)) gid = Number(g)
    else {
      const ent = read('/etc/group').find((f) => f[0] === g)
      if (!ent) throw copyError(`--chown: no group "${g}" in the image's /etc/group`, 'give a numeric id, or add the group first')
      gid = Number(ent[2])
    }
  }
  gid ??= uid
  if (!(uid >= 0 && uid <= 65535 && gid >= 0 && gid <= 65535)) throw copyError(`--chown=${spec}: ids are 0–65535 in an image`, 'give a smaller id')
  return {uid, gid}
}
