/**
 * An image's config applied to a run as Docker applies it: the command is the
 * entrypoint (or --entrypoint; "" clears it) followed by the arguments given after
 * `--`, else the image's Cmd (which --entrypoint clears); the image's Env comes before
 * -e and --env-file; WorkingDir and User are defaults for -w and -u.
 */
import {usageError} from '../errors.js'
import type {RunConfig} from './oci.js'

export function imageCommand(config: RunConfig | undefined, ref: string, entrypoint: string | undefined, command: string[]): {args: string[]; entrypoint: string[]} {
  const ep = entrypoint !== undefined ? (entrypoint === '' ? [] : [entrypoint]) : config?.Entrypoint ?? []
  const cmd = command.length > 0 ? command : entrypoint !== undefined ? [] : config?.Cmd ?? []
  const args = [...ep, ...cmd]
  if (args.length === 0) throw usageError(`the image ${ref} has no command (neither Entrypoint nor Cmd)`, `give one after the image: lab sandbox run ${ref} -- sh`)
  return {args, entrypoint: ep}
}

/** The image's Env entries into env (KEY=VALUE; a bare KEY is skipped, as Docker does). */
export function applyImageEnv(config: RunConfig | undefined, env: Record<string, string>): void {
  for (const e of config?.Env ?? []) {
    const eq = e.indexOf('=')
    if (eq > 0 && !e.includes('\0')) env[e.slice(0, eq)] = e.slice(eq + 1)
  }
}
