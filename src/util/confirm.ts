/**
 * Asks a yes/no question before something that cannot be undone, as Docker's prune
 * commands do: only "y" or "yes" goes on. Without a terminal on stdin (a script, a pipe)
 * or with --json there is no one to ask, so it refuses and names the flag that skips
 * the question rather than guess.
 */
import {createInterface} from 'node:readline'

import {EXIT, LabError} from '../errors.js'

export async function confirm(question: string, opts: {json: boolean; command: string}): Promise<void> {
  if (opts.json || !process.stdin.isTTY) {
    throw new LabError('confirmation-needed', 'refusing to remove anything without confirmation: there is no terminal to ask on', {
      hint: `run \`${opts.command}\` to go ahead without asking`,
      exitCode: EXIT.FAILED,
    })
  }
  const rl = createInterface({input: process.stdin, output: process.stderr})
  const answer = await new Promise<string>((resolve) => {
    rl.question(question, resolve)
    rl.once('close', () => resolve(''))
  })
  rl.close()
  if (!/^\s*y(es)?\s*$/i.test(answer)) throw new LabError('cancelled', 'nothing removed', {exitCode: EXIT.FAILED})
}
