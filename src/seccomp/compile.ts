/**
 * Resolved rules → BPF file, compiled once and cached by content hash.
 *
 * The rule file handed to `lab-seccomp compile` (grammar in
 * src/sandbox-native/seccomp_compile.c, written by rulesText() in resolve.ts) holds
 * everything that decides the filter, so its hash names the cached BPF. The cache is
 * /var/cache/lab/seccomp for root, $XDG_CACHE_HOME/lab/seccomp (~/.cache/...) for
 * others; it must belong to the caller and not be writable by anyone else, since
 * the helper installs what it finds there. Writes go to a unique temporary name and
 * are renamed into place: concurrent runs may both compile, never see half a file.
 */
import {execFile} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {LabError} from '../errors.js'
import {assertHelperBuilt, SECCOMP_TOOL_PATH} from '../sandbox/helper.js'
import {helperFailure, hostArches} from './host.js'
import {rulesText, type ResolveContext, type ResolvedProfile} from './resolve.js'

/** Bumped when the compiler's output for the same rules would change. */
const COMPILER_VERSION = 'lab-seccomp-compile 3'

export function cacheDir(): string {
  if (process.env.LAB_SECCOMP_CACHE) return process.env.LAB_SECCOMP_CACHE
  if (process.getuid?.() === 0) return '/var/cache/lab/seccomp'
  const base = process.env.XDG_CACHE_HOME && process.env.XDG_CACHE_HOME.startsWith('/') ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache')
  return join(base, 'lab', 'seccomp')
}

function ensureCacheDir(dir: string): void {
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
  } catch (e) {
    throw new LabError('seccomp-cache', `cannot create the seccomp cache ${dir} (${(e as NodeJS.ErrnoException).code})`, {hint: 'set LAB_SECCOMP_CACHE to a writable directory'})
  }
  const st = lstatSync(dir)
  const uid = process.getuid?.() ?? st.uid
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new LabError('seccomp-cache', `the seccomp cache ${dir} is not a directory owned by you and writable only by you`, {
      hint: `fix it with \`chown ${uid} ${dir} && chmod 700 ${dir}\`, or remove it`,
    })
  }
}

export interface CompiledFilter {
  bpfPath: string
  hash: string
  /** false when the filter came from the cache */
  compiled: boolean
  instructions: number
}

function runCompiler(rulesPath: string, outPath: string): Promise<{instructions: number}> {
  return new Promise((resolve, reject) => {
    execFile(SECCOMP_TOOL_PATH, ['compile', rulesPath, outPath], {timeout: 60_000}, (err, stdout, stderr) => {
      if (err) return reject(helperFailure('compiling the seccomp profile', stderr))
      try {
        resolve(JSON.parse(stdout) as {instructions: number})
      } catch {
        reject(new LabError('seccomp-helper', 'the seccomp compiler printed no summary', {hint: 'rebuild with `npm run build`'}))
      }
    })
  })
}

export function filterHash(r: ResolvedProfile): string {
  return createHash('sha256').update(COMPILER_VERSION).update('\0').update(hostArches().join(',')).update('\0').update(rulesText(r)).digest('hex')
}

/** Returns the BPF for these rules, compiling it only when the cache lacks it. */
export async function compileResolved(r: ResolvedProfile): Promise<CompiledFilter> {
  const dir = cacheDir()
  const hash = filterHash(r)
  const bpfPath = join(dir, `${hash}.bpf`)
  // checked on every run: the helper installs whatever this directory holds
  ensureCacheDir(dir)
  try {
    const st = statSync(bpfPath)
    if (st.isFile() && st.size > 0 && st.size % 8 === 0) return {bpfPath, hash, compiled: false, instructions: st.size / 8}
  } catch {
    /* not cached yet */
  }
  assertHelperBuilt(SECCOMP_TOOL_PATH)
  const tag = `${process.pid}-${randomBytes(6).toString('hex')}`
  const rulesPath = join(dir, `.${hash}.${tag}.rules`)
  const tmpOut = join(dir, `.${hash}.${tag}.bpf`)
  try {
    writeFileSync(rulesPath, rulesText(r), {mode: 0o600, flag: 'wx'})
    const {instructions} = await runCompiler(rulesPath, tmpOut)
    renameSync(tmpOut, bpfPath)
    return {bpfPath, hash, compiled: true, instructions}
  } finally {
    rmSync(rulesPath, {force: true})
    rmSync(tmpOut, {force: true})
  }
}

/**
 * The start-up shortcut: a small ".ref" file per (profile file identity, sandbox
 * context) naming the BPF it compiled to. The identity (device, inode, size, change
 * and modification times) changes whenever the file does, and then the profile is
 * read, checked and resolved again. Returns null when there is no valid entry.
 */
function refPath(profilePath: string, ctx: ResolveContext): string | null {
  let st
  try {
    st = statSync(profilePath, {bigint: true})
  } catch {
    return null
  }
  const id = JSON.stringify([COMPILER_VERSION, profilePath, String(st.dev), String(st.ino), String(st.size), String(st.mtimeNs), String(st.ctimeNs), [...ctx.capabilities].sort(), ctx.kernel, ctx.arch, ctx.restrictSetid === true])
  return join(cacheDir(), createHash('sha256').update(id).digest('hex') + '.ref')
}

export function lookupCompiled(profilePath: string, ctx: ResolveContext): string | null {
  const ref = refPath(profilePath, ctx)
  if (!ref) return null
  try {
    const hash = readFileSync(ref, 'utf8').trim()
    if (!/^[0-9a-f]{64}$/.test(hash)) return null
    const dir = cacheDir()
    ensureCacheDir(dir)
    const bpf = join(dir, `${hash}.bpf`)
    const st = statSync(bpf)
    return st.isFile() && st.size > 0 && st.size % 8 === 0 ? bpf : null
  } catch {
    return null
  }
}

export function rememberCompiled(profilePath: string, ctx: ResolveContext, bpfPath: string): void {
  const ref = refPath(profilePath, ctx)
  if (!ref) return
  const tmp = `${ref}.${process.pid}.${randomBytes(4).toString('hex')}`
  try {
    writeFileSync(tmp, bpfPath.slice(bpfPath.lastIndexOf('/') + 1, -4) + '\n', {mode: 0o600, flag: 'wx'})
    renameSync(tmp, ref)
  } catch {
    rmSync(tmp, {force: true}) // only a shortcut: the next start compiles from the cache
  }
}
