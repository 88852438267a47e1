/**
 * `lab sandbox run`: shared by the oclif command and the start-up fast path in
 * bin/run.js (which skips loading oclif for this one hot command). No oclif imports.
 */
import {usageError} from '../errors.js'
import {buildSpec} from '../sandbox/build-spec.js'
import {runSandbox} from '../sandbox/run.js'
import {printError, printJson} from './output.js'
import {parseRunArgv, type ParsedRun} from './run-flags.js'

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
    if (f.tty) throw usageError('--tty is not available yet', 'leave out -t; use -i to pass stdin')
    const spec = await buildSpec({
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
      callerEnv: process.env,
    })
    const result = await runSandbox(spec, json ? {stdio: 'pipe', stdin: f.interactive as boolean, outputLimit: JSON_OUTPUT_LIMIT} : {stdio: 'inherit', stdin: f.interactive as boolean})
    if (json) printJson(result)
    else if (result.error) {
      const e = result.error
      const what = e.stage === 'exec' ? `cannot run "${spec.process.args[0]}": ${e.message}` : `sandbox set-up failed at ${e.stage}: ${e.call}${e.path ? ` ${e.path}` : ''}: ${e.message}`
      process.stderr.write(`lab: ${what}${e.hint ? ` (${e.hint})` : ''}\n`)
    } else if (result.verdict === 'timeout') {
      process.stderr.write(`lab: the sandbox was killed after its --timeout of ${spec.timeoutMs} ms\n`)
    }
    return result.exitCode
  } catch (err) {
    return printError(err, json)
  }
}
