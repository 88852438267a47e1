/** Printing errors and results in the CLI's one way: one line, or JSON with --json. */
import {asLabError} from '../errors.js'

export function printError(err: unknown, json: boolean): number {
  const e = asLabError(err)
  if (json) process.stdout.write(JSON.stringify({error: e.toJSON()}, null, 2) + '\n')
  else process.stderr.write(e.oneLine() + '\n')
  if (process.env.LAB_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n')
  return e.exitCode
}

export function printJson(data: unknown): void {
  process.stdout.write(JSON.stringify(data, null, 2) + '\n')
}
