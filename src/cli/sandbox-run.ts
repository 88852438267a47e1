/**
 * `lab sandbox run`: shared by the oclif command and the start-up fast path in
 * bin/run.js (which skips loading oclif for this one hot command). No oclif imports.
 */
import {usageError} from '../errors.js'
import {buildSpec, type SandboxRequest} from '../sandbox/build-spec.js'
import {runSandbox} from '../sandbox/run.js'
import {limitVerdictLine} from '../sandbox/result.js'
import {printError, printJson} from './output.js'
import {needsLifecycle, parseRunArgv, type ParsedRun} from './run-flags.js'

const JSON_OUTPUT_LIMIT = 16 * 1024 * 1024

/** Returns the exit code; 'help' when oclif should print the help instead. */
export async function sandboxRun(argv: string[]): Promise<number | 'help'> {
  let json = argv.includes('--json')
  let parsed: ParsedRun
  try {
    parsed = parseRunArgv(argv)
    if (parsed.help) return 'help'
    json = parsed.flags.json === true
    const f = parsed.flags
    if (f.tty && json) throw usageError('-t cannot be used with --json', 'a terminal\'s output is not data: leave out -t or --json')
    const req = requestFromParsed(parsed)
    // Detached runs, and runs that use managed volumes or join other sandboxes, go
    // through the lifecycle engine (loaded only then: this is the start-up path).
    if (needsLifecycle(parsed, {keepNamed: true})) return await (await import('./sandbox-run-lifecycle.js')).runViaLifecycle(parsed, req, json)
    if (f['log-opt'] !== undefined) {
      // checked all the same: a typo should not wait for the day the run is detached
      ;(await import('../sandbox/log-options.js')).parseLogOptions(f['log-opt'] as string[])
      if (!json) process.stderr.write('lab: warning: --log-opt has no effect here: a foreground run keeps no log (add -d, or --name to keep it)\n')
    }
    const spec = await buildSpec(req)
    // -t: the helper gives the program a pty of the sandbox's devpts and relays it (tty.c).
    const extraOps = f.tty ? [['tty', String(process.stdout.rows || 24), String(process.stdout.columns || 80), f.interactive ? 'stdin' : 'nostdin']] : undefined
    const result = await runSandbox(spec, json ? {stdio: 'pipe', stdin: f.interactive as boolean, outputLimit: JSON_OUTPUT_LIMIT} : {stdio: 'inherit', stdin: f.interactive as boolean, extraOps})
    if (!json && spec.seccomp.profile === 'unconfined') process.stderr.write('lab: warning: seccomp=unconfined: system calls are not filtered in this sandbox\n')
    if (!json && spec.userns === 'host') process.stderr.write('lab: warning: --userns=host: root in this sandbox is root on the host (no user remapping)\n')
    if (!json) for (const w of result.warnings ?? []) process.stderr.write(`lab: warning: ${w}\n`)
    if (!json && result.unenforcedLimits?.length && process.env.LAB_QUIET_LIMITS !== '1') {
      const explicit = result.unenforcedLimits.filter((u) => f[u.limit] !== undefined)
      if (explicit.length) process.stderr.write(`lab: warning: not enforced here: ${explicit.map((u) => `--${u.limit}`).join(', ')} (${explicit[0].reason})\n`)
    }
    if (json) printJson(result)
    else if (result.error) {
      const e = result.error
      const what = e.stage === 'exec' ? `cannot run "${spec.process.args[0]}": ${e.message}` : `sandbox set-up failed at ${e.stage}: ${e.call}${e.path ? ` ${e.path}` : ''}: ${e.message}`
      process.stderr.write(`lab: ${what}${e.hint ? ` (${e.hint})` : ''}\n`)
    } else if (result.verdict === 'timeout') {
      process.stderr.write(`lab: the sandbox was killed after its --timeout of ${spec.timeoutMs} ms\n`)
    } else if (limitVerdictLine(result)) {
      process.stderr.write(`lab: ${limitVerdictLine(result)}\n`)
    }
    return result.exitCode
  } catch (err) {
    return printError(err, json)
  }
}

/** The request the flags describe (shared with `lab sandbox create`). */
export function requestFromParsed(parsed: ParsedRun): SandboxRequest {
  const f = parsed.flags
  return {
    command: parsed.command,
    env: f.env as string[] | undefined,
    envFiles: f['env-file'] as string[] | undefined,
    user: f.user as string | undefined,
    workdir: f.workdir as string | undefined,
    hostname: f.hostname as string | undefined,
    name: f.name as string | undefined,
    readOnly: f['read-only'] as boolean,
    rootfs: f.rootfs as string | undefined,
    network: f.network as string | undefined,
    capAdd: f['cap-add'] as string[] | undefined,
    capDrop: f['cap-drop'] as string[] | undefined,
    init: f.init as boolean,
    timeout: f.timeout as string | undefined,
    addHost: f['add-host'] as string[] | undefined,
    volumes: f.volume as string[] | undefined,
    tmpfs: f.tmpfs as string[] | undefined,
    storageOpt: f['storage-opt'] as string[] | undefined,
    securityOpt: f['security-opt'] as string[] | undefined,
    ulimit: f.ulimit as string[] | undefined,
    limits: {
      memory: f.memory as string | undefined,
      memorySwap: f['memory-swap'] as string | undefined,
      cpus: f.cpus as string | undefined,
      cpuShares: f['cpu-shares'] as string | undefined,
      cpusetCpus: f['cpuset-cpus'] as string | undefined,
      pidsLimit: f['pids-limit'] as string | undefined,
      blkioWeight: f['blkio-weight'] as string | undefined,
      deviceReadBps: f['device-read-bps'] as string[] | undefined,
      deviceWriteBps: f['device-write-bps'] as string[] | undefined,
      deviceReadIops: f['device-read-iops'] as string[] | undefined,
      deviceWriteIops: f['device-write-iops'] as string[] | undefined,
      cpuTime: f['cpu-time'] as string | undefined,
      outputLimit: f['output-limit'] as string | undefined,
    },
    userns: f.userns as string | undefined,
    callerEnv: process.env,
  }
}
