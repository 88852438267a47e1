/**
 * The `lab` verbs a lab step (`command:`) or a student's answer (`commandFile:`) may run
 * besides `lab sandbox run`: one table, so a new verb (`lab build`, …) is one row. Each
 * row says which of the verb's arguments are files (confined to the work directory,
 * never through a link, never stdin/stdout) and which name a sandbox (the lab's names,
 * prefixed as `--name` is). The verb then runs as the CLI runs it, on the lab's private
 * state directory, so a lab never sees or changes the user's own images or sandboxes.
 */
import {usageError} from '../errors.js'
import {relComponents, safeStat} from './fsafe.js'

export interface VerbRule {
  /** the command class, for its flag table (which flags take a value) */
  load: () => Promise<{flags?: Record<string, {char?: string; type: string; allowNo?: boolean}>}>
  /** flags whose value is a file the verb reads / writes */
  inputs?: string[]
  outputs?: string[]
  /** positional arguments (0-based) that are a file the verb reads */
  inputArgs?: number[]
  /** positional arguments that name a sandbox of the lab */
  sandboxArgs?: number[]
  /** positional arguments that name a network of the lab (prefixed as sandboxes are; "all": every one) */
  networkArgs?: number[] | 'all'
  /** flag values a lab may not give when they start with one of these, and why */
  refusedPrefixes?: Record<string, {prefixes: string[]; why: string; hint: string}>
  /** positional arguments that name an image in a registry: the registry must be on loopback */
  registryArgs?: number[]
  /** the verb writes binary data to stdout unless given an output flag: require one */
  needsOutput?: boolean
  /** positional arguments that are a directory the verb reads ("." is the work directory) */
  dirArgs?: number[]
  /** a file the verb reads from the directory argument when the flag does not name one */
  defaultInput?: {flag: string; dirArg: number; name: string}
  /** inputs the verb opens following links (a build's Dockerfile): never in a directory sandboxes write to */
  stableInputs?: string[]
  /** flag values a lab may not give, and why */
  refusedValues?: Record<string, {values: string[]; why: string; hint: string}>
}

const cmd = (p: string) => () => import(`../commands/${p}.js`).then((m: {default: {flags?: Record<string, {char?: string; type: string}>}}) => m.default)

/** `lab sandbox run` is not in the table: it runs through the lab's own run path (actions.ts). */
export const LAB_VERBS: Record<string, VerbRule> = {
  'image pull': {load: cmd('image/pull'), registryArgs: [0]},
  'image push': {load: cmd('image/push'), registryArgs: [0]},
  'image ls': {load: cmd('image/ls')},
  'image inspect': {load: cmd('image/inspect')},
  'image history': {load: cmd('image/history')},
  'image tag': {load: cmd('image/tag')},
  'image rm': {load: cmd('image/rm')},
  'image prune': {load: cmd('image/prune')},
  'image save': {load: cmd('image/save'), outputs: ['output'], needsOutput: true},
  // tarballs only: an OCI layout directory could hold links a sandbox made
  'image load': {load: cmd('image/load'), inputs: ['input']},
  'image import': {load: cmd('image/import'), inputArgs: [0]},
  'image export': {load: cmd('image/export'), outputs: ['output'], needsOutput: true},
  'sandbox commit': {load: cmd('sandbox/commit'), sandboxArgs: [0]},
  'sandbox diff': {load: cmd('sandbox/diff'), sandboxArgs: [0]},
  'sandbox export': {load: cmd('sandbox/export'), outputs: ['output'], sandboxArgs: [0], needsOutput: true},
  // networks live in the lab's private state directory and go with it at the end of the
  // lab (workdir.ts); their names are the lab's, as its sandboxes' are
  'network create': {
    load: cmd('network/create'),
    networkArgs: [0],
    // a bridge name is the host's, not the lab's: two labs (or the user) could pick the same
    refusedPrefixes: {opt: {prefixes: ['com.docker.network.bridge.name'], why: 'a bridge name is shared by the whole host', hint: 'leave it out: lab names the network\'s bridge itself'}},
  },
  'network ls': {load: cmd('network/ls')},
  'network inspect': {load: cmd('network/inspect'), networkArgs: 'all'},
  'network rm': {load: cmd('network/rm'), networkArgs: 'all'},
  'network prune': {load: cmd('network/prune')},
  'network connect': {load: cmd('network/connect'), networkArgs: [0], sandboxArgs: [1]},
  'network disconnect': {load: cmd('network/disconnect'), networkArgs: [0], sandboxArgs: [1]},
  'sandbox port': {load: cmd('sandbox/port'), sandboxArgs: [0]},
  // `lab build [flags] CONTEXT`: the context, the Dockerfile and the id file are the work
  // directory's; what COPY reads is then kept inside the context by the build itself
  build: {
    load: cmd('build'),
    dirArgs: [0],
    inputs: ['file'],
    stableInputs: ['file'],
    outputs: ['iidfile'],
    defaultInput: {flag: 'file', dirArg: 0, name: 'Dockerfile'},
    refusedValues: {network: {values: ['host'], why: 'a lab\'s RUN steps have no network', hint: 'labs work offline: leave out --network (RUN steps get only their own loopback)'}},
  },
}

/** Flags no lab verb may take: the runner owns where state lives and where images come from. */
const RUNNER_OWNED = new Set(['state-dir', 'registry-mirror'])

/**
 * The registry an image reference names, as Docker reads it: a first part with a dot, a
 * colon or "localhost" is a registry, anything else is on docker.io.
 */
export function registryOf(ref: string): string {
  const slash = ref.indexOf('/')
  const first = slash < 0 ? '' : ref.slice(0, slash)
  return first && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io'
}

/** Labs work offline: they push to and pull from a registry on this machine only. */
export function isLoopbackRegistry(host: string): boolean {
  return /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/.test(host)
}

/** `image ls …` → the verb ("image ls", or one word: "build") and its arguments. */
export function splitVerb(words: string[], where: string): {verb: string; args: string[]} {
  if (words.length > 0 && LAB_VERBS[words[0]]) return {verb: words[0], args: words.slice(1)}
  const verb = words.slice(0, 2).join(' ')
  if (verb === 'sandbox run') return {verb, args: words.slice(2)}
  if (!LAB_VERBS[verb]) {
    throw usageError(`${where}: \`lab ${words.slice(0, 2).join(' ')}\` is not a verb labs run`, `a lab runs lab sandbox run and ${Object.keys(LAB_VERBS).map((v) => `lab ${v}`).join(', ')}`)
  }
  return {verb, args: words.slice(2)}
}

/** Strips the leading `lab` (or `./bin/run.js`) of a command line a student wrote. */
export function stripLab(words: string[], where: string): string[] {
  if (words.length === 0) throw usageError(`${where}: the file has no command yet`, 'write one `lab …` command in it')
  if (!/(^|\/)(lab|run\.js)$/.test(words[0])) throw usageError(`${where}: the answer must be one \`lab …\` command (it starts with "${words[0]}")`, 'start the line with lab, e.g. lab image ls')
  return words.slice(1)
}

export interface VerbContext {
  work: string
  where: string
  /** directories sandboxes write to (a file there could be swapped for a link): never an output */
  writable: string[]
  sandboxName: (short: string) => string
  /** a network's name as the lab's (the built-in bridge, host and none stay as they are) */
  networkName?: (short: string) => string
  /** false when checking a lab at load time: the files do not exist yet */
  statFiles?: boolean
}

/** A directory argument (a build context) → ./path in the work directory ("." is the work directory itself). */
function confinedDir(rel: string, ctx: VerbContext): string {
  if (rel === '') throw usageError(`${ctx.where}: the build context is empty`, 'give a directory of the work directory, e.g. .')
  if (rel.startsWith('/') || rel.split('/').includes('..')) relComponents(rel, ctx.where) // refuses "/", absolute paths and ".." before any tidying
  const clean = rel.replace(/^(\.\/)+/, '').replace(/\/+$/, '')
  if (clean === '.' || clean === '') return '.'
  const parts = relComponents(clean, ctx.where)
  if (ctx.statFiles === false) return `./${parts.join('/')}`
  const st = safeStat(ctx.work, parts.join('/'), ctx.where) // refuses a link anywhere on the way
  if (!st) throw usageError(`${ctx.where}: ${rel} does not exist in the work directory`, 'give a directory of the work directory, e.g. . or app')
  if (!st.isDirectory()) throw usageError(`${ctx.where}: ${rel} is not a directory`, 'the build context is a directory (the one holding the Dockerfile and what it copies)')
  return `./${parts.join('/')}`
}

/** A file argument → its absolute path in the work directory, refused when it leaves it. */
function confinedFile(rel: string, kind: 'input' | 'output', ctx: VerbContext, stable = false): string {
  if (rel === '-' || rel === '') throw usageError(`${ctx.where}: a lab does not pipe through stdin or stdout ("${rel}")`, kind === 'input' ? 'give the file by its name in the work directory' : 'write to a file in the work directory with -o FILE')
  const parts = relComponents(rel.replace(/^(\.\/)+/, ''), ctx.where)
  const path = parts.join('/')
  if ((kind === 'output' || stable) && ctx.writable.some((w) => path === w || path.startsWith(w.replace(/\/$/, '') + '/'))) {
    throw usageError(`${ctx.where}: ${rel} is in a directory sandboxes write to`, kind === 'output' ? 'write the file elsewhere in the work directory' : 'keep it outside the directories the lab\'s sandboxes write to (its writable list)')
  }
  if (ctx.statFiles === false) return `./${path}`
  const st = safeStat(ctx.work, path, ctx.where) // refuses a link anywhere on the way
  if (kind === 'input') {
    if (!st) throw usageError(`${ctx.where}: ${rel} does not exist in the work directory`, 'make it first (an earlier step or command writes it)')
    if (!st.isFile()) throw usageError(`${ctx.where}: ${rel} is not a regular file`, 'give a tarball; a directory (an OCI layout) is not read in labs')
    if (st.nlink > 1) throw usageError(`${ctx.where}: ${rel} is a hard link`, 'a lab reads only files of the work directory itself: copy it instead of linking it')
  } else {
    if (parts.length > 1 && !safeStat(ctx.work, parts.slice(0, -1).join('/'), ctx.where)?.isDirectory()) throw usageError(`${ctx.where}: the directory of ${rel} does not exist`)
    if (st && !st.isFile()) throw usageError(`${ctx.where}: ${rel} exists and is not a regular file`)
    if (st && st.nlink > 1) throw usageError(`${ctx.where}: ${rel} is a hard link`, 'writing it would change the file it is linked to: remove it first')
  }
  // relative to the work directory, where the verb runs ("./": a name never reads as an option)
  return `./${path}`
}

/**
 * Checks a verb's arguments against its row and returns them as the CLI gets them:
 * files made absolute in the work directory, sandbox names made the lab's.
 */
export async function confineVerbArgs(verb: string, args: string[], ctx: VerbContext): Promise<string[]> {
  const rule = LAB_VERBS[verb]
  const defs = (await rule.load()).flags ?? {}
  const byChar = new Map(Object.entries(defs).filter(([, d]) => d.char).map(([n, d]) => [d.char!, n]))
  const out: string[] = []
  let positional = 0
  let sawOutput = false
  const given = new Set<string>()
  const dirs = new Map<number, string>()
  const flagValue = (name: string, value: string): string => {
    given.add(name)
    const refusal = rule.refusedValues?.[name]
    if (refusal?.values.includes(value)) throw usageError(`${ctx.where}: --${name} ${value} is not available in labs: ${refusal.why}`, refusal.hint)
    const byPrefix = rule.refusedPrefixes?.[name]
    if (byPrefix?.prefixes.some((p) => value.trim().startsWith(p))) throw usageError(`${ctx.where}: --${name} ${value} is not available in labs: ${byPrefix.why}`, byPrefix.hint)
    if (rule.inputs?.includes(name)) return confinedFile(value, 'input', ctx, rule.stableInputs?.includes(name))
    if (rule.outputs?.includes(name)) {
      sawOutput = true
      return confinedFile(value, 'output', ctx)
    }
    return value
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '--') {
      throw usageError(`${ctx.where}: "--" ends the options of \`lab sandbox run\` only`, `lab ${verb} takes its arguments without it`)
    }
    if (a.startsWith('-') && a !== '-') {
      const long = a.startsWith('--')
      const [key, inline] = long ? [a.slice(2).split('=')[0], a.includes('=') ? a.slice(a.indexOf('=') + 1) : undefined] : [a.slice(1, 2), a.length > 2 ? a.slice(2).replace(/^=/, '') : undefined]
      const name = long ? (defs[key] ? key : key.startsWith('no-') && defs[key.slice(3)]?.allowNo ? key.slice(3) : key) : byChar.get(key)
      if (name === undefined || (!defs[name] && name !== 'json')) throw usageError(`${ctx.where}: lab ${verb} has no option ${a.split('=')[0]}`, `see lab ${verb} --help`)
      if (RUNNER_OWNED.has(name)) throw usageError(`${ctx.where}: --${name} is not available in labs`, 'the lab keeps its images and sandboxes in a state directory of its own')
      if (name === 'json' || defs[name].type === 'boolean') {
        if (inline !== undefined && long) throw usageError(`${ctx.where}: --${key} takes no value`)
        out.push(a)
        continue
      }
      let value = inline
      if (value === undefined) {
        if (i + 1 >= args.length) throw usageError(`${ctx.where}: ${a} needs a value`)
        value = args[++i]
      }
      out.push(long ? `--${name}` : `-${key}`, flagValue(name, value))
      continue
    }
    if (rule.inputArgs?.includes(positional)) out.push(confinedFile(a, 'input', ctx))
    else if (rule.dirArgs?.includes(positional)) {
      const dir = confinedDir(a, ctx)
      dirs.set(positional, dir)
      out.push(dir)
    } else if (rule.sandboxArgs?.includes(positional)) out.push(ctx.sandboxName(a))
    else if (rule.networkArgs === 'all' || rule.networkArgs?.includes(positional)) out.push((ctx.networkName ?? ctx.sandboxName)(a))
    else {
      if (rule.registryArgs?.includes(positional) && !isLoopbackRegistry(registryOf(a))) {
        throw usageError(`${ctx.where}: ${a} is on ${registryOf(a)}, and a lab reaches no registry off this machine`, 'labs work offline: use the lab\'s registry, $REGISTRY/NAME:TAG (127.0.0.1:PORT)')
      }
      out.push(a)
    }
    positional++
  }
  const d = rule.defaultInput
  if (d && !given.has(d.flag) && dirs.has(d.dirArg)) {
    // the file the verb would read by default: a link there could name any file of the host
    const dir = dirs.get(d.dirArg)!.replace(/^\.\/?/, '')
    confinedFile(dir ? `${dir}/${d.name}` : d.name, 'input', ctx, rule.stableInputs?.includes(d.flag))
  }
  if (rule.needsOutput && !sawOutput) throw usageError(`${ctx.where}: lab ${verb} writes a tarball: a lab takes it in a file`, `add -o FILE (a file in the work directory), e.g. lab ${verb} -o out.tar …`)
  return out
}
