/**
 * The instructions that only change the image's config, as Docker records them:
 * ENV, LABEL, MAINTAINER, EXPOSE, VOLUME, USER, WORKDIR, ENTRYPOINT, CMD, STOPSIGNAL,
 * HEALTHCHECK, SHELL, ONBUILD. Variables are expanded where Docker expands them (not in
 * CMD, ENTRYPOINT, SHELL, HEALTHCHECK or ONBUILD, which the shell or a later build reads).
 */
import {parseDuration} from '../sandbox/units.js'
import type {RunConfig} from '../images/oci.js'
import {dockerfileError, type Instruction} from './parse.js'
import {processPairs, processWord, processWords, type Vars} from './words.js'

export interface Healthcheck {
  Test: string[]
  Interval?: number
  Timeout?: number
  StartPeriod?: number
  StartInterval?: number
  Retries?: number
}

/** Docker's config, with the fields builds set that runs do not read. */
export interface BuildConfig extends RunConfig {
  Healthcheck?: Healthcheck
  Shell?: string[]
  OnBuild?: string[] | null
}

export const DEFAULT_SHELL = ['/bin/sh', '-c']
export const METADATA = new Set(['ENV', 'LABEL', 'MAINTAINER', 'EXPOSE', 'VOLUME', 'USER', 'WORKDIR', 'ENTRYPOINT', 'CMD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'ONBUILD'])

/** The exec form as it is, or the shell form run by the stage's SHELL. */
export function commandOf(ins: Instruction, config: BuildConfig): string[] {
  if (ins.json) return ins.json
  if (ins.args === '') throw dockerfileError(ins.line, `${ins.keyword} needs a command`, `e.g. ${ins.keyword} ["/bin/sh"] or ${ins.keyword} echo hi`)
  return [...(config.Shell ?? DEFAULT_SHELL), ins.args]
}

export function envMap(config: BuildConfig): Map<string, string> {
  const m = new Map<string, string>()
  for (const e of config.Env ?? []) {
    const eq = e.indexOf('=')
    if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1))
  }
  return m
}

function setEnv(config: BuildConfig, k: string, v: string): void {
  const env = [...(config.Env ?? [])]
  const i = env.findIndex((e) => e.slice(0, e.indexOf('=')) === k)
  if (i >= 0) env[i] = `${k}=${v}`
  else env.push(`${k}=${v}`)
  config.Env = env
}

const ns = (ins: Instruction, flag: string): number | undefined => {
  const v = ins.flags[flag]
  if (v === undefined) return undefined
  return parseDuration(v, `HEALTHCHECK --${flag}`) * 1e6
}

/** Applies one metadata instruction to a copy of the config. */
export function applyMetadata(ins: Instruction, base: BuildConfig, vars: Vars, escape: string): BuildConfig {
  const c: BuildConfig = structuredClone(base)
  const a = ins.args
  const need = () => {
    if (a === '' && !ins.json) throw dockerfileError(ins.line, `${ins.keyword} needs an argument`)
  }
  switch (ins.keyword) {
    case 'ENV':
      need()
      for (const [k, v] of processPairs(a, vars, escape, 'ENV')) setEnv(c, k, v)
      break
    case 'LABEL':
      need()
      c.Labels = {...(c.Labels ?? {}), ...Object.fromEntries(processPairs(a, vars, escape, 'LABEL'))}
      break
    case 'MAINTAINER':
      need()
      break
    case 'EXPOSE':
      need()
      for (const p of processWords(a, vars, escape)) {
        if (!/^[0-9]{1,5}(-[0-9]{1,5})?(\/(tcp|udp|sctp))?$/i.test(p)) throw dockerfileError(ins.line, `EXPOSE: "${p}" is not a port`, 'e.g. EXPOSE 8080 or EXPOSE 53/udp')
        c.ExposedPorts = {...(c.ExposedPorts ?? {}), [p.includes('/') ? p.toLowerCase() : `${p}/tcp`]: {}}
      }
      break
    case 'VOLUME': {
      need()
      const list = ins.json ? ins.json.map((v) => processWord(JSON.stringify(v).slice(1, -1), vars, escape)) : processWords(a, vars, escape)
      for (const v of list) if (v === '') throw dockerfileError(ins.line, 'VOLUME with an empty path')
      c.Volumes = {...(c.Volumes ?? {}), ...Object.fromEntries(list.map((v) => [v.startsWith('/') ? v : `/${v}`, {}]))}
      break
    }
    case 'USER': {
      need()
      const u = processWord(a.trim(), vars, escape)
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(u)) throw dockerfileError(ins.line, `USER: "${u}" is not a user`, 'give NAME or UID, optionally :GROUP or :GID')
      c.User = u
      break
    }
    case 'WORKDIR': {
      need()
      const w = processWord(a.trim(), vars, escape)
      if (w.includes('\0')) throw dockerfileError(ins.line, 'WORKDIR holds a NUL byte')
      const prev = c.WorkingDir || '/'
      c.WorkingDir = w.startsWith('/') ? w : `${prev.replace(/\/$/, '')}/${w}`
      c.WorkingDir = c.WorkingDir.replace(/\/+/g, '/').replace(/(.)\/$/, '$1')
      break
    }
    case 'ENTRYPOINT':
      // (the Cmd a stage inherited is cleared by its caller, as Docker does)
      c.Entrypoint = ins.json ?? (a === '' ? null : commandOf(ins, c))
      break
    case 'CMD':
      c.Cmd = commandOf(ins, c)
      break
    case 'STOPSIGNAL': {
      need()
      const s = processWord(a.trim(), vars, escape)
      if (!/^(SIG)?[A-Z0-9+-]+$/.test(s)) throw dockerfileError(ins.line, `STOPSIGNAL: "${s}" is not a signal`, 'e.g. STOPSIGNAL SIGTERM')
      c.StopSignal = s
      break
    }
    case 'SHELL':
      if (!ins.json || ins.json.length === 0) throw dockerfileError(ins.line, 'SHELL needs the JSON form', 'e.g. SHELL ["/bin/sh", "-ec"]')
      c.Shell = ins.json
      break
    case 'HEALTHCHECK': {
      need()
      const m = /^(\S+)\s*([\s\S]*)$/.exec(a)!
      const kind = m[1].toUpperCase()
      if (kind === 'NONE') {
        c.Healthcheck = {Test: ['NONE']}
        break
      }
      if (kind !== 'CMD') throw dockerfileError(ins.line, `HEALTHCHECK ${m[1]}: expected CMD or NONE`, 'e.g. HEALTHCHECK --interval=30s CMD wget -q -O- http://127.0.0.1/')
      let test: string[]
      try {
        const j: unknown = JSON.parse(m[2])
        test = Array.isArray(j) && j.every((x) => typeof x === 'string') ? ['CMD', ...(j as string[])] : ['CMD-SHELL', m[2]]
      } catch {
        test = ['CMD-SHELL', m[2]]
      }
      const retries = ins.flags.retries !== undefined ? Number(ins.flags.retries) : undefined
      if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) throw dockerfileError(ins.line, `HEALTHCHECK --retries=${ins.flags.retries} is not a count`)
      c.Healthcheck = {Test: test, Interval: ns(ins, 'interval'), Timeout: ns(ins, 'timeout'), StartPeriod: ns(ins, 'start-period'), StartInterval: ns(ins, 'start-interval'), Retries: retries}
      for (const k of Object.keys(c.Healthcheck) as Array<keyof Healthcheck>) if (c.Healthcheck[k] === undefined) delete c.Healthcheck[k]
      break
    }
    case 'ONBUILD': {
      need()
      const inner = /^(\S+)/.exec(a)![1].toUpperCase()
      if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(inner)) throw dockerfileError(ins.line, `ONBUILD ${inner} is not allowed`, 'ONBUILD takes any other instruction')
      c.OnBuild = [...(c.OnBuild ?? []), a]
      break
    }
  }
  return c
}
