// Shared test helpers: run the CLI, skip what needs root, and check for leftovers.
import {execFile, spawn} from 'node:child_process'
import {readFileSync, readdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const LAB = join(ROOT, 'bin', 'run.js')
export const isRoot = process.getuid?.() === 0

/** Runs `lab ARGS`; resolves {code, stdout, stderr} (never rejects on exit codes). */
export function lab(args, opts = {}) {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--', LAB, ...args], {encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeout ?? 60_000, env: opts.env ?? process.env, cwd: opts.cwd}, (err, stdout, stderr) => {
      resolve({code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr, signal: err?.signal ?? null})
    })
    if (opts.input !== undefined) child.stdin.end(opts.input)
  })
}

/** `lab sandbox run [flags] -- sh -c SCRIPT` */
export function sh(script, flags = [], opts = {}) {
  return lab(['sandbox', 'run', ...flags, '--', 'sh', '-c', script], opts)
}

/** Spawns lab without waiting (for kill tests). */
export function spawnLab(args, opts = {}) {
  return spawn(process.execPath, ['--', LAB, ...args], {stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env})
}

/** Registers a test that needs root; without root it is skipped and says why. */
export function rootTest(suite, name, fn) {
  if (isRoot) suite(name, fn)
  else suite.skip(`${name} [skipped: needs root to create namespaces as the host's root]`, fn)
}

/** Processes whose command line mentions needle (excluding this test process). */
export function processesMatching(needle) {
  const out = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
      if (cmd.includes(needle) && Number(pid) !== process.pid) out.push({pid: Number(pid), cmd})
    } catch {}
  }
  return out
}

export function helperProcesses() {
  return processesMatching('native/lab-helper')
}

/** Host mounts that a sandbox may have left behind. */
export function leftoverMounts() {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => /lab-root|\/lab\/|lab-sbx/.test(l))
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Waits until fn() is truthy or the time is up; returns the last value. */
export async function waitFor(fn, ms = 5000, step = 50) {
  const end = Date.now() + ms
  let v = await fn()
  while (!v && Date.now() < end) {
    await sleep(step)
    v = await fn()
  }
  return v
}
