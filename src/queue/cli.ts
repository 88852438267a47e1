/**
 * What `lab grade`, `lab ci` and `lab ci logs` do with --queue / --detach / --attach:
 * their flags, and one function per command that returns what the local path returns,
 * so each command writes its reports exactly as it does for a local run.
 */
import {Flags} from '@oclif/core'

import type {Pipeline} from '../ci/model.js'
import {LabError} from '../errors.js'
import type {GradeReport} from '../grading/harness.js'
import type {LoadedSpec} from '../grading/load.js'
import {parseSize} from '../sandbox/units.js'
import {parseQueueUrl} from './address.js'
import {parseLabels} from './keys.js'
import {queueProgress} from './progress.js'
import type {CiResult} from '../ci/report.js'
import type {PipelineJobResult} from './adapters.js'

export const queueFlags = {
  queue: Flags.string({description: 'run on the workers of this queue: redis://[user:pass@]HOST:PORT[/DB] or rediss:// (default: $LAB_QUEUE when --detach or --attach is given)', helpGroup: 'QUEUE'}),
  detach: Flags.boolean({description: 'with --queue: print the run id and return; collect with --attach RUN', helpGroup: 'QUEUE'}),
  require: Flags.string({description: 'with --queue: only workers with this label (KEY=VALUE, repeatable: cgroup=v2, arch=amd64…)', multiple: true, helpGroup: 'QUEUE'}),
  'max-payload': Flags.string({description: 'with --queue: the cap of one job\'s payload (default 64m)', helpGroup: 'QUEUE'}),
}

export interface QueueFlagValues {
  queue?: string
  detach?: boolean
  require?: string[]
  'max-payload'?: string
  attach?: string
}

function submitOptions(flags: QueueFlagValues) {
  let require: Record<string, string>
  try {
    require = parseLabels(flags.require, '--require')
  } catch (e) {
    throw new LabError('usage', (e as Error).message, {hint: 'e.g. --require cgroup=v2'})
  }
  if (!flags.queue && flags.require?.length) throw new LabError('usage', '--require needs --queue', {hint: 'labels select workers of a queue'})
  const cap = flags['max-payload'] ? parseSize(flags['max-payload'], '--max-payload', {min: 1024}) : undefined
  return {addr: parseQueueUrl(flags.queue), require, cap}
}

export function wantsQueue(flags: QueueFlagValues): boolean {
  if (flags.detach && !flags.queue && !process.env.LAB_QUEUE) throw new LabError('usage', '--detach needs --queue', {hint: 'a local run cannot be detached; give --queue URL'})
  return Boolean(flags.queue || flags.attach)
}

const tty = () => Boolean(process.stdout.isTTY && process.stderr.isTTY)

function signals(): {signal: AbortSignal; done: () => void} {
  const ac = new AbortController()
  const stop = () => ac.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return {signal: ac.signal, done: () => (process.off('SIGINT', stop), process.off('SIGTERM', stop))}
}

/** --queue (send, then collect), --queue --detach (send, return the id) or --attach RUN (collect). */
export async function gradeThroughQueue(flags: QueueFlagValues, load: () => Promise<LoadedSpec>, submissions: string[], quiet: boolean): Promise<{report: GradeReport} | {detached: string}> {
  const opts = submitOptions(flags)
  let run = flags.attach
  if (!run) {
    const spec = await load()
    const {submitGrade} = await import('./submit.js')
    const meta = await submitGrade(spec, submissions, opts)
    if (flags.detach) return {detached: meta.id}
    if (!quiet) process.stderr.write(`queued ${meta.id}: ${meta.items.length} submission${meta.items.length === 1 ? '' : 's'} (collect again with --attach ${meta.id})\n`)
    run = meta.id
  }
  const progress = queueProgress({tty: tty(), quiet, verb: 'graded'})
  const s = signals()
  try {
    const {collect, gradeReportOf} = await import('./submit.js')
    const {meta, records} = await collect(opts.addr, run, {onProgress: progress.onProgress, signal: s.signal})
    if (meta.kind !== 'grade') throw new LabError('queue-usage', `${run} is a CI run`, {hint: `use lab ci logs ${run} --queue URL`})
    return {report: gradeReportOf(meta, records)}
  } finally {
    progress.close()
    s.done()
  }
}

export async function ciThroughQueue(flags: QueueFlagValues, pipeline: Pipeline, quiet: boolean, secrets: number): Promise<{result: CiResult; junit: string | null; logs: PipelineJobResult['logs']} | {detached: string}> {
  if (secrets) throw new LabError('usage', 'secrets are not sent through the queue', {hint: 'run a pipeline that needs secrets locally, or give them to the workers\' hosts'})
  const opts = submitOptions(flags)
  const {submitCi} = await import('./submit.js')
  const meta = await submitCi(pipeline, opts)
  if (flags.detach) return {detached: meta.id}
  if (!quiet) process.stderr.write(`queued ${meta.id}: pipeline ${pipeline.name} (its logs: lab ci logs ${meta.id} --queue URL)\n`)
  return ciCollect(flags, meta.id, quiet)
}

export async function ciCollect(flags: QueueFlagValues, run: string, quiet: boolean): Promise<{result: CiResult; junit: string | null; logs: PipelineJobResult['logs']}> {
  const opts = submitOptions(flags)
  const progress = queueProgress({tty: tty(), quiet, verb: 'ran'})
  const s = signals()
  try {
    const {collect, ciResultOf} = await import('./submit.js')
    const {meta, records} = await collect(opts.addr, run, {onProgress: progress.onProgress, signal: s.signal})
    if (meta.kind !== 'ci') throw new LabError('queue-usage', `${run} is a grading run`, {hint: `use lab grade --attach ${run} --queue URL`})
    return ciResultOf(meta, records)
  } finally {
    progress.close()
    s.done()
  }
}
