/**
 * Docker-like identities: 64-hex ids (12-hex short form, any unique prefix accepted)
 * and human names, generated as adjective_scientist when none is given.
 */
import {randomBytes, randomInt} from 'node:crypto'

import {usageError} from '../errors.js'

export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/
export const ID_PATTERN = /^[0-9a-f]{64}$/

export function newId(): string {
  return randomBytes(32).toString('hex')
}

export function shortId(id: string): string {
  return id.slice(0, 12)
}

export function assertValidName(name: string, what = 'name'): void {
  if (!NAME_PATTERN.test(name)) {
    throw usageError(`invalid ${what} "${name}"`, 'names start with a letter or digit and use only letters, digits, _ . - (at most 128 characters)')
  }
  if (/^[0-9a-f]{12,64}$/.test(name)) {
    throw usageError(`invalid ${what} "${name}": it looks like an id`, 'choose a name that is not 12-64 hexadecimal digits')
  }
}

const ADJECTIVES = [
  'admiring', 'bold', 'brave', 'calm', 'clever', 'cool', 'eager', 'elegant', 'epic', 'focused', 'gallant', 'gentle',
  'happy', 'hopeful', 'jolly', 'keen', 'kind', 'loving', 'lucid', 'modest', 'nice', 'nifty', 'optimistic', 'patient',
  'quirky', 'relaxed', 'serene', 'sharp', 'stoic', 'sweet', 'tender', 'trusting', 'upbeat', 'vibrant', 'wizardly', 'zen',
]
const SCIENTISTS = [
  'babbage', 'bell', 'booth', 'cerf', 'curie', 'darwin', 'dijkstra', 'einstein', 'euler', 'fermat', 'feynman', 'galileo',
  'goldberg', 'hamilton', 'hopper', 'hypatia', 'johnson', 'kahn', 'knuth', 'lamarr', 'lamport', 'liskov', 'lovelace',
  'mccarthy', 'meitner', 'noether', 'pascal', 'ritchie', 'shannon', 'thompson', 'torvalds', 'turing', 'wozniak', 'yalow',
]

/** adjective_scientist; after a few collisions the caller asks again with a digit suffix. */
export function generateName(attempt = 0): string {
  const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SCIENTISTS[randomInt(SCIENTISTS.length)]}`
  return attempt < 3 ? base : `${base}${randomInt(10 * attempt)}`
}
