/**
 * The images of a grading spec (its `image:` and those of its tests, groups and
 * services): each reference is resolved in lab's store once, when a batch starts, to the
 * image id that every submission of the batch then runs on, so a tag moved during a long
 * batch cannot change what grades. A reference the store lacks stops the batch before
 * anything runs: lab grade never pulls.
 */
import {LabError} from '../errors.js'
import {ImageStore} from '../images/store.js'
import {type GradingSpec, isGroup} from './schema.js'

/** reference as written → the image id it named when the batch started */
export type ImagePins = ReadonlyMap<string, string>

/** Every reference the spec names, with where (for the error that names a missing one). */
export function imageRefs(spec: GradingSpec): Array<{ref: string; where: string}> {
  const out: Array<{ref: string; where: string}> = []
  if (spec.image) out.push({ref: spec.image, where: 'the spec\'s image'})
  for (const t of spec.tests) if (t.image) out.push({ref: t.image, where: `the image of ${isGroup(t) ? 'group' : 'test'} "${t.name}"`})
  for (const s of spec.services ?? []) if (s.image) out.push({ref: s.image, where: `the image of service "${s.name}"`})
  return out
}

export function pinImages(spec: GradingSpec, stateDir?: string): ImagePins {
  const refs = imageRefs(spec)
  const pins = new Map<string, string>()
  if (!refs.length) return pins
  const store = new ImageStore(stateDir)
  for (const {ref, where} of refs) {
    if (pins.has(ref)) continue
    try {
      pins.set(ref, store.resolve(ref).id)
    } catch (e) {
      if (e instanceof LabError && e.code === 'image-not-found') {
        throw new LabError('grading-image', `${where}, ${ref}, is not in lab's store`, {hint: `put it there before grading: lab image pull ${ref} (or lab image load / import / build); lab grade never pulls`, exitCode: 1})
      }
      throw e
    }
  }
  return pins
}

/** The pinned id of a reference (the first that is set), or undefined for the host's root. */
export function pinned(pins: ImagePins, ...refs: Array<string | undefined>): string | undefined {
  const ref = refs.find((r) => r !== undefined)
  return ref === undefined ? undefined : pins.get(ref)
}
