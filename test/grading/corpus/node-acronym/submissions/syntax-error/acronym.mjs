export function parse(phrase {
  return ''
}
