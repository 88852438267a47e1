/**
 * The one place that maps errors to output and exit codes for every oclif command:
 * a LabError becomes one line on stderr (or {"error": …} with --json) and its exit code.
 */
import {Command} from '@oclif/core'

import {printError} from './cli/output.js'

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own parse errors (unknown flag, missing arg) keep its message, in one line
    if (err.oclif?.exit !== undefined && !(err as {code?: string}).code?.startsWith?.('lab')) {
      if (err.oclif.exit === 0) return
      const {usageError} = await import('./errors.js')
      let first = String(err.message).split('\n').find((l) => l.trim()) ?? 'invalid arguments'
      // oclif lists the missing arguments on the lines below: name them in the one line
      const missing = (err as {args?: {name?: string}[]}).args?.map((a) => a.name).filter(Boolean) ?? []
      if (missing.length && /^Missing \d+ required arg/.test(first)) first = `missing ${missing.map((n) => n!.toUpperCase()).join(', ')}`
      this.exit(printError(usageError(first.trim(), `see \`lab ${this.id?.replaceAll(':', ' ')} --help\``), this.jsonEnabled()))
    }
    this.exit(printError(err, this.jsonEnabled()))
  }
}
