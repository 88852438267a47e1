/** Running one sandbox to completion: validate → plan → helper → result. */
import {readFileSync} from 'node:fs'

import {buildPlan, serializePlan} from './plan.js'
import {runHelper, type HelperRunOptions} from './helper.js'
import {resultFromEvents, type SandboxResult} from './result.js'
import type {SandboxSpec} from './spec.js'
import {validateSpec} from './validate.js'

export type RunOptions = HelperRunOptions

function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8')
  } catch {
    return ''
  }
}

export async function runSandbox(spec: SandboxSpec, opts: RunOptions = {stdio: 'pipe'}): Promise<SandboxResult> {
  await validateSpec(spec)
  const plan = serializePlan(buildPlan(spec, {hostResolvConf: spec.network === 'host' ? hostResolvConf() : undefined}))
  const outcome = await runHelper(plan, opts)
  const result = resultFromEvents(spec, outcome.exit, outcome.error)
  if (outcome.outputLimited && result.verdict !== 'engine-error') {
    result.verdict = 'output-limit'
    result.evidence = {outputLimitBytes: opts.outputLimit}
  }
  if (opts.stdio === 'pipe') {
    result.stdout = outcome.stdout.toString('utf8')
    result.stderr = outcome.stderr.toString('utf8')
  }
  return result
}
