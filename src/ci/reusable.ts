/**
 * Local reusable workflows: a job `uses: ./.github/workflows/NAME.yml` (with `with:` and
 * `secrets:`) runs the jobs of that workflow, as GitHub does. At load time the called
 * workflow's jobs join the pipeline as CALLER/JOB (needs renamed; its first jobs need
 * what the caller needs), and the caller becomes a job without steps that needs all of
 * them: its result is theirs and its outputs are the called workflow's
 * `on.workflow_call.outputs` (values over the `jobs` context). When they start, the
 * called jobs get `inputs` from the caller's `with:` (typed and defaulted by
 * `workflow_call.inputs`) and only the secrets the caller passes (or all, with
 * `secrets: inherit`).
 *
 * A remote one (`OWNER/REPO/.github/workflows/NAME.yml@REF`) cannot be fetched offline: it
 * is read from the local copy of that repository given with `--action-dir OWNER/REPO@REF=DIR`
 * (DIR/.github/workflows/NAME.yml), and a `./` call inside it names a workflow of that same
 * copy (GitHub: the same commit as its caller). Without a copy the caller is skipped with a
 * warning (a problem with --strict).
 *
 * The called file is read from the workspace (or the copy) only: a relative path without
 * "..", through no link, a regular file; as on GitHub, calls nest at most 4 levels (the
 * top workflow and 3 of reusable ones) and a run calls at most 20 unique workflows.
 */
import {renameJob} from './call-legs.js'
import {resolveInside} from './files.js'
import {triggers} from './events.js'
import type {JobDef, Pipeline} from './model.js'
import type {JobFile} from './schema.js'

const MAX_DEPTH = 4
const MAX_WORKFLOWS = 20

/** OWNER/REPO/.github/workflows/NAME.yml@REF → the --action-dir key (OWNER/REPO@REF) and the file in the copy. */
export function remoteWorkflow(uses: string): {key: string; rel: string} | null {
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)\/(\.github\/workflows\/[^/@]+\.ya?ml)@([^\s@]+)$/.exec(uses)
  return m && m[1] !== '.' && m[1] !== '..' && m[2] !== '.' && m[2] !== '..' ? {key: `${m[1]}/${m[2]}@${m[4]}`, rel: m[3]} : null
}

export interface CallInfo {
  /** the calling job's id */
  caller: string
  with: Record<string, unknown>
  secrets?: 'inherit' | Record<string, string>
  /** on.workflow_call.inputs of the called workflow */
  inputs: Record<string, {default?: unknown; type?: string; required?: boolean}>
  /** what the caller needs: the context its with: and if: are evaluated in */
  callerNeeds: string[]
  callerIf?: string | boolean
  /** the caller's matrix leg (strategy.matrix on the calling job), for its with:, secrets: and if: */
  matrix?: Record<string, unknown>
}

export interface CalleeInfo {
  /** the called workflow's jobs, as ids of this pipeline */
  jobs: string[]
  prefix: string
  /** on.workflow_call.outputs: name → value expression */
  outputs: Record<string, string>
  /** why the call cannot run here (a remote workflow): the job is skipped */
  unsupported?: string
  /** the calling job of a matrix call: `jobs` are its legs, each a call of its own; the
   * outputs are the last leg's that set them (GitHub: the last successful one to finish) */
  legs?: boolean
  /** a matrix call before its legs are made (call-legs.ts): the called workflow's jobs as
   * CALLER/JOB, cloned for each combination once the matrix is known */
  template?: JobDef[]
}

export async function expandCalls(
  jobs: Record<string, JobDef>,
  calls: Array<[string, JobFile]>,
  o: {
    /** where ./.github/workflows/NAME.yml is read: the workspace, or the copy of the remote repository this file came from */
    base: string
    depth: number
    /** --action-dir: OWNER/REPO@REF → a local copy of that repository */
    actionDirs: Record<string, string>
    strict?: boolean
    /** the unique workflows called in the whole run (shared by every nested load) */
    called: Set<string>
    load: (file: string, depth: number, base: string) => Promise<Pipeline>
    add: (path: string, message: string) => void
    warn: (message: string) => void
  },
): Promise<void> {
  for (const [id, jf] of calls) {
    const path = `/jobs/${id}/uses`
    const uses = jf.uses!
    const caller = jobs[id]
    let base = o.base
    let rel: string
    if (uses.startsWith('./')) rel = uses.slice(2).replace(/@.*$/, '')
    else {
      const remote = remoteWorkflow(uses)
      if (!remote) {
        o.add(path, `${uses}: not a reusable workflow (./.github/workflows/NAME.yml, or OWNER/REPO/.github/workflows/NAME.yml@REF)`)
        continue
      }
      const dir = o.actionDirs[remote.key]
      if (dir === undefined) {
        const why = `uses: ${uses} is a remote reusable workflow and lab does not download workflows`
        if (o.strict) o.add(path, `${why}; give a local copy of the repository with --action-dir ${remote.key}=DIR, or leave out --strict to skip the job with a warning`)
        else o.warn(`${path}: ${why}; the job is skipped — give a local copy of the repository with --action-dir ${remote.key}=DIR`)
        caller.callee = {jobs: [], prefix: id, outputs: {}, unsupported: `${why} (give --action-dir ${remote.key}=DIR)`}
        continue
      }
      base = dir
      rel = remote.rel
    }
    if (o.depth + 1 >= MAX_DEPTH) {
      o.add(path, `reusable workflows nest more than ${MAX_DEPTH} levels deep (GitHub's limit: the calling workflow and ${MAX_DEPTH - 1} levels of reusable ones)`)
      continue
    }
    const found = /^\.github\/workflows\/[^/]+\.ya?ml$/.test(rel) ? resolveInside(base, rel) : null
    if (!found || !found.st.isFile()) {
      o.add(path, base === o.base
        ? `${uses}: not a workflow file of the repository (./.github/workflows/NAME.yml, reached through no link)`
        : `${uses}: ${rel} is not a workflow file of the copy ${base} (reached through no link)`)
      continue
    }
    o.called.add(found.path)
    if (o.called.size > MAX_WORKFLOWS) {
      o.add(path, `${uses}: the run calls more than ${MAX_WORKFLOWS} unique reusable workflows (GitHub's limit)`)
      continue
    }
    let called: Pipeline
    try {
      called = await o.load(found.path, o.depth + 1, base)
    } catch (e) {
      o.add(path, `${uses}: ${(e as Error).message}`)
      continue
    }
    for (const w of called.warnings) o.warn(`${path}: ${uses}: ${w}`)
    const wc = triggers(called.on).workflow_call
    if (!wc) {
      o.add(path, `${uses} is not a reusable workflow: its on: has no workflow_call`)
      continue
    }
    const rename = (n: string) => `${id}/${n}`
    const ids: string[] = []
    for (const cj of Object.values(called.jobs)) {
      const nid = rename(cj.id)
      ids.push(nid)
      const call: CallInfo = cj.call
        ? {...cj.call, caller: rename(cj.call.caller), callerNeeds: cj.call.callerNeeds.map(rename)}
        : {caller: id, with: jf.with ?? {}, secrets: jf.secrets, inputs: (wc.inputs ?? {}) as CallInfo['inputs'], callerNeeds: caller.needs, callerIf: caller.if, ...(caller.callMatrix ? {matrix: caller.callMatrix} : {})}
      jobs[nid] = {
        ...cj,
        id: nid,
        name: cj.name ?? `${caller.name ?? id} / ${cj.id}`,
        // the called workflow's env and the job's own, the latter winning
        env: {...called.env, ...cj.env},
        needs: cj.needs.length ? cj.needs.map(rename) : [...caller.needs],
        call,
        ...(cj.callee ? {callee: renameJob(cj, rename).callee} : {}),
      }
    }
    const outputs: Record<string, string> = {}
    for (const [k, v] of Object.entries((wc.outputs ?? {}) as Record<string, {value?: string}>)) outputs[k] = String(v?.value ?? '')
    caller.callee = {jobs: ids, prefix: id, outputs}
    caller.needs = [...caller.needs, ...ids]
  }
}
