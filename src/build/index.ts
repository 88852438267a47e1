/**
 * `buildImage`: a Dockerfile and its context into an image of the store, as Docker's
 * classic builder does it — every instruction is a step that makes an image on the one
 * before (RUN and COPY/ADD with a new layer, the others with a new config), and a step
 * whose key (cache.ts) is known reuses the image it made before, running nothing.
 *
 * Stages are built in order, only those the target needs (the target itself, the stages
 * it names in FROM and COPY --from, and theirs). FROM names a stage, `scratch`, or an
 * image of the store: builds never pull (pull or load the base first).
 */
import {closeSync, constants, fstatSync, mkdirSync, openSync, readSync, rmSync} from 'node:fs'

import {LabError, usageError} from '../errors.js'
import {commitImage} from '../images/commit.js'
import {layerLimits, type LayerLimits} from '../images/limits.js'
import {hostPlatform, type HistoryEntry} from '../images/oci.js'
import {ImageStore, type StoredLayer} from '../images/store.js'
import type {LimitsRequest} from '../sandbox/limits.js'
import {parseDuration} from '../sandbox/units.js'
import {BuildCache} from './cache.js'
import {openContext} from './context.js'
import {applyCopy, planCopy, type CopyPlan, type CopySource, type Owner} from './copy.js'
import {applyMetadata, commandOf, envMap, METADATA, type BuildConfig} from './instructions.js'
import {dockerfileError, parseDockerfile, readInstruction, type Instruction, type Stage} from './parse.js'
import type {RunStepResult} from './run-step.js'
import {EmptyTree, ImageTree} from './tree.js'
import {processWord, processWords} from './words.js'

export interface BuildOptions {
  context: string
  /** path of the Dockerfile ("-": dockerfileText); default CONTEXT/Dockerfile */
  dockerfile?: string
  dockerfileText?: string
  tags?: string[]
  /** K=V, or K (its value from callerEnv) */
  buildArgs?: string[]
  target?: string
  noCache?: boolean
  platform?: string
  /** none (default) or host; Docker's "default" is none here */
  network?: string
  memory?: string
  cpus?: string
  pidsLimit?: string
  /** each RUN's time limit (DURATION text or ms) */
  timeout?: string | number
  labels?: string[]
  stateDir?: string
  callerEnv?: Record<string, string | undefined>
  onEvent?: (e: BuildEvent) => void
  abortSignal?: AbortSignal
}

export type BuildEvent =
  | {type: 'step'; n: number; total: number; text: string; line: number}
  | {type: 'cached'; image: string}
  | {type: 'running'}
  | {type: 'output'; chunk: Buffer}
  | {type: 'made'; image: string}
  | {type: 'warning'; message: string}

export interface StepRecord {
  n: number
  line: number
  instruction: string
  cached: boolean
  image: string
}

export interface BuildResult {
  id: string
  tags: string[]
  steps: StepRecord[]
  cached: number
  ran: number
}

interface State {
  /** the stage's current image (none yet: FROM scratch) */
  id?: string
  config: BuildConfig
  layers: StoredLayer[]
  /** ARGs declared in this stage and their values */
  args: Map<string, string>
  cmdSet: boolean
  /** MAINTAINER's, kept by the steps after it */
  author?: string
}

/** Docker's predefined ARGs: usable without being declared. */
const PREDEFINED = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'])

function failed(n: number, total: number, ins: Instruction, message: string, hint: string, exitCode = 1): LabError {
  return new LabError('build-failed', `step ${n}/${total} (Dockerfile line ${ins.line}) ${ins.text.slice(0, 120)}: ${message}`, {hint, exitCode})
}

const NETWORK_HINT = /network is unreachable|bad address|could not resolve|name resolution|name or service not known|unable to resolve|no route to host|connection refused|resolving/i

export async function buildImage(o: BuildOptions): Promise<BuildResult> {
  const emit = o.onEvent ?? (() => {})
  const ctx = openContext(o.context, o.dockerfile, o.dockerfileText)
  const df = parseDockerfile(ctx.dockerfile.text)
  const store = new ImageStore(o.stateDir)
  const cache = new BuildCache(store)
  const limits: LayerLimits = layerLimits()
  const plat = hostPlatform()
  if (o.platform !== undefined && o.platform !== '') {
    const [os, arch] = o.platform.toLowerCase().split('/')
    if (os !== plat.os || (arch !== undefined && arch !== plat.architecture)) throw usageError(`cannot build for ${o.platform} on this ${plat.os}/${plat.architecture} machine`, `builds run their steps natively: use --platform ${plat.os}/${plat.architecture}, or build on a machine of that platform`)
  }
  const network = o.network === undefined || o.network === 'default' || o.network === 'none' ? 'none' : o.network === 'host' ? 'host' : null
  if (!network) throw usageError(`--network ${o.network} is not available to builds`, 'use --network none (the default) or --network host')
  const runLimits: LimitsRequest = {...(o.memory ? {memory: o.memory} : {}), ...(o.cpus ? {cpus: o.cpus} : {}), pidsLimit: o.pidsLimit ?? 4096}
  const timeoutMs = o.timeout === undefined ? undefined : typeof o.timeout === 'number' ? o.timeout : parseDuration(o.timeout, '--timeout')

  // --build-arg
  const given = new Map<string, string>()
  for (const a of o.buildArgs ?? []) {
    const eq = a.indexOf('=')
    const k = eq < 0 ? a : a.slice(0, eq)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw usageError(`--build-arg "${a}" is not NAME=VALUE`, 'e.g. --build-arg VERSION=1.2')
    const v = eq < 0 ? o.callerEnv?.[k] : a.slice(eq + 1)
    if (v !== undefined) given.set(k, v)
  }
  const consumed = new Set<string>()

  // ARG before FROM: for FROM lines, and as defaults of the stages that declare them again
  const globals = new Map<string, string>()
  for (const ins of df.globalArgs) declareArgs(ins, globals, globals, given, consumed, df.escape)

  // which stages the target needs
  const stageOf = (ref: string, before: number): Stage | undefined => {
    const r = ref.toLowerCase()
    if (/^[0-9]+$/.test(r)) {
      const i = Number(r)
      return i < before ? df.stages[i] : undefined
    }
    return df.stages.slice(0, before).find((s) => s.name === r)
  }
  let target = df.stages.at(-1)!
  if (o.target !== undefined) {
    const t = df.stages.find((s) => s.name === o.target!.toLowerCase())
    if (!t) throw usageError(`target stage "${o.target}" could not be found`, `the stages are ${df.stages.map((s) => s.name ?? `#${s.index}`).join(', ')}`)
    target = t
  }
  const fromRef = (s: Stage) => processWords(s.from.args, globals, df.escape)[0] ?? ''
  const needed = new Set<number>()
  const need = (s: Stage) => {
    if (needed.has(s.index)) return
    needed.add(s.index)
    const base = stageOf(fromRef(s), s.index)
    if (base) need(base)
    for (const ins of s.instructions) {
      const from = ins.flags.from
      if ((ins.keyword === 'COPY' || ins.keyword === 'ADD') && from !== undefined) {
        const dep = stageOf(processWord(from, globals, df.escape), s.index)
        if (dep) need(dep)
      }
    }
  }
  need(target)
  const order = df.stages.filter((s) => needed.has(s.index))
  const total = order.reduce((n, s) => n + 1 + s.instructions.length, 0) + ((o.labels?.length ?? 0) > 0 ? 1 : 0)

  const built = new Map<number, State>()
  const steps: StepRecord[] = []
  let n = 0
  let ran = 0
  let hits = 0

  const layersOf = async (id: string): Promise<StoredLayer[]> => {
    const rec = store.resolve(id)
    const out: StoredLayer[] = []
    for (const l of rec.layers) out.push(await store.ensureLayer(l.digest, l.diffId))
    return out
  }
  const stateOf = async (id: string | undefined, args: Map<string, string>, cmdSet: boolean): Promise<State> => {
    if (id === undefined) return {config: {}, layers: [], args, cmdSet}
    const cfg = store.configOf(store.resolve(id))
    return {id, config: (cfg.config ?? {}) as BuildConfig, layers: await layersOf(id), args, cmdSet, author: cfg.author}
  }
  const commitConfig = (st: State, config: BuildConfig, ins: Instruction, layer?: RunStepResult['layer']): Promise<string> => {
    const history: HistoryEntry = {created_by: ins.text, comment: 'lab build', ...(layer ? {} : {empty_layer: true})}
    return commitImage(store, {parent: st.id, newLayers: layer ? [layer] : [], config, history, author: st.author})
  }

  for (const stage of order) {
    // FROM
    n++
    emit({type: 'step', n, total, text: stage.from.text, line: stage.from.line})
    const ref = fromRef(stage)
    if (ref === '') throw failed(n, total, stage.from, 'FROM needs an image', 'e.g. FROM busybox, FROM scratch or FROM an earlier stage')
    let st: State
    const baseStage = stageOf(ref, stage.index)
    if (baseStage) {
      const b = built.get(baseStage.index)!
      st = {...b, args: new Map(), cmdSet: false}
    } else if (ref.toLowerCase() === 'scratch') {
      st = {config: {}, layers: [], args: new Map(), cmdSet: false}
    } else {
      let id: string
      try {
        id = store.resolve(ref).id
      } catch {
        throw failed(n, total, stage.from, `the image ${ref} is not in the store`, `builds do not pull: lab image pull ${ref} (or lab image load) first`, 125)
      }
      const cfg = store.configOf(store.resolve(id))
      if (cfg.architecture !== plat.architecture) throw failed(n, total, stage.from, `${ref} is for ${cfg.os}/${cfg.architecture}, not this ${plat.os}/${plat.architecture} machine`, 'pull the image for this platform')
      st = await stateOf(id, new Map(), false)
    }
    if (st.id) emit({type: 'made', image: st.id})
    steps.push({n, line: stage.from.line, instruction: stage.from.text, cached: true, image: st.id ?? 'scratch'})

    // the base image's ONBUILD triggers run first, and are not inherited
    const triggers = (st.config.OnBuild ?? []).map((t) => {
      const ins = readInstruction([t], stage.from.line, df.escape)
      if (!ins) throw failed(n, total, stage.from, `the base image's ONBUILD trigger "${t}" is empty`, 'fix the base image')
      return ins
    })
    if (triggers.length) st.config = {...st.config, OnBuild: null}
    const list = [...triggers.map((t) => ({...t, text: `${t.text}`, onbuild: true})), ...stage.instructions.map((i) => ({...i, onbuild: false}))]

    for (const ins of list) {
      if (!ins.onbuild) n++
      const shown = ins.onbuild ? `# Executing ONBUILD trigger: ${ins.text}` : ins.text
      if (!ins.onbuild) emit({type: 'step', n, total, text: shown, line: ins.line})
      else emit({type: 'warning', message: shown})
      st = await step(ins, st, stage)
    }
    built.set(stage.index, st)
  }

  let final = built.get(target.index)!
  if (o.labels && o.labels.length > 0) {
    n++
    const text = `LABEL ${o.labels.map((l) => JSON.stringify(l)).join(' ')}`
    emit({type: 'step', n, total, text: `(--label) ${text}`, line: 0})
    const labels = Object.fromEntries(o.labels.map((l) => {
      const eq = l.indexOf('=')
      return eq < 0 ? [l, ''] : [l.slice(0, eq), l.slice(eq + 1)]
    }))
    const ins: Instruction = {keyword: 'LABEL', line: 0, text, flags: {}, args: '', heredocs: []}
    final = await cached(ins, final, ['label', labels], async () => commitConfig(final, {...final.config, Labels: {...(final.config.Labels ?? {}), ...labels}}, ins))
  }
  if (!final.id) throw usageError('the build made no image: the target stage is FROM scratch with nothing in it', 'add an instruction to the stage')
  const unused = [...given.keys()].filter((k) => !consumed.has(k) && !PREDEFINED.has(k))
  if (unused.length) emit({type: 'warning', message: `[Warning] One or more build-args [${unused.join(' ')}] were not consumed`})
  const tags: string[] = []
  for (const t of o.tags ?? []) tags.push((await store.tag(final.id, t)).tag)
  return {id: final.id, tags, steps, cached: hits, ran}

  // ------------------------------------------------------------------ steps

  async function cached(ins: Instruction, st: State, parts: unknown[], make: () => Promise<string>): Promise<State> {
    const key = BuildCache.key(st.id ?? 'scratch', [ins.keyword, ...parts])
    const hit = o.noCache ? undefined : cache.get(key)
    let id: string
    if (hit) {
      hits++
      emit({type: 'cached', image: hit})
      id = hit
    } else {
      id = await make()
      cache.set(key, id)
    }
    emit({type: 'made', image: id})
    steps.push({n, line: ins.line, instruction: ins.text, cached: hit !== undefined, image: id})
    const cmdSet = st.cmdSet || ins.keyword === 'CMD'
    return stateOf(id, st.args, cmdSet)
  }

  function vars(st: State): Map<string, string> {
    const v = new Map(st.args)
    for (const [k, val] of envMap(st.config)) v.set(k, val)
    return v
  }

  async function step(ins: Instruction, st: State, stage: Stage): Promise<State> {
    const v = vars(st)
    switch (ins.keyword) {
      case 'ARG': {
        const args = new Map(st.args)
        declareArgs(ins, args, globals, given, consumed, df.escape, v)
        // an ARG changes no image: its value enters the keys of the RUNs that see it
        steps.push({n, line: ins.line, instruction: ins.text, cached: true, image: st.id ?? 'scratch'})
        if (st.id) emit({type: 'made', image: st.id})
        return {...st, args}
      }
      case 'RUN':
        return runInstruction(ins, st, v)
      case 'COPY':
      case 'ADD':
        return copyInstruction(ins, st, v, stage)
      default: {
        if (!METADATA.has(ins.keyword)) throw dockerfileError(ins.line, `${ins.keyword} is not allowed here`)
        const config = applyMetadata(ins, st.config, v, df.escape)
        if (ins.keyword === 'ENTRYPOINT' && !st.cmdSet) config.Cmd = null
        const expanded = JSON.stringify(config)
        const next = await cached(ins, st, [ins.text, expanded], async () => {
          if (ins.keyword === 'WORKDIR' && config.WorkingDir) {
            const tree = treeOf(st)
            const rel = tree.resolve(config.WorkingDir, true)
            if (rel !== '' && !tree.entry(rel)) {
              const plan: CopyPlan = {items: [{dest: rel, kind: 'dir', mode: 0o755, size: 0, mtime: Date.now() / 1000}], hash: ''}
              const layer = await layerOf((dir) => applyCopy(plan, dir, tree, () => store.tempDir(), limits))
              return commitConfig(st, config, ins, layer)
            }
          }
          if (ins.keyword === 'MAINTAINER') return commitConfig({...st, author: ins.args.trim()}, config, ins)
          return commitConfig(st, config, ins)
        })
        return next
      }
    }
  }

  function treeOf(st: State): ImageTree {
    return st.layers.length ? new ImageTree('the image', st.layers) : new EmptyTree()
  }

  async function layerOf(fill: (dir: string) => Promise<void>) {
    // loaded on a miss only (it brings the helper's module): a cached build never writes a layer
    const {layerFromDir} = await import('../images/upper.js')
    const dir = store.tempDir()
    try {
      const root = `${dir}/layer`
      mkdirSync(root, {mode: 0o755})
      await fill(root)
      return await layerFromDir(store, root)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }

  async function runInstruction(ins: Instruction, st: State, v: Map<string, string>): Promise<State> {
    if (ins.flags.mount !== undefined || ins.flags.security !== undefined) throw failed(n, total, ins, `RUN --${ins.flags.mount !== undefined ? 'mount' : 'security'} is not supported`, 'leave the flag out: a RUN sees only its image')
    let command: string[]
    let input: string | undefined
    const onlyHeredoc = ins.heredocs.length > 0 && /^(<<-?["']?[A-Za-z_][A-Za-z0-9_]*["']?\s*)+$/.test(ins.args)
    const shebang = onlyHeredoc ? /^#!\s*(\S+)(?:[ \t]+(.*?))?[ \t]*\n/.exec(ins.heredocs[0].body) : null
    if (shebang) {
      // as BuildKit: a script with a #! line is a file the kernel runs with the interpreter
      // it names; here written to the sandbox's own /tmp (not part of the layer) from stdin
      command = ['/bin/sh', '-c', 'cat > "$0" && chmod 0700 "$0" && exec "$0"', '/tmp/.lab-heredoc-script']
      input = ins.heredocs[0].body
    } else if (onlyHeredoc) {
      command = [...(st.config.Shell ?? ['/bin/sh', '-c']), ins.heredocs[0].body]
    } else if (ins.heredocs.length > 0) {
      command = [...(st.config.Shell ?? ['/bin/sh', '-c']), [ins.args, ...ins.heredocs.map((h) => `${h.body}${h.name}`)].join('\n')]
    } else command = commandOf(ins, st.config)
    // the build arguments a RUN sees (an ENV of the same name wins, as in Docker)
    const env = envMap(st.config)
    const argEnv = [...st.args].filter(([k]) => !env.has(k)).map(([k, val]) => `${k}=${val}`).sort()
    const stepNetwork = ins.flags.network === 'host' ? 'host' : ins.flags.network === 'none' ? 'none' : network!
    if (stepNetwork === 'host' && network !== 'host') throw failed(n, total, ins, 'RUN --network=host needs the build to allow it', 'build with --network host')
    return cached(ins, st, [command, input ?? null, argEnv, stepNetwork], async () => {
      if (!st.id) throw failed(n, total, ins, 'this stage has no root file system to run in (FROM scratch)', 'copy a shell and programs into the stage first, or RUN in a stage built FROM an image')
      emit({type: 'running'})
      ran++
      // loaded on a miss only: a fully cached build starts no sandbox and needs no engine
      const {runStep} = await import('./run-step.js')
      const r = await runStep({store, stateDir: o.stateDir, parent: st.id, command, input, env: argEnv, user: st.config.User, workdir: st.config.WorkingDir, network: stepNetwork, limits: runLimits, timeoutMs, layerLimits: limits, onOutput: (chunk) => emit({type: 'output', chunk}), abortSignal: o.abortSignal})
      if (r.stopped) throw failed(n, total, ins, `stopped: ${r.stopped}`, 'write less in one step, or raise LAB_IMAGE_MAX_LAYER_SIZE / LAB_IMAGE_MAX_LAYER_FILES if the build is trusted')
      const res = r.result
      if (res.verdict !== 'ok') {
        const why = res.verdict === 'nonzero-exit' ? `returned a non-zero code: ${res.exitCode}` : res.verdict === 'timeout' ? `timed out (--timeout ${o.timeout})` : res.verdict === 'memory' ? `ran out of memory (--memory ${o.memory})` : res.verdict === 'pids' ? `reached the process limit (--pids-limit ${runLimits.pidsLimit})` : res.error ? `could not run: ${res.error.message}` : `ended: ${res.verdict}${res.signal ? ` (${res.signal})` : ''}`
        const offline = stepNetwork === 'none' && NETWORK_HINT.test(r.tail)
        const hint = offline ? 'the step seems to need the network, which a build does not have: build with --network host, or put what it downloads into the context and COPY it' : `its output is above; run the last good image to debug: lab sandbox run ${st.id!.slice(7, 19)} -- sh`
        const err = failed(n, total, ins, why, hint, 1)
        ;(err as LabError & {output?: string}).output = r.tail
        throw err
      }
      return commitConfig(st, st.config, ins, r.layer)
    })
  }

  async function copyInstruction(ins: Instruction, st: State, v: Map<string, string>, stage: Stage): Promise<State> {
    const add = ins.keyword === 'ADD'
    for (const f of Object.keys(ins.flags)) if (!['from', 'chown', 'chmod', 'link'].includes(f)) throw failed(n, total, ins, `${ins.keyword} --${f} is not supported`, `${ins.keyword} takes --from, --chown, --chmod (and --link, which changes nothing here)`)
    const words = ins.json ? ins.json.map((w) => processWord(JSON.stringify(w).slice(1, -1), v, df.escape)) : processWords(ins.args, v, df.escape)
    if (words.length < 2) throw failed(n, total, ins, `${ins.keyword} needs a source and a destination`, `e.g. ${ins.keyword} app/ /srv/app/`)
    const dest = words.pop()!
    let tree: ImageTree | undefined
    let fromWhat: string
    if (ins.flags.from !== undefined) {
      if (add) throw failed(n, total, ins, 'ADD --from is not supported', 'use COPY --from')
      const ref = processWord(ins.flags.from, v, df.escape)
      const s = stageOf(ref, stage.index)
      if (s) {
        const b = built.get(s.index)!
        tree = new ImageTree(`stage ${s.name ?? s.index}`, b.layers)
        fromWhat = b.id ?? 'scratch'
      } else {
        let id: string
        try {
          id = store.resolve(ref).id
        } catch {
          throw failed(n, total, ins, `--from=${ref} is neither an earlier stage nor an image in the store`, 'name a stage defined above, or pull or load the image first', 125)
        }
        tree = new ImageTree(ref, await layersOf(id))
        fromWhat = id
      }
    } else fromWhat = 'context'
    let hd = 0
    const sources: CopySource[] = words.map((w) => {
      if (w.startsWith('<<') && ins.heredocs[hd]) {
        const h = ins.heredocs[hd++]
        return {inline: {name: h.name, body: h.expand ? expandPlain(h.body, v) : h.body}}
      }
      return {tree: tree ?? ctx.tree, path: w}
    })
    const target = treeOf(st)
    const owner = ins.flags.chown !== undefined ? resolveOwner(processWord(ins.flags.chown, v, df.escape), target, n, total, ins) : undefined
    let chmod: number | undefined
    if (ins.flags.chmod !== undefined) {
      if (!/^[0-7]{3,4}$/.test(ins.flags.chmod)) throw failed(n, total, ins, `--chmod=${ins.flags.chmod} is not an octal mode`, 'e.g. --chmod=0755')
      chmod = parseInt(ins.flags.chmod, 8)
    }
    const plan = (): CopyPlan => {
      try {
        return planCopy({sources, dest, workdir: st.config.WorkingDir ?? '/', target, add, owner, chmod, instruction: ins.keyword, limits})
      } catch (e) {
        if (e instanceof LabError) throw failed(n, total, ins, e.message.replace(/^(COPY|ADD): /, ''), e.hint ?? '', 1)
        throw e
      }
    }
    // what COPY --from reads is fixed by the image it reads (layers are content-addressed
    // and never change): its id and the words are the key, nothing need be read for it.
    // The context can change under the same names: there the key holds the contents.
    const planned = tree ? undefined : plan()
    const key = tree ? [ins.text, words, dest, fromWhat, owner ?? null, chmod ?? null] : [ins.text, dest, fromWhat, planned!.hash]
    return cached(ins, st, key, async () => {
      const p = planned ?? plan()
      let layer
      try {
        layer = await layerOf((dir) => applyCopy(p, dir, target, () => store.tempDir(), limits))
      } catch (e) {
        if (e instanceof LabError) throw failed(n, total, ins, e.message, e.hint ?? '', 1)
        throw e
      }
      return commitConfig(st, st.config, ins, layer)
    })
  }
}

/** $NAME and ${NAME} in a heredoc body whose delimiter was not quoted. */
function expandPlain(body: string, v: Map<string, string>): string {
  return body.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, a, b) => v.get(a ?? b) ?? '')
}

/** ARG NAME[=default]…: into `into`, its value from --build-arg, else its default, else the global one. */
function declareArgs(ins: Instruction, into: Map<string, string>, globals: Map<string, string>, given: Map<string, string>, consumed: Set<string>, escape: string, v: Map<string, string> = into): void {
  for (const raw of ins.args.split(/\s+/).filter(Boolean)) {
    const eq = raw.indexOf('=')
    const name = eq < 0 ? raw : raw.slice(0, eq)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw dockerfileError(ins.line, `ARG "${raw}" is not NAME or NAME=DEFAULT`)
    consumed.add(name)
    const def = eq < 0 ? undefined : processWord(raw.slice(eq + 1), v, escape)
    const val = given.get(name) ?? def ?? globals.get(name)
    if (val !== undefined) into.set(name, val)
  }
}

/** --chown=USER[:GROUP]: numbers, or names of the image's own /etc/passwd and /etc/group. */
function resolveOwner(spec: string, tree: ImageTree, n: number, total: number, ins: Instruction): Owner {
  const [u, g] = spec.split(':')
  const read = (path: string): string[][] => {
    try {
      const rel = tree.resolve(path, true)
      const e = tree.entry(rel)
      if (!e || !e.st.isFile()) return []
      const fd = openSync(e.abs, constants.O_RDONLY | constants.O_NOFOLLOW)
      try {
        const size = Math.min(fstatSync(fd).size, 4 << 20)
        const b = Buffer.alloc(size)
        readSync(fd, b, 0, size, 0)
        return b.toString('utf8').split('\n').map((l) => l.split(':'))
      } finally {
        closeSync(fd)
      }
    } catch {
      return []
    }
  }
  let uid: number
  let gid: number | undefined
  if (/^[0-9]+$/.test(u)) uid = Number(u)
  else {
    const ent = read('/etc/passwd').find((f) => f[0] === u)
    if (!ent) throw failed(n, total, ins, `--chown: no user "${u}" in the image's /etc/passwd`, 'give a numeric id, or add the user first (RUN adduser …)')
    uid = Number(ent[2])
    gid = Number(ent[3])
  }
  if (g !== undefined && g !== '') {
    if (/^[0-9]+$/.test(g)) gid = Number(g)
    else {
      const ent = read('/etc/group').find((f) => f[0] === g)
      if (!ent) throw failed(n, total, ins, `--chown: no group "${g}" in the image's /etc/group`, 'give a numeric id, or add the group first')
      gid = Number(ent[2])
    }
  }
  gid ??= uid
  if (!(uid >= 0 && uid <= 65535 && gid >= 0 && gid <= 65535)) throw failed(n, total, ins, `--chown=${spec}: ids are 0–65535 in an image`, 'give a smaller id')
  return {uid, gid}
}
