/**
 * The errors of the image store, the registry client and the image verbs: one LabError
 * each, a code that names the family ("image-…") and a hint that says what to do.
 */
import {LabError} from '../errors.js'

export function imageError(code: string, message: string, hint?: string): LabError {
  return new LabError(`image-${code}`, message, {hint})
}

/** A layer, archive or manifest that lab refuses to store, with why. */
export function refused(message: string, hint = 'the image or archive is unsafe or damaged; nothing of it was stored'): LabError {
  return imageError('refused', message, hint)
}

export function notFound(ref: string): LabError {
  return new LabError('image-not-found', `no such image: ${ref}`, {hint: 'see `lab image ls`; pull, load or import it first', exitCode: 1})
}
