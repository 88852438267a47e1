export function parse(phrase) {
  return undefined
}
