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
 * The called file is read from the workspace only: a relative path without "..",
 * through no link, a regular file; nesting stops at GitHub's limit of 4 levels.
 */
import {renameJob} from './call-legs.js'
import {resolveInside} from './files.js'
import {triggers} from './events.js'
import type {JobDef, Pipeline} from './model.js'
import type {JobFile} from './schema.js'

const MAX_DEPTH = 4

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
  o: {workspace: string; depth: number; load: (file: string, depth: number) => Promise<Pipeline>; add: (path: string, message: string) => void},
): Promise<void> {
  for (const [id, jf] of calls) {
    const path = `/jobs/${id}/uses`
    const uses = jf.uses!
    const caller = jobs[id]
    if (!uses.startsWith('./')) {
      caller.callee = {jobs: [], prefix: id, outputs: {}, unsupported: `uses: ${uses} is a remote reusable workflow; lab runs local ones (./.github/workflows/NAME.yml) only`}
      continue
    }
    if (o.depth + 1 >= MAX_DEPTH) {
      o.add(path, `reusable workflows nest more than ${MAX_DEPTH} levels deep`)
      continue
    }
    const rel = uses.slice(2).replace(/@.*$/, '')
    const found = /^\.github\/workflows\/[^/]+\.ya?ml$/.test(rel) ? resolveInside(o.workspace, rel) : null
    if (!found || !found.st.isFile()) {
      o.add(path, `${uses}: not a workflow file of the repository (./.github/workflows/NAME.yml, reached through no link)`)
      continue
    }
    let called: Pipeline
    try {
      called = await o.load(found.path, o.depth + 1)
    } catch (e) {
      o.add(path, `${uses}: ${(e as Error).message}`)
      continue
    }
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
