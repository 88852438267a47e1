import {writeFileSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {resolve} from 'node:path'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {LabError} from '../errors.js'
import {DEFAULT_PIPELINE, loadPipeline} from '../ci/load.js'
import {summaryLines, type CiResult} from '../ci/report.js'
import {githubAnnotations, runPipeline} from '../ci/runner.js'
import {loadSecrets} from '../ci/secrets.js'
import {ciThroughQueue, queueFlags, wantsQueue} from '../queue/cli.js'

export default class Ci extends BaseCommand {
  static override summary = 'Run a CI pipeline (or a GitHub Actions workflow\'s run: steps), each step in a hardened sandbox'
  static override description = `FILE is a lab pipeline (default ${DEFAULT_PIPELINE}, schema schemas/ci.schema.json) or a GitHub Actions workflow (.github/workflows/X.yml). Jobs run in the order their needs allow, independent ones in parallel; every step runs in its own sandbox (no network but the job's services, remapped ids, seccomp) on a private copy of the workspace, so no step can change your checkout unless the job says workspace: write. Secrets (--secret NAME from the environment, --secret-file) are masked in every log and report. Exits 1 when a required step failed, 125 when the pipeline is invalid.`

  static override examples = [
    '<%= config.bin %> ci',
    '<%= config.bin %> ci examples/ci/.lab/ci.yml --jobs 2',
    'API_TOKEN=… <%= config.bin %> ci --secret API_TOKEN --junit junit.xml',
    '<%= config.bin %> ci .github/workflows/test.yml --strict',
    '<%= config.bin %> ci logs --job build --follow',
  ]

  static override args = {
    file: Args.string({description: `pipeline file (default ${DEFAULT_PIPELINE})`, required: false}),
  }

  static override flags = {
    jobs: Flags.integer({char: 'j', description: 'job runs at once (default: the number of CPUs)', min: 1, max: 64}),
    secret: Flags.string({char: 's', description: 'a secret taken from this environment variable (repeatable)', multiple: true, helpValue: 'NAME'}),
    'secret-file': Flags.string({description: 'a file of NAME=value secret lines (repeatable)', multiple: true}),
    workspace: Flags.string({char: 'w', description: 'the repository (default: the directory holding .lab/ or .github/, else the current one)'}),
    strict: Flags.boolean({description: 'unsupported uses: steps and container images are errors instead of warnings'}),
    junit: Flags.string({description: 'also write the JUnit XML report (one testcase per step) here'}),
    quiet: Flags.boolean({char: 'q', description: 'do not stream step output (it is still in the logs)'}),
    ...queueFlags,
  }

  async run(): Promise<CiResult> {
    const {args, flags} = await this.parse(Ci)
    const secrets = loadSecrets({names: flags.secret, files: flags['secret-file']})
    const pipeline = await loadPipeline(args.file ?? DEFAULT_PIPELINE, {workspace: flags.workspace, strict: flags.strict})
    const json = this.jsonEnabled()
    const live = !json && !flags.quiet
    for (const w of pipeline.warnings) process.stderr.write(`lab: warning: ${w}\n`)
    const abort = new AbortController()
    const stop = () => abort.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    let result: CiResult
    let junitText: string | null = null
    if (wantsQueue(flags)) {
      const q = await ciThroughQueue(flags, pipeline, json, Object.keys(secrets).length)
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      if ('detached' in q) {
        if (!json) this.log(q.detached)
        return {runId: q.detached} as CiResult
      }
      result = q.result
      junitText = q.junit
      if (live) for (const l of q.logs) for (const line of l.text.split('\n').filter(Boolean)) this.log(`[${l.job} › ${l.file}] ${line.replace(/^(stdout|stderr)\t/, '').replace(/^lab\t/, '· ')}`)
    } else try {
      result = await runPipeline(pipeline, {
        jobs: flags.jobs ?? availableParallelism(),
        secrets,
        abortSignal: abort.signal,
        onLine: live ? (prefix, stream, line) => (stream === 'stderr' ? process.stderr : process.stdout).write(`[${prefix}] ${stream === 'lab' ? '· ' : ''}${line}\n`) : undefined,
      })
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
    if (flags.junit) {
      try {
        const {readFileSync} = await import('node:fs')
        writeFileSync(resolve(flags.junit), junitText ?? readFileSync(result.junit!, 'utf8'))
      } catch (e) {
        throw new LabError('ci-junit', `--junit ${flags.junit}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {hint: 'give a path in a directory you can write to'})
      }
    }
    // GitHub Actions reads workflow commands from both streams: keep stdout clean for --json
    for (const a of githubAnnotations(result)) (json ? process.stderr : process.stdout).write(a + '\n')
    if (!json) this.log(summaryLines(result).join('\n'))
    process.exitCode = result.exitCode
    return result
  }
}
