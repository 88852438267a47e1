/**
 * `lab sandbox run`: shared by the oclif command and the start-up fast path in
 * bin/run.js (which skips loading oclif for this one hot command). No oclif imports.
 * Flags → the run request (sandbox/argv.ts) → runRequest → the result, printed.
 */
import {writeFileSync} from 'node:fs'

import '../network/register.js'
import {usageError} from '../errors.js'
import {parseRunArgv, requestFromArgv, type ParsedRun} from '../sandbox/argv.js'
import {needsSupervisor} from '../sandbox/request.js'
import {failureSentence, limitVerdictLine, type SandboxResult} from '../sandbox/result.js'
import {runRequest, startDetached} from '../sandbox/run-request.js'
import {printError, printJson} from './output.js'

const JSON_OUTPUT_LIMIT = 16 * 1024 * 1024

/** --cidfile: exclusive, as Docker's: an existing file is an error before anything is created. */
function claimCidfile(path: string | undefined): ((s: {id: string}) => void) | undefined {
  if (path === undefined) return undefined
  try {
    writeFileSync(path, '', {flag: 'wx'})
  } catch (e) {
    throw usageError(`--cidfile ${path}: ${(e as NodeJS.ErrnoException).code === 'EEXIST' ? 'the file already exists' : (e as Error).message}`, 'give a path to a file that does not exist yet')
  }
  return (s) => writeFileSync(path, s.id)
}

/** Returns the exit code; 'help' when oclif should print the help instead. */
export async function sandboxRun(argv: string[]): Promise<number | 'help'> {
  let json = argv.includes('--json')
  let parsed: ParsedRun
  try {
    parsed = parseRunArgv(argv)
    if (parsed.help) return 'help'
    const f = parsed.flags
    json = f.json === true
    if (f.tty && json) throw usageError('-t cannot be used with --json', 'a terminal\'s output is not data: leave out -t or --json')
    const req = requestFromArgv(parsed)
    const stateDir = f['state-dir'] as string | undefined
    if (f['log-opt'] !== undefined && !needsSupervisor(req)) {
      // checked all the same: a typo should not wait for the day the run is detached
      ;(await import('../sandbox/log-options.js')).parseLogOptions(f['log-opt'] as string[])
      if (!json) process.stderr.write('lab: warning: --log-opt has no effect here: a foreground run keeps no log (add -d, or --name to keep it)\n')
    }
    const onCreated = claimCidfile(f.cidfile as string | undefined)
    if (req.detach) {
      const started = await startDetached(req, {stateDir, onCreated})
      if (json) printJson({id: started.id, name: started.name, pid: started.pid})
      else process.stdout.write(started.id + '\n')
      return 0
    }
    // -t: the helper gives the program a pty of the sandbox's devpts and relays it (tty.c).
    const terminal = f.tty ? {rows: process.stdout.rows || 24, cols: process.stdout.columns || 80} : undefined
    const result = await runRequest(req, json
      ? {stdio: 'pipe', stdin: f.interactive as boolean, outputLimit: JSON_OUTPUT_LIMIT, stateDir, onCreated}
      : {stdio: 'inherit', stdin: f.interactive as boolean, terminal, stateDir, onCreated})
    if (json) printJson(result)
    else printOutcome(result, req.userns === 'host', (limit) => f[limit] !== undefined)
    return result.exitCode
  } catch (err) {
    return printError(err, json)
  }
}

/** The lines a terminal user sees after a run: warnings, and why it ended if not by itself. */
function printOutcome(result: SandboxResult, hostIds: boolean, explicit: (limit: string) => boolean): void {
  const warn = (w: string) => process.stderr.write(`lab: warning: ${w}\n`)
  if (result.seccompProfile === 'unconfined') warn('seccomp=unconfined: system calls are not filtered in this sandbox')
  if (hostIds) warn('--userns=host: root in this sandbox is root on the host (no user remapping)')
  for (const w of result.warnings ?? []) warn(w)
  const unenforced = (result.unenforcedLimits ?? []).filter((u) => explicit(u.limit))
  if (unenforced.length && process.env.LAB_QUIET_LIMITS !== '1') warn(`not enforced here: ${unenforced.map((u) => `--${u.limit}`).join(', ')} (${unenforced[0].reason})`)
  if (result.error) process.stderr.write(`lab: ${failureSentence(result.error, `sandbox ${result.name}`)}${result.error.hint ? ` (${result.error.hint})` : ''}\n`)
  else if (result.verdict === 'timeout') process.stderr.write(`lab: the sandbox was killed after its --timeout of ${result.evidence.timeoutMs} ms\n`)
  else if (limitVerdictLine(result)) process.stderr.write(`lab: ${limitVerdictLine(result)}\n`)
}
