/**
 * Reading a profile file: size cap, JSON with exact 64-bit argument values, the
 * schema (compiled ahead of time), then the checks of meaning Docker also makes.
 * Every problem carries the JSON path it is about.
 */
import {closeSync, fstatSync, openSync} from 'node:fs'

import {LabError} from '../errors.js'
import {schemaProblems} from '../util/yaml-load.js'
import {check, type SchemaProblem} from '../validators.js'
import type {SeccompProfile} from './schema.js'
import {readFdFully} from '../util/read-fd.js'

/** Docker's own default profile is ~25 KiB; anything near this cap is not a profile. */
export const MAX_PROFILE_BYTES = 4 * 1024 * 1024
const U64_MAX = (1n << 64n) - 1n

export type ProfileProblem = SchemaProblem

export class ProfileError extends LabError {
  readonly problems: ProfileProblem[]
  constructor(source: string, problems: ProfileProblem[], exitCode = 125) {
    const first = problems[0]
    super('invalid-seccomp-profile', `seccomp profile ${source}: ${first.path}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''}`, {
      hint: `run \`lab profile validate ${source}\` to see every problem`,
      exitCode,
    })
    this.problems = problems
  }
}

export function readProfileText(path: string): string {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new LabError('profile-unreadable', `cannot read seccomp profile ${path} (${code ?? (e as Error).message})`, {
      hint: code === 'ENOENT' ? 'give a path to a JSON profile or a built-in name; `lab profile list` shows the built-ins' : 'check the file\'s permissions',
    })
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new LabError('profile-unreadable', `seccomp profile ${path} is not a regular file`, {hint: 'give a JSON file'})
    if (st.size > MAX_PROFILE_BYTES) {
      throw new ProfileError(path, [{path: '/', message: `the file is ${st.size} bytes; profiles are limited to ${MAX_PROFILE_BYTES} bytes`}])
    }
    return readFdFully(fd, st.size).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

/** JSON.parse loses bits above 2^53: keep long integer literals of value/valueTwo as strings. */
function protectBigValues(text: string): string {
  return text.replace(/("value(?:Two)?"\s*:\s*)(\d{16,})(?=\s*[,}\]])/g, (m, key: string, digits: string) => (BigInt(digits) > BigInt(Number.MAX_SAFE_INTEGER) ? `${key}"${digits}"` : m))
}

function jsonProblem(text: string, err: Error): ProfileProblem {
  const m = /position (\d+)/.exec(err.message)
  if (!m) return {path: '/', message: `not valid JSON: ${err.message}`}
  const pos = Number(m[1])
  const before = text.slice(0, pos)
  const line = before.split('\n').length
  const col = pos - before.lastIndexOf('\n')
  return {path: '/', message: `not valid JSON at line ${line}, column ${col}: ${err.message.replace(/ in JSON at position \d+.*$/, '')}`}
}

/** Meaning checks after the schema: the ones Docker and runc make when they load a profile. */
export function meaningProblems(p: SeccompProfile): ProfileProblem[] {
  const out: ProfileProblem[] = []
  if (p.architectures?.length && p.archMap?.length) {
    out.push({path: '/archMap', message: '"architectures" and "archMap" are both given; use one of them (Docker refuses both)'})
  }
  if (p.defaultAction === 'SCMP_ACT_NOTIFY') out.push({path: '/defaultAction', message: 'SCMP_ACT_NOTIFY is not supported: lab has no seccomp agent to answer notifications'})
  if (p.defaultErrnoRet != null && !['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE'].includes(p.defaultAction)) {
    out.push({path: '/defaultErrnoRet', message: `defaultErrnoRet only goes with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${p.defaultAction}`})
  }
  ;(p.syscalls ?? []).forEach((s, i) => {
    const at = `/syscalls/${i}`
    if (s.name !== undefined && s.names != null && s.names.length > 0) out.push({path: `${at}/name`, message: '"name" and "names" are both given; use "names"'})
    if (s.action === 'SCMP_ACT_NOTIFY') out.push({path: `${at}/action`, message: 'SCMP_ACT_NOTIFY is not supported: lab has no seccomp agent to answer notifications'})
    if (s.errnoRet != null && !['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE'].includes(s.action)) {
      out.push({path: `${at}/errnoRet`, message: `errnoRet only goes with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${s.action}`})
    }
    ;(s.args ?? []).forEach((a, j) => {
      for (const k of ['value', 'valueTwo'] as const) {
        const v = a[k]
        if (typeof v === 'string' && BigInt(v) > U64_MAX) out.push({path: `${at}/args/${j}/${k}`, message: 'must fit in 64 bits (at most 18446744073709551615)'})
      }
    })
  })
  return out
}

/** Every problem of a profile's text: JSON syntax, schema, meaning. */
export async function profileProblems(text: string): Promise<{profile: SeccompProfile | null; problems: ProfileProblem[]}> {
  let data: unknown
  try {
    data = JSON.parse(protectBigValues(text))
  } catch (e) {
    return {profile: null, problems: [jsonProblem(text, e as Error)]}
  }
  const raw = await check('seccomp-profile', data)
  if (raw.length) {
    const {SECCOMP_PROFILE_SCHEMA} = await import('./schema.js')
    return {profile: null, problems: schemaProblems(raw, {schema: SECCOMP_PROFILE_SCHEMA, data}).map(({path, message}) => ({path, message}))}
  }
  const profile = data as SeccompProfile
  const meaning = meaningProblems(profile)
  return {profile: meaning.length ? null : profile, problems: meaning}
}

/** Reads and checks a profile file; throws a ProfileError naming the first problem. */
export async function loadProfileFile(path: string): Promise<{profile: SeccompProfile; text: string}> {
  const text = readProfileText(path)
  const {profile, problems} = await profileProblems(text)
  if (!profile) throw new ProfileError(path, problems)
  return {profile, text}
}
