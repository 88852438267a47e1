/**
 * Who may grant a pipeline privileges. A pipeline is read from the checkout it tests —
 * in a pull request, the pull request's own files — so nothing it says can widen what
 * its sandboxes may do. Privileges come only from the side that runs `lab ci`:
 *
 *   --allow KEY          one privilege (repeatable), see PRIVILEGES
 *   --policy FILE        a YAML/JSON file ({allow: [KEY…]}) that must lie outside the checkout
 *   --trusted-ref REF    the pipeline is read as it is on REF (git cat-file), like GitHub's
 *                        pull_request_target: what that version asks for is granted to its
 *                        own jobs (not to reusable workflows it loads from the checkout)
 *
 * Everything else is capped: a job that asks for a privilege it was not given runs
 * without it, and the refusal is listed with the flag that would allow it.
 * `--untrusted` (and a pull request from a fork) also gets no secrets and its own cache
 * scope (cache.ts), as GitHub treats a fork's pull request.
 */
import {execFileSync} from 'node:child_process'
import {lstatSync, readFileSync, realpathSync} from 'node:fs'
import {isAbsolute, relative, resolve} from 'node:path'

import {createHash} from 'node:crypto'

import {allJobs} from './call-legs.js'
import {LabError, usageError} from '../errors.js'
import {parseYaml, schemaProblems, summarizeProblems} from '../util/yaml-load.js'
import {check as schemaCheck} from '../validators.js'
import type {Pipeline} from './model.js'
import type {ContainerFile} from './schema.js'

export const PRIVILEGES = {
  'workspace-write': 'workspace: write (steps change the checkout itself, .git included)',
  'network-host': 'container.network: host (the host\'s network, its loopback services included)',
  'cap-add': 'container.cap-add (capabilities beyond the default set)',
  seccomp: 'container.seccomp other than default or strict (another profile, or unconfined)',
  rootfs: 'container.rootfs (a root directory of the checkout instead of the host system\'s)',
  secrets: 'secrets (--secret, --secret-file) for an untrusted run',
} as const

export type Privilege = keyof typeof PRIVILEGES
export type Trust = 'local' | 'trusted' | 'untrusted'

export interface TrustPolicy {
  trust: Trust
  allow: Privilege[]
  /** where the grants came from, for the report */
  sources: string[]
  /** the cache scope this run writes (and reads first) */
  cacheScope: string
}

export interface Refusal {
  job: string
  privilege: Privilege
  /** what the pipeline asked for */
  asked: string
  /** the flag that would allow it */
  flag: string
}

export const CI_POLICY_SCHEMA = {
  $id: 'https://lab.invalid/schemas/ci-policy.schema.json',
  title: 'lab ci policy',
  description: 'Privileges granted to the pipelines lab ci runs. Kept outside the checkout: a pipeline cannot grant itself anything.',
  type: 'object',
  additionalProperties: false,
  required: ['allow'],
  properties: {
    allow: {type: 'array', maxItems: 16, uniqueItems: true, items: {enum: Object.keys(PRIVILEGES)}, description: 'privileges granted to every job'},
  },
} as const

export function checkPrivilege(key: string, flag = '--allow'): Privilege {
  if (!(key in PRIVILEGES)) throw usageError(`${flag} ${key}: no such privilege`, `use one of: ${Object.keys(PRIVILEGES).join(', ')}`)
  return key as Privilege
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

/** A --policy file: outside the checkout (a pull request could otherwise write its own), schema-checked. */
export async function loadPolicyFile(file: string, workspace: string): Promise<Privilege[]> {
  let real: string
  try {
    if (!lstatSync(file).isFile()) throw new Error('not a file')
    real = realpathSync(file)
  } catch {
    throw usageError(`--policy ${file}: not a regular file`, 'give a YAML or JSON file such as {allow: [workspace-write]}')
  }
  if (inside(realpathSync(workspace), real)) throw usageError(`--policy ${file}: the file lies inside the checkout, which the pipeline under test controls`, 'keep the policy file outside the repository (e.g. ~/.config/lab/ci-policy.yml)')
  if (lstatSync(real).size > 64 * 1024) throw usageError(`--policy ${file}: larger than 64 KiB`, 'a policy is a short list of privileges')
  const parsed = parseYaml(readFileSync(real, 'utf8'), file, (problems) => usageError(summarizeProblems(problems), 'fix the policy file'))
  const problems = schemaProblems(await schemaCheck('ci-policy', parsed.data), {schema: CI_POLICY_SCHEMA, data: parsed.data})
  if (problems.length) throw usageError(`--policy ${file}: ${problems[0].path || '/'}: ${problems[0].message}`, `the file is {allow: [KEY…]} with keys among ${Object.keys(PRIVILEGES).join(', ')}`)
  return (parsed.data as {allow: Privilege[]}).allow
}

/**
 * The pipeline file as it is on a trusted ref (a base branch): `git cat-file` reads the
 * object store, never the working tree the pull request changed.
 */
export function readAtRef(workspace: string, ref: string, file: string): string {
  if (!/^[A-Za-z0-9._/@{}^~-]{1,200}$/.test(ref) || ref.startsWith('-')) throw usageError(`--trusted-ref ${ref}: not a ref name`, 'give a branch, tag or commit, e.g. --trusted-ref origin/main')
  const rel = relative(realpathSync(workspace), resolve(file))
  if (rel.startsWith('..') || isAbsolute(rel)) throw usageError(`--trusted-ref: ${file} is not inside the repository ${workspace}`, 'give the pipeline file of the checkout')
  try {
    return execFileSync('git', ['-C', workspace, 'cat-file', 'blob', `${ref}:${rel}`], {encoding: 'utf8', maxBuffer: 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe']})
  } catch {
    throw new LabError('ci-trusted-ref', `--trusted-ref ${ref}: the repository has no ${rel} on ${ref}`, {hint: 'give a ref where the pipeline exists (git fetch it first), or run without --trusted-ref', exitCode: 125})
  }
}

/**
 * The scope a run writes its caches to: the trusted default, or one per untrusted ref.
 * Every pull_request* event runs the pull request's code, so it never writes the default
 * scope — not even pull_request_target, whose cache poisoning GitHub leaves open.
 */
export function cacheScopeOf(trust: Trust, eventName: string, ref: string, headRef?: string): string {
  if (trust !== 'untrusted' && !eventName.startsWith('pull_request')) return 'default'
  return `pr-${createHash('sha256').update(`${eventName}\0${ref}\0${headRef ?? ''}`).digest('hex').slice(0, 16)}`
}

const SAFE_SECCOMP = new Set(['default', 'strict'])

/** What a container block asks for beyond the default sandbox. */
function asks(c: ContainerFile): Array<{privilege: Privilege; asked: string}> {
  const out: Array<{privilege: Privilege; asked: string}> = []
  if (c.network === 'host') out.push({privilege: 'network-host', asked: 'container.network: host'})
  if (c['cap-add']?.length) out.push({privilege: 'cap-add', asked: `container.cap-add: [${c['cap-add'].join(', ')}]`})
  if (c.seccomp !== undefined && !SAFE_SECCOMP.has(c.seccomp)) out.push({privilege: 'seccomp', asked: `container.seccomp: ${c.seccomp === 'unconfined' ? 'unconfined' : 'a profile file'}`})
  if (c.rootfs !== undefined) out.push({privilege: 'rootfs', asked: 'container.rootfs'})
  return out
}

/** The container block with every refused privilege taken out. */
function capContainer(c: ContainerFile, refused: Set<Privilege>): ContainerFile {
  const out = {...c}
  if (refused.has('network-host')) out.network = 'none'
  if (refused.has('cap-add')) delete out['cap-add']
  if (refused.has('seccomp')) delete out.seccomp
  if (refused.has('rootfs')) delete out.rootfs
  return out
}

/**
 * Caps every job to the policy (in place) and lists each refusal. `trustedJobs`: jobs
 * whose definition came from a trusted ref; they keep what they ask for.
 */
export function applyPolicy(p: Pipeline, policy: TrustPolicy, trustedJobs: Set<string> = new Set()): Refusal[] {
  const allowed = new Set(policy.allow)
  const refusals: Refusal[] = []
  // the jobs a matrix call will clone for its legs too (call-legs.ts): the clones inherit the caps
  for (const j of allJobs(p.jobs)) {
    if (trustedJobs.has(j.id)) continue
    const refuse = (privilege: Privilege, asked: string, where: Set<Privilege>) => {
      if (allowed.has(privilege)) return
      where.add(privilege)
      if (!refusals.some((r) => r.job === j.id && r.privilege === privilege)) refusals.push({job: j.id, privilege, asked, flag: `--allow ${privilege}`})
    }
    const jobRefused = new Set<Privilege>()
    if (j.workspace === 'write') refuse('workspace-write', 'workspace: write', jobRefused)
    for (const a of asks(j.container)) refuse(a.privilege, a.asked, jobRefused)
    if (jobRefused.has('workspace-write')) j.workspace = 'copy'
    j.container = capContainer(j.container, jobRefused)
    for (const [name, s] of Object.entries(j.services)) {
      if (!s.container) continue
      const svcRefused = new Set<Privilege>()
      for (const a of asks(s.container)) refuse(a.privilege, `services.${name}.${a.asked}`, svcRefused)
      s.container = capContainer(s.container, svcRefused)
    }
  }
  return refusals
}

export function refusalLines(refusals: Refusal[]): string[] {
  return refusals.map((r) => `job ${r.job}: ${r.asked} refused: the pipeline cannot grant itself ${r.privilege} (${r.flag}, a --policy file, or --trusted-ref allows it)`)
}
