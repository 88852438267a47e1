// For the lab-verb attack tests: a verb's argv the confinement must refuse, and why.
import * as assert from 'uvu/assert'

import {confineVerbArgs} from '../../dist/labs/verbs.js'

/** refused(verb, args, re): confineVerbArgs with ctx() throws a message matching re, with a way out. */
export const refusedWith = (ctx) => async (verb, args, re) => {
  let err
  try {
    await confineVerbArgs(verb, args, ctx())
  } catch (e) {
    err = e
  }
  assert.ok(err, `lab ${verb} ${args.join(' ')} was not refused`)
  assert.match(err.message, re)
  assert.ok(err.hint || err.message, 'says what to do')
}
