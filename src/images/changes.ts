/**
 * `--change` instructions for `lab image import` (and commit), as Docker reads them: the
 * Dockerfile instructions that set image attributes, one per flag —
 * CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR.
 */
import {usageError} from '../errors.js'
import type {RunConfig} from './oci.js'

const HINT = 'e.g. --change \'CMD ["sh"]\', --change \'ENV PATH=/bin\', --change \'WORKDIR /srv\'; one instruction per --change'

/** JSON array form (exec form) or a shell form run by /bin/sh -c. */
function command(args: string, what: string): string[] {
  const t = args.trim()
  if (t.startsWith('[')) {
    let v: unknown
    try {
      v = JSON.parse(t)
    } catch {
      throw usageError(`--change ${what}: ${t.slice(0, 80)} is not a JSON array of strings`, HINT)
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw usageError(`--change ${what}: give a JSON array of strings`, HINT)
    return v as string[]
  }
  if (t === '') throw usageError(`--change ${what} needs a command`, HINT)
  return ['/bin/sh', '-c', t]
}

/** "k=v k2=\"v 2\"" (or the old "k v" form) as pairs. */
function pairs(args: string, what: string): Array<[string, string]> {
  const t = args.trim()
  if (!t.includes('=')) {
    const sp = t.search(/\s/)
    if (sp <= 0) throw usageError(`--change ${what}: give KEY=VALUE`, HINT)
    return [[t.slice(0, sp), t.slice(sp).trim()]]
  }
  const out: Array<[string, string]> = []
  const re = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/gy
  let i = 0
  while (i < t.length) {
    while (t[i] === ' ' || t[i] === '\t') i++
    if (i >= t.length) break
    re.lastIndex = i
    const m = re.exec(t)
    if (!m) throw usageError(`--change ${what}: cannot read "${t.slice(i, i + 40)}" as KEY=VALUE`, HINT)
    out.push([m[1], m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4] ?? m[5] ?? ''])
    i = re.lastIndex
  }
  return out
}

export function applyChanges(base: RunConfig, changes: string[]): RunConfig {
  const c: RunConfig = structuredClone(base)
  for (const raw of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(raw)
    if (!m) throw usageError(`--change "${raw.slice(0, 80)}" is not an instruction`, HINT)
    const op = m[1].toUpperCase()
    const args = (m[2] ?? '').trim()
    switch (op) {
      case 'CMD':
        c.Cmd = command(args, op)
        break
      case 'ENTRYPOINT':
        c.Entrypoint = command(args, op)
        break
      case 'ENV': {
        const env = [...(c.Env ?? [])]
        for (const [k, v] of pairs(args, op)) {
          const i = env.findIndex((e) => e.split('=')[0] === k)
          if (i >= 0) env[i] = `${k}=${v}`
          else env.push(`${k}=${v}`)
        }
        c.Env = env
        break
      }
      case 'LABEL':
        c.Labels = {...(c.Labels ?? {}), ...Object.fromEntries(pairs(args, op))}
        break
      case 'EXPOSE':
        for (const p of args.split(/\s+/).filter(Boolean)) {
          if (!/^[0-9]{1,5}(\/(tcp|udp|sctp))?$/i.test(p) || Number(p.split('/')[0]) > 65535) throw usageError(`--change EXPOSE: "${p}" is not a port`, 'e.g. EXPOSE 8080 or EXPOSE 53/udp')
          c.ExposedPorts = {...(c.ExposedPorts ?? {}), [p.includes('/') ? p.toLowerCase() : `${p}/tcp`]: {}}
        }
        break
      case 'USER':
        if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(args)) throw usageError(`--change USER: "${args}" is not a user`, 'give NAME or UID, optionally :GROUP or :GID')
        c.User = args
        break
      case 'WORKDIR': {
        if (args === '' || args.includes('\0')) throw usageError('--change WORKDIR needs a path', HINT)
        const prev = c.WorkingDir || '/'
        c.WorkingDir = args.startsWith('/') ? args : `${prev.replace(/\/$/, '')}/${args}`
        break
      }
      case 'STOPSIGNAL':
        if (!/^(SIG)?[A-Z0-9+-]+$/.test(args)) throw usageError(`--change STOPSIGNAL: "${args}" is not a signal`, 'e.g. STOPSIGNAL SIGTERM')
        c.StopSignal = args
        break
      case 'VOLUME': {
        const list = args.startsWith('[') ? command(args, op) : args.split(/\s+/).filter(Boolean)
        for (const v of list) if (!v.startsWith('/')) throw usageError(`--change VOLUME: "${v}" is not an absolute path`)
        c.Volumes = {...(c.Volumes ?? {}), ...Object.fromEntries(list.map((v) => [v, {}]))}
        break
      }
      default:
        throw usageError(`--change ${op} is not supported`, 'Docker\'s --change takes CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR')
    }
  }
  return c
}
