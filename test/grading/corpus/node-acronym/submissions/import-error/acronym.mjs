import {initials} from './helpers.mjs'
export function parse(phrase) {
  return initials(phrase)
}
