/**
 * Running one sandbox to completion: validate → cgroup → plan → helper → kill what is
 * left in the cgroup → accounting → remove the cgroup → result.
 */

import {usageError} from '../errors.js'
import {type CgroupOptions, createSandboxCgroup, type CgroupStats, type SandboxCgroup, type UnenforcedLimit} from './cgroups/index.js'
import {hostResolvConf} from './etc.js'
import {cpuParallelism, DEFAULT_LIMITS, type Limits} from './limits.js'

import {buildPlan, serializePlan, type PlanContext} from './plan.js'
import {runHelper, type HelperRunOptions} from './helper.js'
import {resultFromEvents, type SandboxResult} from './result.js'
import type {SandboxSpec} from './spec.js'
import {validateSpec} from './validate.js'

export type RunOptions = HelperRunOptions & {
  /** cgroup root and ownership records (tests inject a fake tree) */
  cgroup?: CgroupOptions
  /** running sandboxes' namespaces to enter instead of new ones (a CI step joins its services' network) */
  joins?: PlanContext['joins']
  /** -t: the program's controlling terminal is a pty of the sandbox's devpts, relayed by the helper */
  terminal?: PlanContext['tty']
}

/**
 * --cpu-time: the whole sandbox's CPU time (every process and thread, from the cgroup)
 * is checked when it could first have run out (the rest divided by the CPUs it can use,
 * at most 250 ms apart), and the cgroup is killed once it has.
 */
function watchCpuTime(group: SandboxCgroup, limits: Limits) {
  const limitUs = limits.cpuTimeMs! * 1000
  const cpus = cpuParallelism(limits)
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const state = {exceededUs: null as number | null}
  const tick = async () => {
    if (stopped) return
    const used = await group.cpuUsageUs()
    if (stopped) return
    const leftUs = limitUs - used
    if (leftUs <= 0) {
      state.exceededUs = used
      await group.killAll()
      return
    }
    timer = setTimeout(tick, Math.min(250, Math.max(5, leftUs / 1000 / cpus)))
  }
  return {
    state,
    start: () => void tick(),
    stop: () => {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}

export async function runSandbox(spec: SandboxSpec, opts: RunOptions = {stdio: 'pipe'}): Promise<SandboxResult> {
  await validateSpec(spec)
  const limits = spec.limits ?? DEFAULT_LIMITS
  const outputLimit = Math.min(opts.outputLimit ?? Infinity, limits.outputBytes ?? Infinity)
  // An output limit must hold for a terminal run too: the output then passes through us.
  const forward = opts.stdio === 'inherit' && limits.outputBytes !== null
  if (forward && opts.stdin) throw usageError('--output-limit with -i is only available with --json for now', 'leave out -i, or add --json to capture the output')
  const helperOpts: RunOptions = {...opts, outputLimit: Number.isFinite(outputLimit) ? outputLimit : undefined}
  if (forward) {
    helperOpts.stdio = 'pipe'
    helperOpts.onStdout = (c) => process.stdout.write(c)
    helperOpts.onStderr = (c) => process.stderr.write(c)
  }

  // The group exists, limits applied, before the helper starts; the helper moves the
  // sandbox into it before the sandbox does anything (plan line "cgroup").
  // A sandbox in its own PID namespace without a CPU-time limit needs neither a freezer
  // nor a CPU accounting group (CreateOptions.lean): its CPU time is the helper's rusage.
  const lean = !opts.joins?.some((j) => j.kind === 'pid') && limits.cpuTimeMs === null
  const group = await createSandboxCgroup(spec.id, limits, {...opts.cgroup, lean})
  let stats: CgroupStats | null = null
  let ended = false // the helper removed the groups
  const watchdog = limits.cpuTimeMs !== null ? watchCpuTime(group, limits) : null
  let outcome
  try {
    // The helper then also ends the groups: it reads the final counters and removes them
    // before reporting the exit, off this (batch) process's main thread.
    const cgroupFinish = lean && group.statFiles !== undefined
    const ops = buildPlan(spec, {cgroupProcs: group.procsFiles, cgroupOwnerRecord: group.ownerRecord, cgroupStatFiles: cgroupFinish ? group.statFiles!() : undefined, cgroupFinish, hostResolvConf: spec.network === 'host' ? hostResolvConf() : undefined, joins: opts.joins, tty: opts.terminal})
    const plan = serializePlan(ops)
    helperOpts.onStarted = (pid) => {
      watchdog?.start()
      opts.onStarted?.(pid)
    }
    try {
      outcome = await runHelper(plan, helperOpts)
    } finally {
      watchdog?.stop()
    }
    if (cgroupFinish && outcome.exit?.cgroupRemoved === true && group.statsFrom) {
      ended = true
      stats = group.statsFrom(outcome.exit.cgroup ?? {})
    } else {
      // Nothing of the sandbox may outlive the run, and the counters are final only then.
      await group.killAll()
      stats = await group.stats()
    }
    if (group.cpuAccounting === false && outcome.exit) {
      stats.cpuUserUs = outcome.exit.userUs
      stats.cpuSystemUs = outcome.exit.sysUs
    }
  } finally {
    // A group that cannot be removed now is left to the next sweep (its owner will be gone).
    if (!ended) await group.remove().catch(() => {})
  }
  const result = resultFromEvents(spec, outcome.exit, outcome.error, {
    stats,
    limits,
    timeoutMs: spec.timeoutMs,
    rlimits: spec.process.rlimits,
    cpuTimeExceededUs: watchdog?.state.exceededUs ?? null,
    outputLimited: outcome.outputLimited,
    outputLimitBytes: helperOpts.outputLimit ?? null,
  })
  result.seccompProfile = spec.seccomp.profile
  const unenforced = (group as {unenforced?: UnenforcedLimit[]}).unenforced
  if (unenforced?.length) result.unenforcedLimits = unenforced
  if (outcome.userns) result.userns = {hostUidBase: outcome.userns.uidBase, hostGidBase: outcome.userns.gidBase, size: outcome.userns.size}
  else result.userns = null
  if (outcome.warnings.length) result.warnings = outcome.warnings
  if (opts.stdio === 'pipe') {
    result.stdout = outcome.stdout.toString('utf8')
    result.stderr = outcome.stderr.toString('utf8')
  }
  return result
}
