/**
 * Text from submissions (archive entry names, messages built from them, a framework's
 * output) on its way to the teacher's terminal: every control character — C0, DEL, C1
 * (an 8-bit CSI is 0x9b), and the bidirectional overrides that reorder what is shown —
 * is written as a visible escape (`\x1b`, `\n`, `\u202e`), so nothing can clear the
 * screen, set the title, move the cursor or fake a line of lab's own output.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

export function escapeTerminal(s: string): string {
  return s.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n'
    if (c === '\t') return '\\t'
    if (c === '\r') return '\\r'
    const n = c.charCodeAt(0)
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`
  })
}
