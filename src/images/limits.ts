/**
 * Caps on what one layer may unpack to. A layer is untrusted input: a small gzip stream
 * can stand for terabytes of zeros or millions of empty files. Defaults are generous for
 * real images; LAB_IMAGE_MAX_LAYER_SIZE (e.g. "2g") and LAB_IMAGE_MAX_LAYER_FILES lower
 * or raise them.
 */
import {parseSize} from '../sandbox/units.js'
import {usageError} from '../errors.js'

export interface LayerLimits {
  /** bytes of file data one layer may hold once unpacked */
  maxBytes: number
  /** entries (files, directories, links, whiteouts) one layer may hold */
  maxEntries: number
}

export const DEFAULT_LIMITS: LayerLimits = {maxBytes: 16 * 1024 ** 3, maxEntries: 1_000_000}

export function layerLimits(env: NodeJS.ProcessEnv = process.env): LayerLimits {
  const out = {...DEFAULT_LIMITS}
  if (env.LAB_IMAGE_MAX_LAYER_SIZE) out.maxBytes = parseSize(env.LAB_IMAGE_MAX_LAYER_SIZE, 'LAB_IMAGE_MAX_LAYER_SIZE', {min: 1024})
  if (env.LAB_IMAGE_MAX_LAYER_FILES) {
    const n = Number(env.LAB_IMAGE_MAX_LAYER_FILES)
    if (!Number.isSafeInteger(n) || n < 1) throw usageError(`invalid LAB_IMAGE_MAX_LAYER_FILES "${env.LAB_IMAGE_MAX_LAYER_FILES}"`, 'give a whole number of entries, e.g. 200000')
    out.maxEntries = n
  }
  return out
}
