export function parse(phrase) {
  return phrase
    .split(/[\s-]+/)
    .filter(Boolean)
    .map((w) => w.replace(/[^A-Za-z]/g, '')[0].toUpperCase())
    .join('')
}
