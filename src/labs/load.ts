/**
 * Finding and loading labs: lab.yaml is parsed (yaml), checked against the published
 * schema (compiled ahead of time), then by named checks of meaning — references
 * between steps, templates, run arguments, and safe fixture and solution trees.
 * Every problem is one line naming the file, the line and the JSON path.
 */
import {existsSync, readdirSync, realpathSync} from 'node:fs'
import {basename, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

import Handlebars from 'handlebars'

import {parseRunArgv} from '../cli/run-flags.js'
import {LabError} from '../errors.js'
import {jsonPathToYaml, parseYaml, problemLine, schemaProblems, summarizeProblems, type ParsedYaml, type YamlPath} from '../util/yaml-load.js'
import {check as schemaCheck} from '../validators.js'
import {FLAG_FEATURES, missingFeatures} from './features.js'
import {safeReadFile, safeStat, walkSafe} from './fsafe.js'
import {ACTION_KINDS, CHECK_KINDS, LAB_SCHEMA, RESULT_ACTIONS, SANDBOX_ACTIONS, type Action, type Check, type Feature, type LabFile, type Step} from './schema.js'
import {splitCommand} from './shell.js'
import {confineVerbArgs, splitVerb} from './verbs.js'

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const LABS_DIR = join(PACKAGE_ROOT, 'labs')

/** Flags a lab's run action may not use: the runner owns output, stdin and the terminal. */
const FORBIDDEN_FLAGS = new Set(['json', 'interactive', 'tty', 'state-dir', 'cidfile'])

export interface LoadedStep extends Step {
  index: number
  number: number
  /** features the step needs: declared plus implied by its flags */
  needs: Feature[]
  /** why the step cannot run on this engine, or null */
  unavailable: string | null
}

export interface Lab {
  id: string
  dir: string
  file: string
  data: LabFile
  steps: LoadedStep[]
  /** instructions by relative path */
  templates: Map<string, string>
  hasFixtures: boolean
  hasSolution: boolean
}

export class LabFormatError extends LabError {
  readonly problems: string[]
  constructor(problems: string[]) {
    super('lab-invalid', summarizeProblems(problems), {
      hint: problems.length > 1 ? 'run `lab validate PATH` to see every problem' : 'fix the lab file; the schema is schemas/lab.schema.json',
    })
    this.problems = problems
  }
}

/** A lab id or a path to a lab directory (or its lab.yaml) → the lab's directory. */
export function resolveLabDir(idOrPath: string): string {
  const looksLikePath = idOrPath.includes('/') || idOrPath === '.' || idOrPath === '..' || idOrPath.endsWith('.yaml')
  let dir = looksLikePath ? idOrPath.replace(/\/lab\.yaml$/, '').replace(/^lab\.yaml$/, '.') : join(LABS_DIR, idOrPath)
  // a lab of your own in the current directory (`lab new my-lab` makes ./my-lab) is found by its id too
  if (!looksLikePath && !existsSync(join(dir, 'lab.yaml')) && existsSync(join(idOrPath, 'lab.yaml'))) dir = idOrPath
  if (!looksLikePath && !/^[a-z][a-z0-9-]{1,39}$/.test(idOrPath)) {
    throw new LabError('lab-not-found', `"${idOrPath}" is not a lab id`, {hint: 'lab ids are lowercase words joined by "-"; `lab list` shows them', exitCode: 1})
  }
  if (!existsSync(join(dir, 'lab.yaml'))) {
    throw new LabError('lab-not-found', looksLikePath ? `${idOrPath}: no lab.yaml there` : `no lab named "${idOrPath}"`, {
      hint: looksLikePath ? 'give a directory that holds a lab.yaml' : '`lab list` shows the labs; give a lab of your own by its path (./my-lab)',
      exitCode: 1,
    })
  }
  dir = realpathSync(dir)
  return dir
}

/** Every lab shipped with lab (labs/<id>/lab.yaml), sorted by id. */
export function listLabDirs(root = LABS_DIR): string[] {
  if (!existsSync(root)) return []
  return readdirSync(root)
    .filter((n) => /^[a-z][a-z0-9-]{1,39}$/.test(n) && existsSync(join(root, n, 'lab.yaml')))
    .sort()
    .map((n) => join(root, n))
}

/** Collects problems as "file:line: /path: message". */
class Problems {
  readonly list: string[] = []
  constructor(
    private readonly file: string,
    private readonly parsed: Pick<ParsedYaml, 'lineOf'>,
  ) {}

  add(path: YamlPath, message: string): void {
    this.list.push(problemLine(this.file, this.parsed, path, message))
  }

  addFile(file: string, message: string): void {
    this.list.push(`${file}: ${message}`)
  }
}

/** A check or an action that names no kind, or two: one sentence naming the kinds. */
function oneOfSentence(path: string): string {
  return /\/checks\/\d+$/.test(path) ? `a check needs exactly one of ${CHECK_KINDS.join(', ')}` : `an action needs exactly one of ${ACTION_KINDS.join(', ')}`
}

/** Names a template may use: {{work}}, {{lab.id}}, {{step.title}}, {{results.NAME.stdout}}, {{name "x"}}. */
const TEMPLATE_ROOTS = new Set(['work', 'lab', 'step', 'results', 'host', 'name', 'port', 'digest', 'lastGood', 'hostPort', 'if', 'unless', 'each', 'with', 'this'])

/**
 * Checks a handlebars template; returns the result names it reads. A result exists only
 * once its step ran, and `lab show` renders the lesson before that: every use of
 * `results.NAME` must sit inside `{{#if results.NAME}}…{{/if}}` (with an `{{else}}` that
 * reads well before the run), so no placeholder ever reaches the lesson.
 */
export function templateProblems(src: string, resultsSoFar: Set<string>, shownBeforeRun = true): {error: string | null; results: string[]} {
  let ast: hbs.AST.Program
  try {
    ast = Handlebars.parse(src)
  } catch (e) {
    return {error: `template does not parse: ${String((e as Error).message).split('\n')[0]}`, results: []}
  }
  const results: string[] = []
  type Node = {type: string; path?: hbs.AST.Node & {original?: string}; params?: hbs.AST.Node[]; program?: hbs.AST.Program; inverse?: hbs.AST.Program; body?: hbs.AST.Node[]; original?: string; loc?: hbs.AST.SourceLocation}
  const visit = (node: hbs.AST.Node | undefined, guarded: ReadonlySet<string>, asGuard = false): string | null => {
    if (!node) return null
    const n = node as unknown as Node
    if (n.type === 'PathExpression') {
      const orig = n.original ?? ''
      if (orig.startsWith('@') || orig === 'this' || orig.startsWith('this.') || orig.startsWith('../')) return null
      const parts = orig.split('.')
      if (!TEMPLATE_ROOTS.has(parts[0])) return `unknown template variable "{{${orig}}}" (use work, lab, step, results.NAME, host.interfaces, host.hostname, host.workDevice or {{name "x"}})`
      if (parts[0] === 'results' && parts[1] !== undefined) {
        if (!resultsSoFar.has(parts[1])) return `{{${orig}}} refers to no earlier result named "${parts[1]}"`
        if (shownBeforeRun && !asGuard && !guarded.has(parts[1])) {
          const line = n.loc ? `line ${n.loc.start.line}: ` : ''
          return `${line}{{${orig}}} has no value before the step runs (\`lab show\`): put it inside {{#if results.${parts[1]}}}…{{else}}what the reader should expect{{/if}}`
        }
        results.push(parts[1])
      }
      return null
    }
    if (n.type === 'BlockStatement' && (n.path?.original === 'if' || n.path?.original === 'unless')) {
      const cond = n.params?.[0] as (hbs.AST.Node & {original?: string}) | undefined
      const e = visit(cond, guarded, true)
      if (e) return e
      const m = /^results\.([^.]+)/.exec(cond?.type === 'PathExpression' ? cond.original ?? '' : '')
      const inside = m ? new Set([...guarded, m[1]]) : guarded
      const [then, otherwise] = n.path.original === 'if' ? [inside, guarded] : [guarded, inside]
      for (const c of n.program?.body ?? []) {
        const err = visit(c, then)
        if (err) return err
      }
      for (const c of n.inverse?.body ?? []) {
        const err = visit(c, otherwise)
        if (err) return err
      }
      return null
    }
    for (const child of [n.path as hbs.AST.Node | undefined, ...(n.params ?? []), ...(n.body ?? [])]) {
      const e = visit(child, guarded)
      if (e) return e
    }
    // other block helpers (#each, #with) change the context: their bodies are not checked
    return null
  }
  for (const node of ast.body) {
    const e = visit(node, new Set())
    if (e) return {error: e, results}
  }
  return {error: null, results}
}

/** A dummy context for checking run arguments at load time. */
function dummyRender(src: string, labId: string): string {
  return Handlebars.compile(src, {noEscape: true})({work: '/work-dir', lab: {id: labId}, step: {}, results: {}}, {helpers: {name: (n: unknown) => `${labId}-${String(n)}`, port: () => '5000', digest: () => `sha256:${'0'.repeat(64)}`, lastGood: () => '0'.repeat(12), hostPort: () => '32768'}})
}

const RESULT_KINDS = new Set<string>(RESULT_ACTIONS)

/** Verbs of networks (and published ports): they need bridged networks, not images. */
const isNetworkVerb = (verb: string) => verb.startsWith('network ') || verb === 'sandbox port'

/** The sandboxes a run names (--name) and the ones it refers to (--volumes-from, --network sandbox:…). */
function sandboxNames(argv: string[], labId: string): {named: string | null; refs: string[]} {
  const prefixed = (n: string) => (n.startsWith(`${labId}-`) ? n : `${labId}-${n}`)
  let parsed
  try {
    parsed = parseRunArgv(argv)
  } catch {
    return {named: null, refs: []}
  }
  const f = parsed.flags
  const refs: string[] = []
  for (const v of (f['volumes-from'] as string[] | undefined) ?? []) refs.push(prefixed(v.split(':')[0]))
  for (const k of ['network', 'ipc', 'pid']) {
    const m = /^(?:sandbox|container):([^:]+)$/.exec((f[k] as string | undefined) ?? '')
    if (m) refs.push(prefixed(m[1]))
  }
  for (const l of (f.link as string[] | undefined) ?? []) refs.push(prefixed(l.split(':')[0]))
  return {named: typeof f.name === 'string' ? prefixed(f.name) : null, refs}
}

function checkRunArgs(args: string, where: YamlPath, labId: string, problems: Problems, sandboxes?: Set<string>): Feature[] {
  const needs: Feature[] = []
  let argv: string[]
  try {
    argv = splitCommand(dummyRender(args, labId), {where: 'run', vars: {}})
  } catch (e) {
    problems.add(where, (e as LabError).message.replace(/^run: /, ''))
    return needs
  }
  // flags of features the engine lacks are expected (the step is then unavailable)
  const known: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--' || !a.startsWith('-')) {
      known.push(...argv.slice(i))
      break
    }
    const name = a.startsWith('--') ? a.slice(2).split('=')[0] : a.slice(1, 2)
    const feature = FLAG_FEATURES[name]
    if (feature) {
      needs.push(feature)
      if (!missingFeatures([feature])) known.push(a)
      // skip the flag's value when it has one ("--memory 64m"); boolean feature flags (-d) have none
      else if (!a.includes('=') && !['d', 'detach'].includes(name)) i++
      continue
    }
    known.push(a)
  }
  try {
    const parsed = parseRunArgv(known)
    if (parsed.help) problems.add(where, '--help is not an action')
    for (const f of FORBIDDEN_FLAGS) if (parsed.flags[f] === true) problems.add(where, `--${f} cannot be used in a lab (the runner captures output and reads no terminal)`)
    // on an image, no command means the image's own (Entrypoint and Cmd), as docker run IMAGE
    if (parsed.command.length === 0 && parsed.image === undefined && parsed.flags.image === undefined) problems.add(where, 'no command after the options')
    const name = parsed.flags.name
    if (typeof name === 'string' && !name.startsWith(`${labId}-`)) problems.add(where, `--name ${name}: sandboxes of a lab are named for it; write --name {{name "${name}"}}`)
    if (sandboxes) {
      const s = sandboxNames(argv, labId)
      for (const r of s.refs) if (!sandboxes.has(r)) problems.add(where, `refers to sandbox "${r}", which no earlier action starts with --name`)
      if (s.named) sandboxes.add(s.named)
    }
  } catch (e) {
    problems.add(where, (e as LabError).message)
  }
  return needs
}

export async function loadLab(idOrPath: string): Promise<Lab> {
  const dir = resolveLabDir(idOrPath)
  const shown = relative(process.cwd(), join(dir, 'lab.yaml')) || 'lab.yaml'
  const shownFile = shown.startsWith('..') ? join(dir, 'lab.yaml') : shown
  const text = safeReadFile(dir, 'lab.yaml', shownFile, 1024 * 1024)
  if (text === null) throw new LabError('lab-not-found', `${shownFile}: not found`, {exitCode: 1})

  const parsed = parseYaml(text, shownFile, (problems) => new LabFormatError(problems))
  const problems = new Problems(shownFile, parsed)
  const data = parsed.data as LabFile

  for (const p of schemaProblems(await schemaCheck('lab', data), {schema: LAB_SCHEMA, data, oneOf: oneOfSentence})) problems.add(jsonPathToYaml(p.path), p.message)
  if (problems.list.length > 0) throw new LabFormatError(problems.list)

  // --- meaning
  const dirName = basename(dir)
  if (data.id !== dirName) problems.add(['id'], `the id "${data.id}" differs from the lab's directory name "${dirName}"`)

  const rel = (p: string) => (relative(process.cwd(), join(dir, p)).startsWith('..') ? join(dir, p) : relative(process.cwd(), join(dir, p)))
  const hasFixtures = existsSync(join(dir, 'fixtures'))
  const hasSolution = existsSync(join(dir, 'solution'))
  const solutionFiles = new Set<string>()
  const fixtureFiles = new Set<string>()
  for (const [sub, set] of [['fixtures', fixtureFiles], ['solution', solutionFiles]] as const) {
    if (!existsSync(join(dir, sub))) continue
    if (!safeStat(dir, sub, rel(sub))?.isDirectory()) {
      problems.addFile(rel(sub), 'must be a directory')
      continue
    }
    try {
      for (const e of walkSafe(join(dir, sub), rel(sub))) if (!e.dir) set.add(e.rel)
    } catch (e) {
      problems.list.push((e as LabError).message)
    }
  }

  const templates = new Map<string, string>()
  const readTemplate = (p: string, where: YamlPath, resultsSoFar: Set<string>) => {
    if (!p.endsWith('.md')) problems.add(where, `${p}: instructions are Markdown files ending in .md`)
    let src: string | null
    try {
      src = safeReadFile(dir, p, rel(p))
    } catch (e) {
      problems.add(where, (e as LabError).message)
      return
    }
    if (src === null) {
      problems.add(where, `${p} does not exist in the lab directory`)
      return
    }
    const t = templateProblems(src, resultsSoFar)
    if (t.error) problems.addFile(rel(p), t.error)
    templates.set(p, src)
  }
  // run arguments and checks are rendered only when their step runs
  const checkTemplate = (src: string, where: YamlPath, resultsSoFar: Set<string>) => {
    const t = templateProblems(src, resultsSoFar, false)
    if (t.error) problems.add(where, t.error)
  }

  if (data.intro) readTemplate(data.intro, ['intro'], new Set())

  const stepIds = new Set<string>()
  const resultNames = new Set<string>()
  /** sandboxes started with --name so far (full names): what later actions and checks may refer to */
  const sandboxes = new Set<string>()
  const checkSandboxRef = (ref: string, where: YamlPath) => {
    const full = dummyRender(ref, data.id)
    const n = full.startsWith(`${data.id}-`) ? full : `${data.id}-${full}`
    if (!sandboxes.has(n)) problems.add(where, `unknown sandbox "${ref}": no earlier action starts a sandbox with --name ${ref}`)
  }
  const solutionTexts = new Map<string, string>()
  for (const f of solutionFiles) {
    try {
      const t = safeReadFile(join(dir, 'solution'), f, rel(`solution/${f}`), 64 * 1024)
      if (t !== null) solutionTexts.set(f, t)
    } catch {
      /* walkSafe reported it */
    }
  }
  const steps: LoadedStep[] = []
  for (const [si, step] of data.steps.entries()) {
    const at: YamlPath = ['steps', si]
    if (stepIds.has(step.id)) problems.add([...at, 'id'], `a step with id "${step.id}" comes earlier; step ids are unique`)
    stepIds.add(step.id)
    const needs = new Set<Feature>(step.requires ?? [])
    const stepResults = new Set<string>()
    const stepOutcomes = new Set<string>()
    let lastResultKind: string | undefined
    const actions = step.actions ?? []
    for (const [ai, a] of actions.entries()) {
      const aat: YamlPath = [...at, 'actions', ai]
      const kind = Object.keys(a).find((k) => (ACTION_KINDS as readonly string[]).includes(k))!
      const name = a.as ?? `a${ai + 1}`
      if (a.as !== undefined && resultNames.has(a.as)) problems.add([...aat, 'as'], `the result name "${a.as}" is used earlier; result names are unique in a lab`)
      if (kind !== 'mkdir') {
        stepOutcomes.add(name)
        if (RESULT_KINDS.has(kind)) {
          stepResults.add(name)
          lastResultKind = name
        }
        if (a.as !== undefined) resultNames.add(a.as)
      } else if (a.as !== undefined) problems.add([...aat, 'as'], `${kind} gives no result to name`)
      if (a.run !== undefined) {
        checkTemplate(a.run, [...aat, 'run'], resultNames)
        for (const f of checkRunArgs(a.run, [...aat, 'run'], data.id, problems, sandboxes)) needs.add(f)
      }
      if ((SANDBOX_ACTIONS as readonly string[]).includes(kind)) {
        needs.add('lifecycle')
        const ref = (a as Record<string, {sandbox: string}>)[kind].sandbox
        checkSandboxRef(ref, [...aat, kind, 'sandbox'])
        if (kind === 'exec') {
          checkTemplate(a.exec!.command, [...aat, 'exec', 'command'], resultNames)
          try {
            if (splitCommand(dummyRender(a.exec!.command, data.id), {where: 'exec', vars: {}}).length === 0) problems.add([...aat, 'exec', 'command'], 'no command')
          } catch (e) {
            problems.add([...aat, 'exec', 'command'], (e as LabError).message.replace(/^exec: /, ''))
          }
        }
        if (kind === 'wait') {
          const w = a.wait!
          if (w.until === 'log' && !w.log) problems.add([...aat, 'wait'], 'until: log needs the text to wait for (log)')
          if (w.until === 'restarts' && !w.restarts) problems.add([...aat, 'wait'], 'until: restarts needs the number of restarts (restarts)')
        }
      }
      if (a.command !== undefined) {
        checkTemplate(a.command, [...aat, 'command'], resultNames)
        if (a.command.includes('{{port')) needs.add('registry')
        try {
          const words = splitCommand(dummyRender(a.command, data.id), {where: 'command', vars: {}})
          const {verb, args} = splitVerb(words, 'command')
          if (verb === 'sandbox run') {
            for (const f of checkRunArgs(a.command.replace(/^\s*sandbox\s+run\s+/, ''), [...aat, 'command'], data.id, problems, sandboxes)) needs.add(f)
          } else {
            needs.add(isNetworkVerb(verb) ? 'bridged-networks' : 'images')
            // the verb's own checks (options, files, registries, --state-dir), files not
            // looked at yet; a sandbox it names must be one an earlier action starts
            await confineVerbArgs(verb, args, {work: '/work-dir', where: 'command', writable: data.writable ?? [], statFiles: false, sandboxName: (n) => {
              checkSandboxRef(n, [...aat, 'command'])
              return n
            }, networkName: (n) => n})
          }
        } catch (e) {
          problems.add([...aat, 'command'], (e as LabError).message.replace(/^command: /, ''))
        }
      }
      if (a.archive?.busybox) needs.add('static-busybox')
      if (a.commandFile !== undefined) {
        const sol = solutionTexts.get(a.commandFile)
        needs.add(sol !== undefined && /^\s*lab\s+(network\s|sandbox\s+port\s)/.test(sol) ? 'bridged-networks' : 'images')
        if (sol !== undefined) {
          try {
            const words = splitCommand(sol, {where: a.commandFile, vars: {PWD: '/work', WORK: '/work', REGISTRY: '127.0.0.1:5000'}})
            if (words[1] === 'sandbox' && words[2] === 'run') {
              const s = sandboxNames(words.slice(3), data.id)
              if (s.named) sandboxes.add(s.named)
            }
            if (/\$\{?REGISTRY\b/.test(sol)) needs.add('registry')
          } catch {
            /* a malformed reference answer shows up when it runs */
          }
        }
        if (!solutionFiles.has(a.commandFile) && !fixtureFiles.has(a.commandFile)) problems.add([...aat, 'commandFile'], `${a.commandFile} is neither in solution/ nor in fixtures/ (the walkthrough runs the reference answer)`)
        if (step.exercise && step.exercise.file !== a.commandFile && !fixtureFiles.has(a.commandFile)) problems.add([...aat, 'commandFile'], `${a.commandFile} is not this step's exercise file (${step.exercise.file})`)
      }
      if (a.volumeCreate !== undefined || a.volumeRm !== undefined) needs.add('named-volumes')
      if (a.profileDiff !== undefined) needs.add('seccomp-profiles')
      if (a.runFile !== undefined) {
        // a reference answer that names a sandbox makes that name known to later steps
        const sol = solutionTexts.get(a.runFile)
        if (sol !== undefined) {
          try {
            const words = splitCommand(sol, {where: a.runFile, vars: {PWD: '/work', WORK: '/work'}})
            const s = sandboxNames(words.slice(3), data.id)
            if (s.named) sandboxes.add(s.named)
          } catch {
            /* a malformed reference answer shows up when it runs */
          }
        }
        const known = solutionFiles.has(a.runFile) || fixtureFiles.has(a.runFile)
        if (!known) problems.add([...aat, 'runFile'], `${a.runFile} is neither in solution/ nor in fixtures/ (the walkthrough runs the reference answer)`)
        if (step.exercise && step.exercise.file !== a.runFile && !fixtureFiles.has(a.runFile)) {
          problems.add([...aat, 'runFile'], `${a.runFile} is not this step's exercise file (${step.exercise.file})`)
        }
      }
    }
    if (step.read) readTemplate(step.read, [...at, 'read'], resultNames)
    if (step.exercise) {
      checkTemplate(step.exercise.task, [...at, 'exercise', 'task'], new Set())
      if (!solutionFiles.has(step.exercise.file)) problems.add([...at, 'exercise', 'file'], `no reference answer: solution/${step.exercise.file} is missing`)
      if ((step.checks ?? []).length === 0) problems.add([...at, 'exercise'], 'an exercise needs checks to judge the answer')
    }
    const lastResult = lastResultKind
    ;(step.checks ?? []).forEach((c: Check, ci) => {
      const cat: YamlPath = [...at, 'checks', ci]
      const needsResult = !c.file && !c.wallRatio && !c.state && !c.volume
      const known = c.error ? stepOutcomes : stepResults
      if (c.of !== undefined && !known.has(c.of)) {
        problems.add([...cat, 'of'], `unknown result "${c.of}"${known.size ? ` (this step's results: ${[...known].join(', ')})` : ''}`)
      } else if (needsResult && c.of === undefined && !lastResult) {
        problems.add(cat, 'unreachable check: the step runs nothing whose outcome it could look at (add a run or runFile action)')
      }
      if (c.state) {
        needs.add('lifecycle')
        checkSandboxRef(c.state.sandbox, [...cat, 'state', 'sandbox'])
      }
      if (c.volume) needs.add('named-volumes')
      if (c.wallRatio) {
        for (const k of ['slow', 'fast'] as const) if (!stepResults.has(c.wallRatio[k])) problems.add([...cat, 'wallRatio', k], `unknown result "${c.wallRatio[k]}"`)
      }
      for (const k of ['stdout', 'stderr', 'file', 'error', 'volume'] as const) {
        const m = c[k] as Record<string, unknown> | undefined
        if (!m) continue
        for (const [mk, mv] of Object.entries(m)) {
          if (typeof mv !== 'string') continue
          checkTemplate(mv, [...cat, k, mk], resultNames)
          if (mk === 'matches') {
            try {
              new RegExp(mv, 'm')
            } catch (e) {
              problems.add([...cat, k, mk], `not a regular expression: ${(e as Error).message}`)
            }
          }
        }
      }
    })
    const loaded: LoadedStep = {...step, index: si, number: si + 1, needs: [...needs], unavailable: missingFeatures(needs)}
    steps.push(loaded)
  }

  if (problems.list.length > 0) throw new LabFormatError(problems.list)
  return {id: data.id, dir, file: shownFile, data, steps, templates, hasFixtures, hasSolution}
}
