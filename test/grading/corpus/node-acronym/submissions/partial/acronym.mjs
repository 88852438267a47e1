export function parse(phrase) {
  console.log('parsing', phrase)
  return phrase.split(' ').map((w) => w[0].toUpperCase()).join('')
}
