/**
 * oclif's `command_not_found` hook: a mistyped command gets one line with the closest
 * command, written with spaces as the user types it, and exit code 2 (a usage error).
 *
 * oclif joins the leading words of argv with ':' into the id it looked for, so
 * `lab chek ch4-volumes` arrives as id `chek:ch4-volumes`: the suggestion is sought for the
 * longest run of leading words that is close to a command, and the rest is kept as
 * that command's arguments.
 */
import type {Hook} from '@oclif/core'

import {EXIT, LabError} from '../errors.js'
import {printError} from '../cli/output.js'
import {closest} from '../util/suggest.js'

/** The suggested command line for `words`, or undefined when nothing is close. */
export function suggestCommand(words: string[], commandIds: Iterable<string>, topics: Iterable<string>): string | undefined {
  const byLength = new Map<number, string[]>()
  for (const id of [...commandIds, ...topics]) {
    const n = id.split(':').length
    byLength.set(n, [...(byLength.get(n) ?? []), id])
  }
  for (let k = Math.min(words.length, Math.max(...byLength.keys())); k >= 1; k--) {
    const head = words.slice(0, k).join(':')
    const best = closest(head, byLength.get(k) ?? [])
    if (best) return [...best.split(':'), ...words.slice(k)].join(' ')
  }
  return undefined
}

/** A word as a shell would need it typed. */
const quote = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`)

const hook: Hook<'command_not_found'> = async function (opts) {
  const words = opts.id.split(':')
  const typed = words.join(' ')
  const topics = opts.config.topics.map((t) => t.name)
  const found = suggestCommand(words, opts.config.commandIDs, topics)
  const suggestion = found && [found, ...(opts.argv ?? []).map(quote)].join(' ')
  const err = suggestion
    ? new LabError('usage', `\`${typed}\` is not a lab command — did you mean \`lab ${suggestion}\`?`, {exitCode: EXIT.USAGE})
    : new LabError('usage', `\`${typed}\` is not a lab command`, {hint: 'see `lab --help` for the commands', exitCode: EXIT.USAGE})
  // oclif would print its own error for anything thrown here: print ours and leave
  process.exitCode = printError(err, (opts.argv ?? []).includes('--json'))
  this.exit(process.exitCode)
}

export default hook
