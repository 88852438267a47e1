/**
 * A small exclusive lock for one sandbox's transitions (start, remove, rename): a file
 * created with O_EXCL holding the owner's pid and start time. A lock whose owner is
 * gone (a CLI killed with -9) is stale and taken over.
 */
import {readFileSync, rmSync, writeFileSync} from 'node:fs'

import {LabError} from '../../errors.js'
import {processStartTime} from './proc.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function ownerAlive(path: string): boolean {
  try {
    const [pid, start] = readFileSync(path, 'utf8').trim().split(' ').map(Number)
    return processStartTime(pid) === start
  } catch {
    return false
  }
}

export async function withLock<T>(path: string, what: string, fn: () => Promise<T>, waitMs = 15_000): Promise<T> {
  const me = `${process.pid} ${processStartTime(process.pid)}\n`
  const end = Date.now() + waitMs
  for (;;) {
    try {
      writeFileSync(path, me, {flag: 'wx', mode: 0o600})
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      if (!ownerAlive(path)) {
        // a stale lock; only one of several racing takers removes the right file
        try {
          if (!ownerAlive(path)) rmSync(path, {force: true})
        } catch {}
        continue
      }
      if (Date.now() > end) throw new LabError('busy', `${what} is busy: another lab command is changing it`, {hint: 'try again in a moment'})
      await sleep(20 + Math.random() * 30)
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(path, {force: true})
  }
}
