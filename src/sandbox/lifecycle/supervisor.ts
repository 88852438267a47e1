/**
 * Talking to a running sandbox's supervisor (src/sandbox-native/detach.c) over its
 * control socket, RUN_DIR/ctl: one request line ("kill SIG", "stop GRACE_MS",
 * "status"), one reply line. Also the texts the signal and restart verbs take.
 */
import {existsSync} from 'node:fs'
import {connect} from 'node:net'
import {constants} from 'node:os'

import {usageError} from '../../errors.js'
import type {RestartPolicyName, SandboxRecord} from '../state/store.js'

/** Signals that end a paused sandbox: it is thawed first, or it would not die. */
export const STOP_SIGNALS = new Set([constants.signals.SIGKILL, constants.signals.SIGTERM])

/** One request line to a supervisor; null when it is not there (gone or never started). */
export function askSupervisor(socketPath: string, line: string, timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    if (!existsSync(socketPath)) return resolve(null)
    const s = connect(socketPath)
    let reply = ''
    const done = (v: string | null) => {
      clearTimeout(timer)
      s.destroy()
      resolve(v)
    }
    const timer = setTimeout(() => done(null), timeoutMs)
    s.setEncoding('utf8')
    s.on('connect', () => s.write(line + '\n'))
    s.on('data', (d: string) => {
      reply += d
      if (reply.includes('\n')) done(reply.trim())
    })
    s.on('error', () => done(null))
    s.on('end', () => done(reply ? reply.trim() : null))
  })
}

export function parseRestartPolicy(value: string | undefined): SandboxRecord['restart'] {
  if (value === undefined || value === '') return {name: 'no', maximumRetryCount: 0}
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d{1,6}))?$/.exec(value)
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) {
    throw usageError(`invalid --restart "${value}"`, 'use no, on-failure[:MAX-RETRIES], always or unless-stopped')
  }
  return {name: m[1] as RestartPolicyName, maximumRetryCount: m[2] ? Number(m[2]) : 0}
}

/** SIGTERM, TERM, 15 → 15. */
export function parseSignal(value: string): number {
  const v = value.trim().toUpperCase()
  if (/^\d+$/.test(v)) {
    const n = Number(v)
    if (n >= 1 && n <= 64) return n
  } else {
    const name = v.startsWith('SIG') ? v : `SIG${v}`
    const n = (constants.signals as Record<string, number>)[name]
    if (n) return n
  }
  throw usageError(`invalid signal "${value}"`, 'use a name like TERM, SIGKILL or HUP, or a number from 1 to 64')
}
