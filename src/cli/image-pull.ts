/**
 * `lab image pull`: shared by the oclif command (src/commands/image/pull.ts) and the
 * start-up fast path in bin/run.js, which skips loading oclif (on a small image, start-up
 * was a third of a pull). No oclif imports.
 */
import {Progress} from '../images/progress.js'
import {parsePlatform, pullImage} from '../images/pull.js'
import {familiarTagged} from '../images/reference.js'
import {ImageStore} from '../images/store.js'
import {parseFastArgv, type FastArgvSpec} from './fast-argv.js'
import {printError, printJson} from './output.js'

export interface PullFlags {
  platform?: string
  'registry-mirror'?: string
  quiet?: boolean
  'insecure-registry'?: string[]
  'state-dir'?: string
}

/** Pulls and prints as `docker pull` does; the result is returned (--json prints it). */
export async function pullCommand(image: string, flags: PullFlags, json: boolean, log: (line: string) => void = (l) => process.stdout.write(l + '\n')) {
  const store = new ImageStore(flags['state-dir'])
  const quiet = json || flags.quiet === true
  const out = await pullImage(store, image, {
    stateDir: flags['state-dir'],
    platform: flags.platform ? parsePlatform(flags.platform) : undefined,
    insecure: flags['insecure-registry'],
    mirror: flags['registry-mirror'],
    progress: new Progress(quiet ? null : process.stdout),
  })
  const shown = out.reference.includes('@') ? out.reference : familiarTagged(out.reference)
  if (!quiet) {
    log(`Digest: ${out.digest}`)
    log(out.layers.every((l) => l.status === 'exists') ? `Status: Image is up to date for ${shown}` : `Status: Downloaded newer image for ${shown}`)
  }
  if (!json) log(shown)
  return out
}

const PULL_ARGV: FastArgvSpec<PullFlags> = {
  strings: {'--platform': 'platform', '--registry-mirror': 'registry-mirror', '--insecure-registry': 'insecure-registry', '--state-dir': 'state-dir'},
  multiple: new Set<keyof PullFlags>(['insecure-registry']),
  booleans: {'-q': 'quiet', '--quiet': 'quiet', '--json': 'json'},
  positionals: 1,
}

/** The fast path: the exit code, or 'oclif' when oclif should take the argv. */
export async function pullFast(argv: string[]): Promise<number | 'oclif'> {
  const p = parseFastArgv(argv, PULL_ARGV)
  if (!p) return 'oclif'
  try {
    const out = await pullCommand(p.positionals[0], p.flags, p.json)
    if (p.json) printJson(out)
    return 0
  } catch (e) {
    return printError(e, p.json)
  }
}
