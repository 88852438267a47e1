/**
 * `uses: docker/build-push-action@…` (any version) runs `lab build` on the job's workspace
 * copy: the image lands in lab's store, where a later job's `container:` (or a service's
 * `image:`) runs it — the usual "build, then test in the image" workflow, offline.
 *
 * Inputs as the action documents them: context (default: the workspace), file, tags,
 * build-args, target, no-cache, labels, network, push, load. Outputs: imageid, digest
 * (the image's id as a digest). Paths resolve inside the workspace with no link on the way.
 * Each RUN of the build is a sandbox with the build's default hardening; `network: host`
 * needs the network-host privilege like any step (policy.ts). `push: true` is refused:
 * nothing leaves this machine from a pipeline (`lab image push` does, by hand).
 *
 * Tags are written for local and trusted runs only. An untrusted run (`--untrusted`, a
 * fork's pull request) still builds, but gets the image id alone: a tag it wrote could be
 * the image a trusted run's `container:` later runs (the image store is shared, as the
 * cache would be without scopes).
 */
import {join} from 'node:path'

import {LabError} from '../errors.js'
import {resolveInside} from './files.js'

export function isBuildAction(uses: string): boolean {
  return /^docker\/build-push-action@/.test(uses)
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter(Boolean)
// build-args are one per line (a value may hold commas)
const lines = (v: string | undefined) =>
  (v ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)

export interface BuildActionContext {
  /** the job's workspace copy on the host */
  ws: string
  /** tags may be written (a local or trusted run) */
  mayTag: boolean
  /** the host's network may be given to RUN steps (the network-host privilege) */
  mayUseHostNetwork: boolean
  abortSignal: AbortSignal
  note: (line: string) => void
}

function insideWorkspace(ws: string, given: string, what: string, kind: 'dir' | 'file'): string {
  const rel = given.startsWith('/workspace/') ? given.slice('/workspace/'.length) : given === '/workspace' ? '.' : given
  if (rel.startsWith('/')) throw new LabError('ci-action', `docker/build-push-action: ${what} "${given}" is outside the workspace`, {hint: `give a path of the workspace, e.g. ${kind === 'dir' ? '.' : 'Dockerfile'}`})
  const r = resolveInside(ws, rel)
  if (!r) throw new LabError('ci-action', `docker/build-push-action: ${what} "${given}" is not in the workspace (missing, "..", or through a symbolic link)`, {hint: 'paths resolve in the job\'s workspace, without links'})
  if (kind === 'dir' ? !r.st.isDirectory() : !r.st.isFile()) throw new LabError('ci-action', `docker/build-push-action: ${what} "${given}" is not a ${kind === 'dir' ? 'directory' : 'regular file'}`)
  return r.path
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12)

export async function runBuildAction(inputs: Record<string, string>, b: BuildActionContext): Promise<Record<string, string>> {
  if (inputs.push === 'true') throw new LabError('ci-action', 'docker/build-push-action: push: true would send the image off this machine, which a pipeline never does here', {hint: 'leave push out (the image stays in lab\'s store for container:), and push it by hand with lab image push'})
  const network = inputs.network === undefined || inputs.network === '' || inputs.network === 'default' || inputs.network === 'none' ? 'none' : inputs.network
  if (network === 'host' && !b.mayUseHostNetwork) throw new LabError('ci-action', 'docker/build-push-action: network: host was not granted to this pipeline', {hint: 'run lab ci with --allow network-host (see lab ci --help), or build without the network'})
  if (network !== 'none' && network !== 'host') throw new LabError('ci-action', `docker/build-push-action: network "${network}" is not available to builds`, {hint: 'use none (the default) or host'})
  const context = insideWorkspace(b.ws, inputs.context || '.', 'context', 'dir')
  const dockerfile = inputs.file ? insideWorkspace(b.ws, inputs.file, 'file', 'file') : undefined
  let tags = list(inputs.tags)
  if (tags.length && !b.mayTag) {
    b.note(`untrusted run: the image is built but not tagged (${tags.join(', ')}); a later job can run it by the imageid output`)
    tags = []
  }
  const {buildImage} = await import('../build/index.js')
  const result = await buildImage({
    context,
    dockerfile: dockerfile ?? join(context, 'Dockerfile'),
    tags,
    buildArgs: lines(inputs['build-args']),
    target: inputs.target || undefined,
    noCache: inputs['no-cache'] === 'true',
    network,
    labels: lines(inputs.labels),
    abortSignal: b.abortSignal,
    // docker build's lines, as the step's output
    onEvent: (e) => {
      if (e.type === 'step') b.note(`Step ${e.n}/${e.total} : ${e.text}`)
      else if (e.type === 'cached') b.note(' ---> Using cache')
      else if (e.type === 'made') b.note(` ---> ${short(e.image)}`)
      else if (e.type === 'warning') b.note(`warning: ${e.message}`)
      else if (e.type === 'output') for (const l of e.chunk.toString('utf8').split('\n')) if (l !== '') b.note(l)
    },
  })
  const id = result.id
  b.note(`Successfully built ${short(id)}${tags.length ? ` as ${tags.join(', ')}` : ''}`)
  return {imageid: id, digest: id, metadata: JSON.stringify({'containerimage.config.digest': id, 'image.name': tags.join(',')})}
}
