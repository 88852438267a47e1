/**
 * `lab build`: shared by the oclif command (src/commands/build.ts) and the start-up fast
 * path in bin/run.js, which skips loading oclif (a fully cached rebuild is mostly
 * start-up). No oclif imports. The fast path reads the argv here; anything it does not
 * know (help, an unknown or malformed flag) goes to oclif, which explains it.
 */
import {writeFileSync} from 'node:fs'

import {buildImage, type BuildResult} from '../build/index.js'
import {BuildPrinter, type ProgressMode} from '../build/output.js'
import {LabError, usageError} from '../errors.js'
import {parseFastArgv, type FastArgvSpec} from './fast-argv.js'
import {printError, printJson} from './output.js'

export interface BuildFlags {
  tag?: string[]
  file?: string
  'build-arg'?: string[]
  target?: string
  'no-cache'?: boolean
  platform?: string
  network?: string
  memory?: string
  cpus?: string
  'pids-limit'?: string
  timeout?: string
  label?: string[]
  quiet?: boolean
  iidfile?: string
  progress?: string
  'state-dir'?: string
}

/** Runs the build and prints its progress; the result is returned (--json prints it). */
export async function buildCommand(context: string, flags: BuildFlags, json: boolean): Promise<BuildResult> {
  const quiet = flags.quiet === true || json
  const progress = flags.progress ?? 'auto'
  const mode: ProgressMode = progress === 'auto' ? (process.stdout.isTTY ? 'tty' : 'plain') : (progress as ProgressMode)
  const printer = new BuildPrinter(quiet ? null : process.stdout, mode)
  let dockerfileText: string | undefined
  if (flags.file === '-') {
    if (process.stdin.isTTY) throw usageError('-f - reads the Dockerfile from stdin, which is a terminal', 'pipe it in: lab build -f - . < Dockerfile')
    const chunks: Buffer[] = []
    for await (const c of process.stdin) chunks.push(c as Buffer)
    dockerfileText = Buffer.concat(chunks).toString('utf8')
  }
  let tail = ''
  try {
    const out = await buildImage({
      context,
      dockerfile: flags.file,
      dockerfileText,
      tags: flags.tag,
      buildArgs: flags['build-arg'],
      target: flags.target,
      noCache: flags['no-cache'],
      platform: flags.platform,
      network: flags.network,
      memory: flags.memory,
      cpus: flags.cpus,
      pidsLimit: flags['pids-limit'],
      timeout: flags.timeout,
      labels: flags.label,
      stateDir: flags['state-dir'],
      callerEnv: process.env,
      onEvent: (e) => {
        if (e.type === 'output' && quiet) tail = (tail + e.chunk.toString('utf8')).slice(-4096)
        else if (e.type === 'warning' && quiet && !json && e.message.startsWith('[Warning]')) process.stderr.write(e.message + '\n')
        printer.event(e)
      },
    })
    if (flags.iidfile) writeFileSync(flags.iidfile, out.id)
    if (!quiet) printer.done(out)
    else if (!json) process.stdout.write(out.id + '\n')
    return out
  } catch (e) {
    // a failed step's output was not shown: show its end before the error
    if (quiet && !json && e instanceof LabError && e.code === 'build-failed' && tail) process.stderr.write(tail.endsWith('\n') ? tail : tail + '\n')
    throw e
  }
}

const BUILD_ARGV: FastArgvSpec<BuildFlags> = {
  strings: {'-t': 'tag', '--tag': 'tag', '-f': 'file', '--file': 'file', '--build-arg': 'build-arg', '--target': 'target', '--platform': 'platform', '--network': 'network', '-m': 'memory', '--memory': 'memory', '--cpus': 'cpus', '--pids-limit': 'pids-limit', '--timeout': 'timeout', '--label': 'label', '--iidfile': 'iidfile', '--progress': 'progress', '--state-dir': 'state-dir'},
  multiple: new Set<keyof BuildFlags>(['tag', 'build-arg', 'label']),
  booleans: {'--no-cache': 'no-cache', '-q': 'quiet', '--quiet': 'quiet', '--json': 'json'},
  positionals: 1,
}

/** The argv after `build`, as the oclif command reads it; null: leave it to oclif. */
export function parseBuildArgv(argv: string[]): {context: string; flags: BuildFlags; json: boolean} | null {
  const p = parseFastArgv(argv, BUILD_ARGV)
  if (!p) return null
  if (p.flags.progress !== undefined && !['auto', 'plain', 'tty'].includes(p.flags.progress)) return null
  return {context: p.positionals[0], flags: p.flags, json: p.json}
}

/** The fast path: the exit code, or 'oclif' when oclif should take the argv. */
export async function buildFast(argv: string[]): Promise<number | 'oclif'> {
  const parsed = parseBuildArgv(argv)
  if (!parsed) return 'oclif'
  try {
    const out = await buildCommand(parsed.context, parsed.flags, parsed.json)
    if (parsed.json) printJson(out)
    return 0
  } catch (e) {
    return printError(e, parsed.json)
  }
}
