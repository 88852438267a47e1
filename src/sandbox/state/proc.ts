/** Reading /proc: process identity (pid + start time survives pid reuse) and namespaces. */
import {readFileSync, readdirSync, statSync} from 'node:fs'

/** Field 22 of /proc/PID/stat (clock ticks since boot); 0 when the process is gone. */
export function processStartTime(pid: number): number {
  if (!Number.isInteger(pid) || pid <= 0) return 0
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return Number(rest[22 - 3])
  } catch {
    return 0
  }
}

/** A zombie is not alive: where nothing reaps it (an init that does not), a killed
 * supervisor stays one, with its start time. */
export function isAlive(pid: number, start: number): boolean {
  if (start <= 0 || processStartTime(pid) !== start) return false
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return s[s.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return false
  }
}

export interface ProcInfo {
  pid: number
  ppid: number
  uid: number
  state: string
  utimeTicks: number
  stimeTicks: number
  rssBytes: number
  cmd: string
}

export function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1)
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0)
    let cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')
    if (!cmd) cmd = `[${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}]`
    return {pid, ppid: Number(rest[1]), uid, state: rest[0], utimeTicks: Number(rest[11]), stimeTicks: Number(rest[12]), rssBytes: rssKb * 1024, cmd}
  } catch {
    return null
  }
}

/** Host pids of every process in the same pid namespace as pid. */
export function pidsInNamespaceOf(pid: number): number[] {
  let ino: number
  try {
    ino = statSync(`/proc/${pid}/ns/pid`).ino
  } catch {
    return []
  }
  const out: number[] = []
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      if (statSync(`/proc/${p}/ns/pid`).ino === ino) out.push(Number(p))
    } catch {}
  }
  return out.sort((a, b) => a - b)
}
